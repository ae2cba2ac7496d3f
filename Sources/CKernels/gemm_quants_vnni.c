// Integer matrix products for prompt batches with the types beyond Q8_0/Q4_0 (AVX-512 VNNI, vpdpbusd
// on 256-bit vectors), the same scheme as ck_gemm_q4_0_vnni in quantized_dot.c, made general:
//
// every weight type is cut into blocks of 32 elements of unsigned codes u (0..63) with
//     w = scaleA * (u - offset) + min      for the block's first 16 elements,
//     w = scaleB * (u - offset) + min      for the last 16
// (scaleA = scaleB except for Q6_K, whose sub-blocks are 16 long; offset 16 for Q5_0, 32 for Q6_K, else 0;
// min is Q4_1/Q5_1's m and the K-quants' -dmin * m_k, else 0). Eight weight rows are decoded and
// repacked so that one vector holds the same four codes of the eight rows; a vpdpbusd against four
// activation bytes broadcast then advances eight dot products. The offset enters through the start of
// the integer accumulator (-offset * Σx) and the min through the activation block's scaled sum.
#include "ckernels.h"
#include "ck_internal.h"

// One packed block of eight rows: 8 groups x 8 rows x 4 codes, then scaleA[8], scaleB[8], min[8].
#define CK_GENERAL_PACK 352

size_t ck_gemm_pack_bytes(size_t blocks) { return blocks * CK_GENERAL_PACK; }

void ck_batch_activations(const float *x, size_t n, size_t cols, int kind, int8_t *q, float *scales,
                          int32_t *sums, int32_t *half_sums, float *min_terms) {
    const size_t blocks = cols / 32;
    uint8_t block[292];
    for (size_t row = 0; row < n; row++) {
        const float *xr = x + row * cols;
        for (size_t k = 0; k < blocks; k++) {
            const size_t b = row * blocks + k;
            int8_t *qb = q + b * 32;
            if (kind == CK_ACTIVATIONS_Q8_K) {
                if (k % 8 == 0) ck_quantize_activations_q8_k(xr + 32 * k, block, 256);
                memcpy(qb, block + 4 + 32 * (k % 8), 32);
                memcpy(&scales[b], block, 4);
            } else {
                ck_quantize_activations_q8_1(xr + 32 * k, block, 32);
                memcpy(qb, block + 4, 32);
                scales[b] = ck_half_to_float(block);
            }
            int lo = 0, hi = 0;
            for (int j = 0; j < 16; j++) { lo += qb[j]; hi += qb[16 + j]; }
            sums[b] = lo + hi;
            half_sums[2 * b] = lo;
            half_sums[2 * b + 1] = hi;
            // Q8_1 keeps d * Σq in half precision, and the single-token kernels use that value.
            min_terms[b] = kind == CK_ACTIVATIONS_Q8_1 ? ck_half_to_float(block + 2) : scales[b] * (float)(lo + hi);
        }
    }
}

#if CK_HAVE_VNNI_CODE
CK_VNNI_TARGET static inline __m256i low_nibbles(__m256i v) { return _mm256_and_si256(v, _mm256_set1_epi8(0x0f)); }

CK_VNNI_TARGET static inline __m256i halves_of_16(const uint8_t *q) {
    const __m128i packed = _mm_loadu_si128((const __m128i *)q);
    return low_nibbles(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed));
}

CK_VNNI_TARGET static inline __m256i bit_set_16(const uint8_t *word) {
    uint32_t bits;
    memcpy(&bits, word, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

CK_VNNI_TARGET static inline __m256i mask_bit_16(__m256i bytes, int bit) {
    const __m256i m = _mm256_set1_epi8((char)(1 << bit));
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, m), m), _mm256_set1_epi8(0x10));
}

