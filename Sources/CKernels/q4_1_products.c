// Q4_1 weights x Q8_1 activations, for one token (ck_matvec_q4_1) and for several activation rows at once
// (ck_matvec_rows_q4_1, the verification pass of speculative decoding). Both run one kernel, so a row's
// result is the same bits whatever else a call computes beside it.
//
// Blocks go two at a time: the 64 codes of blocks 2k and 2k+1 against the activations' 64 bytes give 16
// int32 lane sums of four products each (vpdpbusd, or vpmaddubsw + vpmaddwd with AVX2: the same integers),
// scaled lane by lane by d_w · d_x of the lane's block into one float accumulator; the mins' terms
// m_w · s_x accumulate apart. The activation rows are first repacked (quants contiguous, the block scales
// as float lanes), so that a weight pair is decoded once for all rows and each row then costs about five
// instructions per pair: in the previous per-block form a row cost nine per block, which is what made a
// verified row cost about half a token.
#include <stdlib.h>
#include "ckernels.h"
#include "ck_internal.h"

// Activation rows in the kernels' layout (ck_q4_1_prepare): per row, `pairs` entries of 64 quants, then
// per row and pair 16 scale lanes (d_x of block 2k in lanes 0..7, of block 2k+1 in 8..15), then 4 sum
// lanes (0, s_x of 2k, 0, s_x of 2k+1). A missing last block (an odd count) is zeros, which add nothing.
typedef struct {
    size_t pairs;
    const int8_t *quants;
    const float *scales;
    const float *sums;
} q8_1_rows;

static inline size_t pairs_of(size_t blocks) { return (blocks + 1) / 2; }

size_t ck_q4_1_prepared_bytes(size_t n, size_t blocks) { return n * pairs_of(blocks) * (64 + 16 * sizeof(float) + 4 * sizeof(float)); }

static q8_1_rows prepared_rows(const void *prepared, size_t n, size_t blocks) {
    const size_t pairs = pairs_of(blocks);
    const uint8_t *base = (const uint8_t *)prepared;
    q8_1_rows rows = {pairs, (const int8_t *)base, (const float *)(base + n * pairs * 64),
                      (const float *)(base + n * pairs * (64 + 16 * sizeof(float)))};
    return rows;
}

void ck_q4_1_prepare(const void *x, size_t x_stride, size_t n, size_t row_begin, size_t row_end, size_t blocks, void *prepared) {
    const size_t pairs = pairs_of(blocks);
    uint8_t *base = (uint8_t *)prepared;
    int8_t *quants = (int8_t *)base;
    float *scales = (float *)(base + n * pairs * 64), *sums = (float *)(base + n * pairs * (64 + 16 * sizeof(float)));
    for (size_t j = row_begin; j < row_end; j++) {
        const uint8_t *row = (const uint8_t *)x + j * x_stride;
        memset(quants + j * pairs * 64, 0, pairs * 64);
        memset(scales + j * pairs * 16, 0, pairs * 16 * sizeof(float));
        memset(sums + j * pairs * 4, 0, pairs * 4 * sizeof(float));
        for (size_t i = 0; i < blocks; i++) {
            const uint8_t *block = row + 36 * i;
            memcpy(quants + (j * pairs) * 64 + 32 * i, block + 4, 32);
            const float d = ck_half_to_float(block), s = ck_half_to_float(block + 2);
            float *lanes = scales + (j * pairs + i / 2) * 16 + 8 * (i % 2);
            for (int l = 0; l < 8; l++) lanes[l] = d;
            sums[(j * pairs + i / 2) * 4 + 2 * (i % 2) + 1] = s;
        }
    }
}

#if CK_AVX2
// (d, m) of blocks 2k and 2k+1 as (d0, m0, d1, m1); zeros for a missing second block.
static inline __m128 pair_scales(const uint8_t *pair, int second) {
    uint32_t first_half, second_half = 0;
    memcpy(&first_half, pair, 4);
    if (second) memcpy(&second_half, pair + 20, 4);
    return _mm_cvtph_ps(_mm_cvtsi64_si128((long long)((uint64_t)first_half | (uint64_t)second_half << 32)));
}