// Codes, scales and min of block k (32 elements) of a weight row.
CK_VNNI_TARGET static inline __m256i decode_block(int type, const uint8_t *row, size_t k, float *sa, float *sb, float *mn) {
    switch (type) {
    case CK_TYPE_Q4_1: {
        const uint8_t *b = row + 20 * k;
        *sa = *sb = ck_half_to_float(b);
        *mn = ck_half_to_float(b + 2);
        return halves_of_16(b + 4);
    }
    case CK_TYPE_Q5_0: {
        const uint8_t *b = row + 22 * k;
        *sa = *sb = ck_half_to_float(b);
        *mn = 0;
        return _mm256_or_si256(halves_of_16(b + 6), bit_set_16(b + 2));
    }
    case CK_TYPE_Q5_1: {
        const uint8_t *b = row + 24 * k;
        *sa = *sb = ck_half_to_float(b);
        *mn = ck_half_to_float(b + 2);
        return _mm256_or_si256(halves_of_16(b + 8), bit_set_16(b + 4));
    }
    case CK_TYPE_Q4_K:
    case CK_TYPE_Q5_K: {
        const int q5 = type == CK_TYPE_Q5_K;
        const uint8_t *s = row + (q5 ? 176 : 144) * (k / 8);
        const int sub = (int)(k % 8);
        int scale, min;
        ck_kquant_scale_min(s + 4, sub, &scale, &min);
        *sa = *sb = ck_half_to_float(s) * (float)scale;
        *mn = -ck_half_to_float(s + 2) * (float)min;
        const __m256i bytes = _mm256_loadu_si256((const __m256i *)(s + (q5 ? 48 : 16) + 32 * (sub / 2)));
        __m256i codes = low_nibbles(sub % 2 ? _mm256_srli_epi16(bytes, 4) : bytes);
        if (q5) codes = _mm256_or_si256(codes, mask_bit_16(_mm256_loadu_si256((const __m256i *)(s + 16)), sub));
        return codes;
    }
    default: {  // Q6_K
        const uint8_t *s = row + 210 * (k / 8);
        const int sub = (int)(k % 8), h = sub / 4, i4 = sub % 4;
        const float d = ck_half_to_float(s + 208);
        *sa = d * (float)(int8_t)s[192 + 2 * sub];
        *sb = d * (float)(int8_t)s[192 + 2 * sub + 1];
        *mn = 0;
        const __m256i lo = _mm256_loadu_si256((const __m256i *)(s + 64 * h + 32 * (i4 % 2)));
        const __m256i top = _mm256_loadu_si256((const __m256i *)(s + 128 + 32 * h));
        const __m256i low = low_nibbles(i4 < 2 ? lo : _mm256_srli_epi16(lo, 4));
        // Bits 2*i4, 2*i4 + 1 of the top byte become bits 4, 5 of the code.
        const __m256i two = _mm256_and_si256(_mm256_srl_epi16(top, _mm_cvtsi32_si128(2 * i4)), _mm256_set1_epi8(3));
        return _mm256_or_si256(low, _mm256_slli_epi16(two, 4));
    }
    }
}

// Packs rows r0 ..< r0 + count (count <= 8; missing rows are zero with zero scales).
CK_VNNI_TARGET static void pack_rows_general(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t count,
                                             size_t blocks, uint8_t *pack) {
    for (size_t k = 0; k < blocks; k++) {
        uint8_t *dst = pack + k * CK_GENERAL_PACK;
        float *fa = (float *)(dst + 256), *fb = (float *)(dst + 288), *fm = (float *)(dst + 320);
        __m256i r[8];
        for (size_t i = 0; i < 8; i++) {
            if (i < count) {
                r[i] = decode_block(type, w + (r0 + i) * row_bytes, k, &fa[i], &fb[i], &fm[i]);
            } else {
                r[i] = _mm256_setzero_si256();
                fa[i] = fb[i] = fm[i] = 0;
            }
        }
        // Transpose the 8 x 8 matrix of 4-byte groups: vector g gets group g of every row.
        const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
        const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
        const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
        const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
        const __m256i s0 = _mm256_unpacklo_epi64(t0, t2), s1 = _mm256_unpackhi_epi64(t0, t2);
        const __m256i s2 = _mm256_unpacklo_epi64(t1, t3), s3 = _mm256_unpackhi_epi64(t1, t3);
        const __m256i s4 = _mm256_unpacklo_epi64(t4, t6), s5 = _mm256_unpackhi_epi64(t4, t6);
        const __m256i s6 = _mm256_unpacklo_epi64(t5, t7), s7 = _mm256_unpackhi_epi64(t5, t7);
        __m256i *out = (__m256i *)dst;
        _mm256_store_si256(out + 0, _mm256_permute2x128_si256(s0, s4, 0x20));
        _mm256_store_si256(out + 1, _mm256_permute2x128_si256(s1, s5, 0x20));
        _mm256_store_si256(out + 2, _mm256_permute2x128_si256(s2, s6, 0x20));
        _mm256_store_si256(out + 3, _mm256_permute2x128_si256(s3, s7, 0x20));
        _mm256_store_si256(out + 4, _mm256_permute2x128_si256(s0, s4, 0x31));
        _mm256_store_si256(out + 5, _mm256_permute2x128_si256(s1, s5, 0x31));
        _mm256_store_si256(out + 6, _mm256_permute2x128_si256(s2, s6, 0x31));
        _mm256_store_si256(out + 7, _mm256_permute2x128_si256(s3, s7, 0x31));
    }
}