// The 32 codes of one block: low nibbles (elements 0..15), then high nibbles (16..31).
static inline __m256i block_codes(const uint8_t *block) {
    const __m128i packed = _mm_loadu_si128((const __m128i *)(block + 4));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0f));
}

// The row's result from its two accumulators: one fixed order of additions for every form.
static inline float finish(__m256 acc, __m128 mins) {
    return ck_hsum(acc) + (_mm_cvtss_f32(_mm_movehdup_ps(mins)) + _mm_cvtss_f32(_mm_shuffle_ps(mins, mins, 3)));
}

static inline __attribute__((always_inline)) void q4_1_rows_avx2(const uint8_t *w, size_t blocks, const q8_1_rows *x, size_t j0,
                                                                  float *out, size_t out_stride, const size_t n) {
    __m256 lo[8], hi[8];
    __m128 mins[8];
    for (size_t j = 0; j < n; j++) { lo[j] = _mm256_setzero_ps(); hi[j] = _mm256_setzero_ps(); mins[j] = _mm_setzero_ps(); }
    const size_t pairs = x->pairs;
    for (size_t k = 0; k < pairs; k++) {
        const uint8_t *pair = w + 40 * k;
        const int second = 2 * k + 1 < blocks;
        const __m128 dm = pair_scales(pair, second);
        const __m256i codes0 = block_codes(pair), codes1 = second ? block_codes(pair + 20) : _mm256_setzero_si256();
        const __m256 d0 = _mm256_broadcastss_ps(dm), d1 = _mm256_broadcastss_ps(_mm_movehl_ps(dm, dm));
        for (size_t j = 0; j < n; j++) {
            const size_t e = (j0 + j) * pairs + k;
            const int8_t *q = x->quants + 64 * e;
            const float *s = x->scales + 16 * e;
            const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(codes0, _mm256_loadu_si256((const __m256i *)q)), _mm256_set1_epi16(1));
            const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(codes1, _mm256_loadu_si256((const __m256i *)(q + 32))), _mm256_set1_epi16(1));
            lo[j] = _mm256_fmadd_ps(_mm256_mul_ps(d0, _mm256_loadu_ps(s)), _mm256_cvtepi32_ps(p0), lo[j]);
            hi[j] = _mm256_fmadd_ps(_mm256_mul_ps(d1, _mm256_loadu_ps(s + 8)), _mm256_cvtepi32_ps(p1), hi[j]);
            mins[j] = _mm_fmadd_ps(dm, _mm_loadu_ps(x->sums + 4 * e), mins[j]);
        }
    }
    for (size_t j = 0; j < n; j++) out[j * out_stride] = finish(_mm256_add_ps(lo[j], hi[j]), mins[j]);
}
#endif