static inline int32_t load_word(const int8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// Y for the packed eight rows and activation rows c0 ..< c0 + rn; the last three arguments are constants
// after inlining, so each type gets its own loop without dead work.
CK_VNNI_TARGET static inline __attribute__((always_inline)) void general_tile(
        const uint8_t *pack, size_t blocks, const int8_t *x, const float *x_scales, const int32_t *x_sums,
        const int32_t *x_half_sums, const float *x_min_terms, size_t c0, float *y, size_t ldy, size_t r0, size_t count,
        const int rn, const int offset, const int split, const int has_min) {
    __m256 acc[4];
    for (int c = 0; c < rn; c++) acc[c] = _mm256_setzero_ps();
    for (size_t k = 0; k < blocks; k++) {
        const uint8_t *pk = pack + k * CK_GENERAL_PACK;
        const __m256i *wv = (const __m256i *)pk;
        const __m256 sa = _mm256_load_ps((const float *)(pk + 256));
        for (int c = 0; c < rn; c++) {
            const size_t b = (c0 + c) * blocks + k;
            const int8_t *xb = x + b * 32;
            const __m256 dx = _mm256_set1_ps(x_scales[b]);
            if (split) {
                __m256i first = _mm256_set1_epi32(-offset * x_half_sums[2 * b]);
                __m256i second = _mm256_set1_epi32(-offset * x_half_sums[2 * b + 1]);
                for (int g = 0; g < 4; g++) {
                    first = _mm256_dpbusd_epi32(first, _mm256_load_si256(wv + g), _mm256_set1_epi32(load_word(xb + 4 * g)));
                    second = _mm256_dpbusd_epi32(second, _mm256_load_si256(wv + 4 + g), _mm256_set1_epi32(load_word(xb + 16 + 4 * g)));
                }
                const __m256 sb = _mm256_load_ps((const float *)(pk + 288));
                acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(sa, dx), _mm256_cvtepi32_ps(first), acc[c]);
                acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(sb, dx), _mm256_cvtepi32_ps(second), acc[c]);
            } else {
                __m256i even = _mm256_set1_epi32(-offset * x_sums[b]), odd = _mm256_setzero_si256();
                for (int g = 0; g < 8; g += 2) {
                    even = _mm256_dpbusd_epi32(even, _mm256_load_si256(wv + g), _mm256_set1_epi32(load_word(xb + 4 * g)));
                    odd = _mm256_dpbusd_epi32(odd, _mm256_load_si256(wv + g + 1), _mm256_set1_epi32(load_word(xb + 4 * g + 4)));
                }
                acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(sa, dx), _mm256_cvtepi32_ps(_mm256_add_epi32(even, odd)), acc[c]);
            }
            if (has_min) {
                const __m256 mn = _mm256_load_ps((const float *)(pk + 320));
                acc[c] = _mm256_fmadd_ps(mn, _mm256_set1_ps(x_min_terms[b]), acc[c]);
            }
        }
    }
    const __mmask8 mask = (__mmask8)((1u << count) - 1);
    for (int c = 0; c < rn; c++) _mm256_mask_storeu_ps(y + (c0 + c) * ldy + r0, mask, acc[c]);
}

#define CK_GENERAL_GEMM(name, offset, split, has_min)                                                            \
    CK_VNNI_TARGET static void name(const uint8_t *pack, size_t blocks, const int8_t *x, const float *xs,        \
                                    const int32_t *sums, const int32_t *halves, const float *mins, size_t n,      \
                                    float *y, size_t ldy, size_t r, size_t count) {                               \
        size_t c = 0;                                                                                             \
        for (; c + 4 <= n; c += 4) general_tile(pack, blocks, x, xs, sums, halves, mins, c, y, ldy, r, count, 4, offset, split, has_min); \
        for (; c < n; c++) general_tile(pack, blocks, x, xs, sums, halves, mins, c, y, ldy, r, count, 1, offset, split, has_min);        \
    }

CK_GENERAL_GEMM(rows_with_min, 0, 0, 1)        // Q4_1, Q5_1, Q4_K, Q5_K
CK_GENERAL_GEMM(rows_offset_16, 16, 0, 0)      // Q5_0
CK_GENERAL_GEMM(rows_split_offset_32, 32, 1, 0) // Q6_K

CK_VNNI_TARGET void ck_gemm_vnni(int type, const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                                 const int8_t *xq, const float *x_scales, const int32_t *x_sums, const int32_t *x_half_sums,
                                 const float *x_min_terms, size_t n, size_t blocks, float *y, size_t ldy, void *pack) {
    for (size_t r = row_begin; r < row_end; r += 8) {
        const size_t count = row_end - r < 8 ? row_end - r : 8;
        pack_rows_general(type, (const uint8_t *)w, row_bytes, r, count, blocks, (uint8_t *)pack);
        switch (type) {
        case CK_TYPE_Q5_0:
            rows_offset_16(pack, blocks, xq, x_scales, x_sums, x_half_sums, x_min_terms, n, y, ldy, r, count);
            break;
        case CK_TYPE_Q6_K:
            rows_split_offset_32(pack, blocks, xq, x_scales, x_sums, x_half_sums, x_min_terms, n, y, ldy, r, count);
            break;
        default:
            rows_with_min(pack, blocks, xq, x_scales, x_sums, x_half_sums, x_min_terms, n, y, ldy, r, count);
        }
    }
}
#else
// Never called: ck_has_vnni() is 0 without the VNNI code.
void ck_gemm_vnni(int type, const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                  const int8_t *xq, const float *x_scales, const int32_t *x_sums, const int32_t *x_half_sums,
                  const float *x_min_terms, size_t n, size_t blocks, float *y, size_t ldy, void *pack) {
    (void)type; (void)w; (void)row_bytes; (void)row_begin; (void)row_end; (void)xq; (void)x_scales; (void)x_sums;
    (void)x_half_sums; (void)x_min_terms; (void)n; (void)blocks; (void)y; (void)ldy; (void)pack;
}
#endif