#if CK_HAVE_VNNI_CODE
// The same per lane as q4_1_rows_avx2, one 512-bit vector per pair.
CK_VNNI_TARGET static inline __attribute__((always_inline)) void q4_1_rows_vnni(const uint8_t *w, size_t blocks, const q8_1_rows *x, size_t j0,
                                                                                 float *out, size_t out_stride, const size_t n) {
    __m512 acc[8];
    __m128 mins[8];
    for (size_t j = 0; j < n; j++) { acc[j] = _mm512_setzero_ps(); mins[j] = _mm_setzero_ps(); }
    const size_t pairs = x->pairs;
    // Lanes 0..7 take d0 (lane 0 of the scales), 8..15 take d1 (lane 2).
    const __m512i pick = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0);
    for (size_t k = 0; k < pairs; k++) {
        const uint8_t *pair = w + 40 * k;
        const int second = 2 * k + 1 < blocks;
        const __m128 dm = pair_scales(pair, second);
        const __m128i packed0 = _mm_loadu_si128((const __m128i *)(pair + 4));
        const __m128i packed1 = second ? _mm_loadu_si128((const __m128i *)(pair + 24)) : _mm_setzero_si128();
        const __m256i both = _mm256_set_m128i(packed1, packed0);
        const __m256i low = _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
        const __m256i high = _mm256_and_si256(_mm256_srli_epi16(both, 4), _mm256_set1_epi8(0x0f));
        // [low0 low1 high0 high1] in 128-bit lanes, reordered to block 2k's codes then block 2k+1's.
        const __m512i halves = _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
        const __m512i codes = _mm512_shuffle_i64x2(halves, halves, _MM_SHUFFLE(3, 1, 2, 0));
        const __m512 wd = _mm512_permutexvar_ps(pick, _mm512_castps128_ps512(dm));
        for (size_t j = 0; j < n; j++) {
            const size_t e = (j0 + j) * pairs + k;
            const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), codes, _mm512_loadu_si512((const void *)(x->quants + 64 * e)));
            acc[j] = _mm512_fmadd_ps(_mm512_mul_ps(wd, _mm512_loadu_ps(x->scales + 16 * e)), _mm512_cvtepi32_ps(p), acc[j]);
            mins[j] = _mm_fmadd_ps(dm, _mm_loadu_ps(x->sums + 4 * e), mins[j]);
        }
    }
    for (size_t j = 0; j < n; j++) {
        const __m256 high = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[j]), 1));
        out[j * out_stride] = finish(_mm256_add_ps(_mm512_castps512_ps256(acc[j]), high), mins[j]);
    }
}

CK_VNNI_TARGET static void rows_vnni(const uint8_t *w, size_t row_bytes, size_t row_begin, size_t row_end, const q8_1_rows *x,
                                     size_t n, size_t blocks, float *y, size_t y_stride) {
    for (size_t j0 = 0; j0 < n; j0 += 8) {
        const size_t m = n - j0 < 8 ? n - j0 : 8;
        float *yg = y + j0 * y_stride;
        for (size_t r = row_begin; r < row_end; r++) {
            const uint8_t *row = w + r * row_bytes;
            CK_ROWS_UP_TO_8(m, q4_1_rows_vnni, row, blocks, x, j0, yg + r, y_stride);
        }
    }
}
#endif

#if CK_AVX2
static void rows_avx2(const uint8_t *w, size_t row_bytes, size_t row_begin, size_t row_end, const q8_1_rows *x,
                      size_t n, size_t blocks, float *y, size_t y_stride) {
    for (size_t j0 = 0; j0 < n; j0 += 4) {
        const size_t m = n - j0 < 4 ? n - j0 : 4;
        float *yg = y + j0 * y_stride;
        for (size_t r = row_begin; r < row_end; r++) {
            const uint8_t *row = w + r * row_bytes;
            CK_ROWS_UP_TO_4(m, q4_1_rows_avx2, row, blocks, x, j0, yg + r, y_stride);
        }
    }
}
#else
// Without AVX2: the plain sums, block by block (not the same bits as the vector forms).
static float dot_q4_1_portable(const uint8_t *w, const uint8_t *x, size_t blocks) {
    float sum = 0, mins = 0;
    for (size_t i = 0; i < blocks; i++, w += 20, x += 36) {
        int s = 0;
        for (int j = 0; j < 16; j++) s += (w[4 + j] & 0x0f) * (int8_t)x[4 + j] + (w[4 + j] >> 4) * (int8_t)x[20 + j];
        sum += (float)s * ck_half_to_float(w) * ck_half_to_float(x);
        mins += ck_half_to_float(w + 2) * ck_half_to_float(x + 2);
    }
    return sum + mins;
}
#endif

// The prepared rows against weight rows [row_begin, row_end). vnni: 1 for the AVX-512 form (where compiled
// in and supported), 0 for AVX2.
static void prepared_q4_1(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *prepared,
                          size_t n, size_t blocks, float *y, size_t y_stride, int vnni) {
    (void)vnni;
    if (n == 0 || row_begin >= row_end) return;
#if CK_AVX2
    const q8_1_rows rows = prepared_rows(prepared, n, blocks);
#if CK_HAVE_VNNI_CODE
    if (vnni) { rows_vnni((const uint8_t *)w, row_bytes, row_begin, row_end, &rows, n, blocks, y, y_stride); return; }
#endif
    rows_avx2((const uint8_t *)w, row_bytes, row_begin, row_end, &rows, n, blocks, y, y_stride);
#else
    (void)w; (void)row_bytes; (void)prepared; (void)blocks; (void)y; (void)y_stride;
#endif
}

// From Q8_1 rows: prepared on the stack or the heap, then the kernel; without AVX2, the portable sums.
static void rows_q4_1(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t x_stride,
                      size_t n, size_t blocks, float *y, size_t y_stride, int vnni) {
    if (n == 0 || row_begin >= row_end) return;
#if CK_AVX2
    const size_t bytes = ck_q4_1_prepared_bytes(n, blocks);
    uint8_t local[4096] __attribute__((aligned(64)));
    void *prepared = bytes <= sizeof local ? local : malloc(bytes);
    if (!prepared) {
        // Out of memory for the prepared rows: NaN rather than a crash or silent zeros.
        for (size_t j = 0; j < n; j++)
            for (size_t r = row_begin; r < row_end; r++) y[j * y_stride + r] = NAN;
        return;
    }
    ck_q4_1_prepare(x, x_stride, n, 0, n, blocks, prepared);
    prepared_q4_1(w, row_bytes, row_begin, row_end, prepared, n, blocks, y, y_stride, vnni);
    if (prepared != local) free(prepared);
#else
    (void)vnni;
    const uint8_t *base = (const uint8_t *)w;
    for (size_t j = 0; j < n; j++)
        for (size_t r = row_begin; r < row_end; r++)
            y[j * y_stride + r] = dot_q4_1_portable(base + r * row_bytes, (const uint8_t *)x + j * x_stride, blocks);
#endif
}

void ck_matvec_q4_1(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y) {
    rows_q4_1(w, row_bytes, row_begin, row_end, x, 0, 1, blocks, y, 0, ck_vnni_enabled());
}

void ck_matvec_q4_1_avx2(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y) {
    rows_q4_1(w, row_bytes, row_begin, row_end, x, 0, 1, blocks, y, 0, 0);
}

void ck_matvec_rows_q4_1(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t x_stride,
                         size_t n, size_t blocks, float *y, size_t y_stride) {
    rows_q4_1(w, row_bytes, row_begin, row_end, x, x_stride, n, blocks, y, y_stride, ck_vnni_enabled());
}

void ck_matvec_rows_q4_1_avx2(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t x_stride,
                              size_t n, size_t blocks, float *y, size_t y_stride) {
    rows_q4_1(w, row_bytes, row_begin, row_end, x, x_stride, n, blocks, y, y_stride, 0);
}

void ck_matvec_rows_q4_1_prepared(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *prepared,
                                  size_t n, size_t blocks, float *y, size_t y_stride) {
    prepared_q4_1(w, row_bytes, row_begin, row_end, prepared, n, blocks, y, y_stride, ck_vnni_enabled());
}

// ---- Q4_1 rows packed sixteen at a time (AVX-512 VNNI) ----
//
// At load, the rows of a Q4_1 matrix are packed in groups of 16: per group and block, four 64-byte vectors
// whose 4-byte lane r holds bytes 4t..4t+3 of row r's codes (t = 0..3: the low nibbles are elements 4t..4t+3,
// the high ones elements 16+4t..16+4t+3), then the 16 rows' d and m (halves). One vpdpbusd against four
// broadcast activation bytes then gives 16 rows' partial sums, with no horizontal sum: a block of 16 rows
// costs about 15 instructions per activation row where the row-major kernels above spend about 40, and each
// output is one lane with its own fixed chain, acc = fma(d_w · d_x, Σ, acc) and mins = fma(m_w, s_x, mins)
// block by block, so a row's result is the same bits however many activation rows a call has.

#define CK_Q4_1_GROUP 16

#define CK_Q4_1_GROUP_BLOCK 320

size_t ck_q4_1_packed_bytes(size_t rows, size_t blocks) {
    return (rows + CK_Q4_1_GROUP - 1) / CK_Q4_1_GROUP * blocks * CK_Q4_1_GROUP_BLOCK;
}

void ck_q4_1_pack(const void *w, size_t row_bytes, size_t rows, size_t blocks, void *packed) {
    const uint8_t *src = (const uint8_t *)w;
    uint8_t *out = (uint8_t *)packed;
    const size_t groups = (rows + CK_Q4_1_GROUP - 1) / CK_Q4_1_GROUP;
    memset(out, 0, ck_q4_1_packed_bytes(rows, blocks));
    for (size_t g = 0; g < groups; g++)
        for (size_t b = 0; b < blocks; b++) {
            uint8_t *dst = out + (g * blocks + b) * CK_Q4_1_GROUP_BLOCK;
            for (size_t r = 0; r < CK_Q4_1_GROUP && g * CK_Q4_1_GROUP + r < rows; r++) {
                const uint8_t *block = src + (g * CK_Q4_1_GROUP + r) * row_bytes + 20 * b;
                for (int t = 0; t < 4; t++) memcpy(dst + 64 * t + 4 * r, block + 4 + 4 * t, 4);
                memcpy(dst + 256 + 2 * r, block, 2);
                memcpy(dst + 288 + 2 * r, block + 2, 2);
            }
        }
}

size_t ck_q4_1_interleaved_bytes(size_t n, size_t blocks) { return n * blocks * (32 + 2 * sizeof(float)); }

// The packed kernel's activations, block-major so that a block's rows sit side by side: quants [block][row][32],
// then d [block][row], then s [block][row] (the Q8_1 halves as floats).
void ck_q4_1_prepare_interleaved(const void *x, size_t x_stride, size_t n, size_t row_begin, size_t row_end, size_t blocks,
                                 void *prepared) {
    int8_t *quants = (int8_t *)prepared;
    float *d = (float *)((uint8_t *)prepared + n * blocks * 32), *s = d + n * blocks;
    for (size_t j = row_begin; j < row_end; j++) {
        const uint8_t *row = (const uint8_t *)x + j * x_stride;
        for (size_t b = 0; b < blocks; b++) {
            memcpy(quants + (b * n + j) * 32, row + 36 * b + 4, 32);
            d[b * n + j] = ck_half_to_float(row + 36 * b);
            s[b * n + j] = ck_half_to_float(row + 36 * b + 2);
        }
    }
}

#if CK_HAVE_VNNI_CODE
// One group of 16 rows against activation rows j0 ..< j0 + n (n <= 8, a constant after inlining) of the
// `total` interleaved rows: a block's rows sit at fixed offsets, so the unrolled rows need no pointer each.
CK_VNNI_TARGET static inline __attribute__((always_inline)) void q4_1_group_vnni(const uint8_t *group, size_t blocks, const int8_t *quants,
                                                                                  const float *xd, const float *xs, size_t total, size_t j0,
                                                                                  float *y, size_t y_stride, __mmask16 valid, const size_t n) {
    __m512 acc[8], mins[8];
    for (size_t j = 0; j < n; j++) { acc[j] = _mm512_setzero_ps(); mins[j] = _mm512_setzero_ps(); }
    const __m512i low = _mm512_set1_epi8(0x0f);
    for (size_t b = 0; b < blocks; b++, group += CK_Q4_1_GROUP_BLOCK) {
        __m512i codes[8];
        for (int t = 0; t < 5; t++) _mm_prefetch((const char *)(group + CK_PACKED_PREFETCH_BYTES + 64 * t), _MM_HINT_T0);
        for (int t = 0; t < 4; t++) {
            const __m512i v = _mm512_loadu_si512((const void *)(group + 64 * t));
            codes[t] = _mm512_and_si512(v, low);
            codes[t + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
        }
        const __m512 wd = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(group + 256)));
        const __m512 wm = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(group + 288)));
        const int8_t *qb = quants + (b * total + j0) * 32;
        const float *db = xd + b * total + j0, *sb = xs + b * total + j0;
#pragma clang loop unroll(full)
        for (size_t j = 0; j < n; j++) {
            const int8_t *q = qb + 32 * j;
            // Two chains of four (the low nibbles' element groups, the high ones'), then one exact integer
            // add: the other rows' and blocks' chains run beside them, and fewer adds leave more of the
            // vector ports to vpdpbusd (the kernel is bound by its instruction count).
            __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
            for (int t = 0; t < 4; t++) {
                lo = _mm512_dpbusd_epi32(lo, codes[t], _mm512_set1_epi32(ck_load_i32(q + 4 * t)));
                hi = _mm512_dpbusd_epi32(hi, codes[t + 4], _mm512_set1_epi32(ck_load_i32(q + 16 + 4 * t)));
            }
            const __m512i sum = _mm512_add_epi32(lo, hi);
            acc[j] = _mm512_fmadd_ps(_mm512_mul_ps(wd, _mm512_set1_ps(db[j])), _mm512_cvtepi32_ps(sum), acc[j]);
            mins[j] = _mm512_fmadd_ps(wm, _mm512_set1_ps(sb[j]), mins[j]);
        }
    }
    for (size_t j = 0; j < n; j++) _mm512_mask_storeu_ps(y + j * y_stride, valid, _mm512_add_ps(acc[j], mins[j]));
}

CK_VNNI_TARGET static void packed_vnni(const uint8_t *packed, size_t rows, size_t group_begin, size_t group_end, const void *prepared,
                                       size_t n, size_t blocks, float *y, size_t y_stride) {
    const int8_t *quants = (const int8_t *)prepared;
    const float *xd = (const float *)((const uint8_t *)prepared + n * blocks * 32), *xs = xd + n * blocks;
    for (size_t g = group_begin; g < group_end; g++) {
        const uint8_t *group = packed + g * blocks * CK_Q4_1_GROUP_BLOCK;
        const size_t first = g * CK_Q4_1_GROUP, count = rows - first < CK_Q4_1_GROUP ? rows - first : CK_Q4_1_GROUP;
        const __mmask16 valid = (__mmask16)((1u << count) - 1);
        for (size_t j0 = 0; j0 < n; j0 += 8) {
            const size_t m = n - j0 < 8 ? n - j0 : 8;
            float *yg = y + j0 * y_stride + first;
            CK_ROWS_UP_TO_8(m, q4_1_group_vnni, group, blocks, quants, xd, xs, n, j0, yg, y_stride, valid);
        }
    }
}
#endif

void ck_matvec_rows_q4_1_packed(const void *packed, size_t rows, size_t group_begin, size_t group_end, const void *prepared,
                                size_t n, size_t blocks, float *y, size_t y_stride) {
#if CK_HAVE_VNNI_CODE
    if (n == 0 || group_begin >= group_end) return;
    packed_vnni((const uint8_t *)packed, rows, group_begin, group_end, prepared, n, blocks, y, y_stride);
#else
    (void)packed; (void)rows; (void)group_begin; (void)group_end; (void)prepared; (void)n; (void)blocks; (void)y; (void)y_stride;
#endif
}

// Row `row` of a packed Q4_1 matrix back in ggml's layout (blocks × 20 bytes), for a tied embedding.
void ck_q4_1_unpack_row(const void *packed, size_t blocks, size_t row, void *out) {
    const uint8_t *group = (const uint8_t *)packed + row / CK_Q4_1_GROUP * blocks * CK_Q4_1_GROUP_BLOCK;
    const size_t r = row % CK_Q4_1_GROUP;
    uint8_t *dst = (uint8_t *)out;
    for (size_t b = 0; b < blocks; b++, dst += 20) {
        const uint8_t *block = group + b * CK_Q4_1_GROUP_BLOCK;
        memcpy(dst, block + 256 + 2 * r, 2);
        memcpy(dst + 2, block + 288 + 2 * r, 2);
        for (int t = 0; t < 4; t++) memcpy(dst + 4 + 4 * t, block + 64 * t + 4 * r, 4);
    }
}
