#include "ckernels.h"
#include "ck_internal.h"

int ck_has_avx2(void) { return CK_AVX2; }

#if CK_AVX2
// Sum of 32 int8 products as 8 floats: |a| * sign(b, a) through the unsigned x signed byte multiply.
static inline __m256 products_i8(__m256i a, __m256i b) {
    const __m256i abs_a = _mm256_sign_epi8(a, a);
    const __m256i signed_b = _mm256_sign_epi8(b, a);
    const __m256i pairs = _mm256_maddubs_epi16(abs_a, signed_b);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

static inline float horizontal_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256i unpack_nibbles(const uint8_t *q) {
    const __m128i packed = _mm_loadu_si128((const __m128i *)q);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
    return _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0f)), _mm256_set1_epi8(8));
}
#endif

// One accumulator, blocks in order, as ggml sums them: the logits then match llama.cpp's bit for bit,
// and a random network does not amplify last-bit differences through later activation rounding.
static float dot_q8_0(const uint8_t *w, const uint8_t *x, size_t blocks) {
#if CK_AVX2
    __m256 acc = _mm256_setzero_ps();
    for (size_t i = 0; i < blocks; i++) {
        const uint8_t *w0 = w + i * 34, *x0 = x + i * 34;
        const __m256 d = _mm256_set1_ps(ck_half_to_float(w0) * ck_half_to_float(x0));
        acc = _mm256_fmadd_ps(d, products_i8(_mm256_loadu_si256((const __m256i *)(w0 + 2)),
                                             _mm256_loadu_si256((const __m256i *)(x0 + 2))), acc);
    }
    return horizontal_sum(acc);
#else
    float sum = 0;
    for (size_t i = 0; i < blocks; i++) {
        const uint8_t *w0 = w + i * 34, *x0 = x + i * 34;
        int s = 0;
        for (int j = 0; j < 32; j++) s += (int8_t)w0[2 + j] * (int8_t)x0[2 + j];
        sum += (float)s * ck_half_to_float(w0) * ck_half_to_float(x0);
    }
    return sum;
#endif
}

static float dot_q4_0(const uint8_t *w, const uint8_t *x, size_t blocks) {
#if CK_AVX2
    __m256 acc = _mm256_setzero_ps();
    for (size_t i = 0; i < blocks; i++) {
        const uint8_t *w0 = w + i * 18, *x0 = x + i * 34;
        const __m256 d = _mm256_set1_ps(ck_half_to_float(w0) * ck_half_to_float(x0));
        acc = _mm256_fmadd_ps(d, products_i8(unpack_nibbles(w0 + 2), _mm256_loadu_si256((const __m256i *)(x0 + 2))), acc);
    }
    return horizontal_sum(acc);
#else
    float sum = 0;
    for (size_t i = 0; i < blocks; i++) {
        const uint8_t *w0 = w + i * 18, *x0 = x + i * 34;
        int s = 0;
        for (int j = 0; j < 16; j++) {
            s += ((w0[2 + j] & 0x0f) - 8) * (int8_t)x0[2 + j];
            s += ((w0[2 + j] >> 4) - 8) * (int8_t)x0[2 + j + 16];
        }
        sum += (float)s * ck_half_to_float(w0) * ck_half_to_float(x0);
    }
    return sum;
#endif
}

void ck_matvec_q8_0_avx2(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                         const void *x, size_t blocks, float *y) {
    const uint8_t *base = (const uint8_t *)w;
    for (size_t r = row_begin; r < row_end; r++) y[r] = dot_q8_0(base + r * row_bytes, (const uint8_t *)x, blocks);
}

void ck_matvec_q4_0_avx2(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                         const void *x, size_t blocks, float *y) {
    const uint8_t *base = (const uint8_t *)w;
    for (size_t r = row_begin; r < row_end; r++) y[r] = dot_q4_0(base + r * row_bytes, (const uint8_t *)x, blocks);
}

void ck_quantize_activations_q8_0(const float *x, void *dst, size_t count) {
    uint8_t *out = (uint8_t *)dst;
    for (size_t b = 0; b < count / 32; b++, x += 32, out += 34) {
#if CK_AVX2
        __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8), v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
        const __m256 sign_bit = _mm256_set1_ps(-0.0f);
        __m256 m = _mm256_max_ps(_mm256_andnot_ps(sign_bit, v0), _mm256_andnot_ps(sign_bit, v1));
        m = _mm256_max_ps(m, _mm256_max_ps(_mm256_andnot_ps(sign_bit, v2), _mm256_andnot_ps(sign_bit, v3)));
        __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float d = amax / 127.f;
        const float id = amax != 0.0f ? 127.f / amax : 0.0f;
        uint16_t h = ck_float_to_half(d);
        memcpy(out, &h, 2);
        const __m256 mul = _mm256_set1_ps(id);
        __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, mul), _MM_ROUND_NEAREST));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, mul), _MM_ROUND_NEAREST));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, mul), _MM_ROUND_NEAREST));
        __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, mul), _MM_ROUND_NEAREST));
        i0 = _mm256_packs_epi32(i0, i1);
        i2 = _mm256_packs_epi32(i2, i3);
        i0 = _mm256_packs_epi16(i0, i2);
        // The packs work within 128-bit lanes; put the 32 bytes back in element order.
        i0 = _mm256_permutevar8x32_epi32(i0, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(out + 2), i0);
#else
        float amax = 0;
        for (int j = 0; j < 32; j++) { float a = fabsf(x[j]); if (a > amax) amax = a; }
        const float d = amax / 127.f, id = amax != 0.0f ? 127.f / amax : 0.0f;
        uint16_t h = ck_float_to_half(d);
        memcpy(out, &h, 2);
        for (int j = 0; j < 32; j++) out[2 + j] = (uint8_t)(int8_t)nearbyintf(x[j] * id);
#endif
    }
}

// ---- Integer matrix products for prompt batches (AVX-512 VNNI) ----
//
// vpdpbusd multiplies unsigned by signed bytes, four to an int32 lane. Weights are made unsigned: Q4_0
// nibbles are already 0..15 (the stored value is q + 8) and Q8_0 bytes get +128 (xor 0x80); the offset
// times the activation block's sum is taken off by starting the accumulator at -offset * sum.
//
// Eight weight rows are repacked so that one vector holds the same four bytes of each of the eight
// rows (the idea of ggml's interleaved Q4_0x8 layout): a vpdpbusd against four activation bytes
// broadcast to all lanes then advances eight row dot products at once, eight of them finish a block,
// and the block's scales are applied to all eight rows with one multiply and one fma. The repacking
// is done per call into the thread's scratch and reused for every activation row of the batch.


// Bytes of one packed block of eight rows: 8 groups x 8 rows x 4 bytes, then the 8 rows' scales.
#define CK_PACKED_BLOCK 288

int ck_has_vnni(void) {
#if CK_HAVE_VNNI_CODE
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") ? 1 : 0;
#else
    return 0;
#endif
}

size_t ck_packed_rows_bytes(size_t blocks) { return blocks * CK_PACKED_BLOCK; }

void ck_activation_terms(const void *xq, size_t block_count, int offset, float *scales, int32_t *starts) {
    const uint8_t *x = (const uint8_t *)xq;
    for (size_t b = 0; b < block_count; b++) {
        const uint8_t *block = x + b * 34;
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += (int8_t)block[2 + j];
        scales[b] = ck_half_to_float(block);
        starts[b] = -offset * sum;
    }
}

#if CK_HAVE_VNNI_CODE
// The unsigned bytes of one weight block, in element order.
CK_VNNI_TARGET static inline __m256i weight_bytes(const uint8_t *block, int is_q4) {
    if (is_q4) {
        const __m128i packed = _mm_loadu_si128((const __m128i *)(block + 2));
        const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
        return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
    }
    return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(block + 2)), _mm256_set1_epi8((char)0x80));
}

// Packs rows r0 ..< r0 + count (count <= 8; missing rows are zero with scale 0).
CK_VNNI_TARGET static void pack_rows(const uint8_t *w, size_t row_bytes, size_t w_block_bytes, int is_q4,
                                     size_t r0, size_t count, size_t blocks, uint8_t *pack) {
    _Alignas(32) uint32_t words[8];
    for (size_t k = 0; k < blocks; k++) {
        uint32_t *dst = (uint32_t *)(pack + k * CK_PACKED_BLOCK);
        float *scales = (float *)(pack + k * CK_PACKED_BLOCK + 256);
        for (size_t r = 0; r < 8; r++) {
            if (r < count) {
                const uint8_t *block = w + (r0 + r) * row_bytes + k * w_block_bytes;
                _mm256_store_si256((__m256i *)words, weight_bytes(block, is_q4));
                scales[r] = ck_half_to_float(block);
            } else {
                memset(words, 0, sizeof words);
                scales[r] = 0;
            }
            for (int g = 0; g < 8; g++) dst[g * 8 + r] = words[g];
        }
    }
}


// Y for the packed eight rows and activation rows c0 ..< c0 + rn (a constant after inlining).
CK_VNNI_TARGET static inline __attribute__((always_inline)) void packed_tile(
        const uint8_t *pack, size_t blocks, const uint8_t *x, const float *x_scales, const int32_t *x_starts,
        size_t c0, float *y, size_t ldy, size_t r0, size_t count, const int rn) {
    __m256 acc[4];
    for (int c = 0; c < rn; c++) acc[c] = _mm256_setzero_ps();
    for (size_t k = 0; k < blocks; k++) {
        const __m256i *wv = (const __m256i *)(pack + k * CK_PACKED_BLOCK);
        const __m256 dw = _mm256_load_ps((const float *)(pack + k * CK_PACKED_BLOCK + 256));
        for (int c = 0; c < rn; c++) {
            const size_t b = (c0 + c) * blocks + k;
            const uint8_t *xb = x + b * 34 + 2;
            // Two independent chains, so consecutive vpdpbusd do not wait for each other.
            __m256i even = _mm256_set1_epi32(x_starts[b]), odd = _mm256_setzero_si256();
            for (int g = 0; g < 8; g += 2) {
                even = _mm256_dpbusd_epi32(even, _mm256_load_si256(wv + g), _mm256_set1_epi32(ck_load_i32(xb + 4 * g)));
                odd = _mm256_dpbusd_epi32(odd, _mm256_load_si256(wv + g + 1), _mm256_set1_epi32(ck_load_i32(xb + 4 * g + 4)));
            }
            const __m256 dots = _mm256_cvtepi32_ps(_mm256_add_epi32(even, odd));
            acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(x_scales[b])), dots, acc[c]);
        }
    }
    const __mmask8 mask = (__mmask8)((1u << count) - 1);
    for (int c = 0; c < rn; c++) _mm256_mask_storeu_ps(y + (c0 + c) * ldy + r0, mask, acc[c]);
}

CK_VNNI_TARGET static void gemm_vnni(const void *wp, size_t row_bytes, size_t row_begin, size_t row_end, int is_q4,
                                     const void *xq, const float *x_scales, const int32_t *x_starts,
                                     size_t n, size_t blocks, float *y, size_t ldy, void *pack_scratch) {
    const uint8_t *w = (const uint8_t *)wp, *x = (const uint8_t *)xq;
    uint8_t *pack = (uint8_t *)pack_scratch;
    const size_t w_block_bytes = is_q4 ? 18 : 34;
    for (size_t r = row_begin; r < row_end; r += 8) {
        const size_t count = row_end - r < 8 ? row_end - r : 8;
        pack_rows(w, row_bytes, w_block_bytes, is_q4, r, count, blocks, pack);
        size_t c = 0;
        for (; c + 4 <= n; c += 4) packed_tile(pack, blocks, x, x_scales, x_starts, c, y, ldy, r, count, 4);
        for (; c < n; c++) packed_tile(pack, blocks, x, x_scales, x_starts, c, y, ldy, r, count, 1);
    }
}

void ck_gemm_q8_0_vnni(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                       const void *xq, const float *x_scales, const int32_t *x_starts, size_t n, size_t blocks,
                       float *y, size_t ldy, void *pack) {
    gemm_vnni(w, row_bytes, row_begin, row_end, 0, xq, x_scales, x_starts, n, blocks, y, ldy, pack);
}

void ck_gemm_q4_0_vnni(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                       const void *xq, const float *x_scales, const int32_t *x_starts, size_t n, size_t blocks,
                       float *y, size_t ldy, void *pack) {
    gemm_vnni(w, row_bytes, row_begin, row_end, 1, xq, x_scales, x_starts, n, blocks, y, ldy, pack);
}
#else
// Never called: ck_has_vnni() is 0 without the VNNI code.
void ck_gemm_q8_0_vnni(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                       const void *xq, const float *x_scales, const int32_t *x_starts, size_t n, size_t blocks,
                       float *y, size_t ldy, void *pack) {
    (void)w; (void)row_bytes; (void)row_begin; (void)row_end; (void)xq; (void)x_scales; (void)x_starts;
    (void)n; (void)blocks; (void)y; (void)ldy; (void)pack;
}
void ck_gemm_q4_0_vnni(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                       const void *xq, const float *x_scales, const int32_t *x_starts, size_t n, size_t blocks,
                       float *y, size_t ldy, void *pack) {
    (void)w; (void)row_bytes; (void)row_begin; (void)row_end; (void)xq; (void)x_scales; (void)x_starts;
    (void)n; (void)blocks; (void)y; (void)ldy; (void)pack;
}
#endif

// ---- Single-token products with AVX-512 VNNI ----
//
// The same sums as dot_q8_0 / dot_q4_0 (same integers in the same lanes, same float operations in the
// same order, so the same bits), with vpdpbusd on unsigned weight bytes: Q8_0 + 128 (xor 0x80), Q4_0's
// stored q + 8. The offset times each lane's four activations, the same for every row, is computed once
// per call.

#if CK_HAVE_VNNI_CODE
CK_VNNI_TARGET static inline __m256 scale_product_vnni(const uint8_t *a, const uint8_t *b) {
    uint16_t ha, hb;
    memcpy(&ha, a, 2);
    memcpy(&hb, b, 2);
    // Both halves through one general-purpose word: a 2-byte vector insert would merge into (and wait
    // for) whatever register the compiler picks, once the accumulator.
    const __m128 both = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)ha | (uint32_t)hb << 16)));
    return _mm256_broadcastss_ps(_mm_mul_ss(both, _mm_movehdup_ps(both)));
}

CK_VNNI_TARGET static float dot_vnni(const uint8_t *w, const uint8_t *x, size_t blocks, const __m256i *offsets, int is_q4) {
    __m256 acc = _mm256_setzero_ps();
    const size_t w_block = is_q4 ? 18 : 34;
    for (size_t i = 0; i < blocks; i++, w += w_block, x += 34) {
        const __m256 d = scale_product_vnni(w, x);
        __m256i u;
        if (is_q4) {
            const __m128i packed = _mm_loadu_si128((const __m128i *)(w + 2));
            u = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0f));
        } else {
            u = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(w + 2)), _mm256_set1_epi8((char)0x80));
        }
        const __m256i p = _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), u, _mm256_loadu_si256((const __m256i *)(x + 2))),
                                           _mm256_load_si256(offsets + i));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

CK_VNNI_TARGET static void matvec_vnni_rows(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x,
                                            size_t blocks, float *y, int is_q4) {
    const uint8_t *base = (const uint8_t *)w, *xb = (const uint8_t *)x;
    __m256i offsets[blocks > 0 ? blocks : 1];
    const __m256i offset = _mm256_set1_epi8(is_q4 ? 8 : (char)128);
    for (size_t i = 0; i < blocks; i++)
        offsets[i] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), offset, _mm256_loadu_si256((const __m256i *)(xb + 34 * i + 2)));
    for (size_t r = row_begin; r < row_end; r++) y[r] = dot_vnni(base + r * row_bytes, xb, blocks, offsets, is_q4);
}
#endif

static int vnni_enabled = -1;

int ck_vnni_enabled(void) {
    int known = __atomic_load_n(&vnni_enabled, __ATOMIC_RELAXED);
    if (known < 0) {
        known = ck_has_vnni();
        __atomic_store_n(&vnni_enabled, known, __ATOMIC_RELAXED);
    }
    return known;
}

void ck_matvec_q8_0(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    const void *x, size_t blocks, float *y) {
#if CK_HAVE_VNNI_CODE
    if (ck_vnni_enabled()) { matvec_vnni_rows(w, row_bytes, row_begin, row_end, x, blocks, y, 0); return; }
#endif
    ck_matvec_q8_0_avx2(w, row_bytes, row_begin, row_end, x, blocks, y);
}

void ck_matvec_q4_0(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    const void *x, size_t blocks, float *y) {
#if CK_HAVE_VNNI_CODE
    if (ck_vnni_enabled()) { matvec_vnni_rows(w, row_bytes, row_begin, row_end, x, blocks, y, 1); return; }
#endif
    ck_matvec_q4_0_avx2(w, row_bytes, row_begin, row_end, x, blocks, y);
}

// ---- Several activation rows against each Q8_0 weight row (speculative decoding's verification) ----
//
// Per activation row the integers and float operations of dot_vnni (Q8_0) in the same order, so the same
// bits as ck_matvec_q8_0 for that row alone, with each weight block loaded once for all rows. The integer
// sums are formed the other way round: the activations offset to unsigned (x + 128, once per call) against
// the signed weights, the accumulator starting from -128 Σw of the weight block (once for all rows). The
// sum is the same integer as dot_vnni's (w + 128) · x - 128 Σx, and a further row costs four instructions
// per block instead of six.

#if CK_HAVE_VNNI_CODE
// The activation rows' block scales are converted to float once per call (`xd`: row j's block i at
// j * blocks + i) and multiplied by the weight block's on broadcast vectors: the same IEEE product as
// scale_product_vnni, without its per-row conversion and shuffles. `xu` holds row j's block i's 32
// unsigned activations at 32 * (j * blocks + i).
CK_VNNI_TARGET static inline __attribute__((always_inline)) void q8_0_rows_vnni(const uint8_t *w, size_t blocks, const uint8_t *xu,
                                                                                 const float *xd, float *out, size_t out_stride, const size_t n) {
    __m256 acc[8];
    for (size_t j = 0; j < n; j++) acc[j] = _mm256_setzero_ps();
    for (size_t i = 0; i < blocks; i++, w += 34) {
        const __m256i ws = _mm256_loadu_si256((const __m256i *)(w + 2));
        const __m256i start = _mm256_sub_epi32(_mm256_setzero_si256(),
                                               _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8((char)0x80), ws));
        const __m256 wd = _mm256_set1_ps(ck_half_to_float(w));
        for (size_t j = 0; j < n; j++) {
            const __m256 d = _mm256_mul_ps(wd, _mm256_broadcast_ss(xd + j * blocks + i));
            const __m256i p = _mm256_dpbusd_epi32(start, _mm256_loadu_si256((const __m256i *)(xu + 32 * (j * blocks + i))), ws);
            acc[j] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[j]);
        }
    }
    for (size_t j = 0; j < n; j++) {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[j]), _mm256_extractf128_ps(acc[j], 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        out[j * out_stride] = _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
    }
}

CK_VNNI_TARGET static void matvec_rows_q8_0_vnni(const uint8_t *w, size_t row_bytes, size_t row_begin, size_t row_end,
                                                 const uint8_t *x, size_t x_stride, size_t n, size_t blocks, float *y, size_t y_stride) {
    const size_t b = blocks > 0 ? blocks : 1;
    uint8_t xu[8 * 32 * b] __attribute__((aligned(32)));
    float xd[8 * b];
    for (size_t j0 = 0; j0 < n; j0 += 8) {
        const size_t m = n - j0 < 8 ? n - j0 : 8;
        const uint8_t *xg = x + j0 * x_stride;
        float *yg = y + j0 * y_stride;
        for (size_t j = 0; j < m; j++)
            for (size_t i = 0; i < blocks; i++) {
                const __m256i q = _mm256_loadu_si256((const __m256i *)(xg + j * x_stride + 34 * i + 2));
                _mm256_store_si256((__m256i *)(xu + 32 * (j * blocks + i)), _mm256_xor_si256(q, _mm256_set1_epi8((char)0x80)));
                xd[j * blocks + i] = ck_half_to_float(xg + j * x_stride + 34 * i);
            }
        for (size_t r = row_begin; r < row_end; r++) {
            const uint8_t *row = w + r * row_bytes;
            CK_ROWS_UP_TO_8(m, q8_0_rows_vnni, row, blocks, xu, xd, yg + r, y_stride);
        }
    }
}
#endif

void ck_matvec_rows_q8_0(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t x_stride,
                         size_t n, size_t blocks, float *y, size_t y_stride) {
#if CK_HAVE_VNNI_CODE
    if (ck_vnni_enabled()) {
        matvec_rows_q8_0_vnni((const uint8_t *)w, row_bytes, row_begin, row_end, (const uint8_t *)x, x_stride, n, blocks, y, y_stride);
        return;
    }
#endif
    for (size_t r = row_begin; r < row_end; r++)
        for (size_t j = 0; j < n; j++)
            ck_matvec_q8_0(w, row_bytes, r, r + 1, (const uint8_t *)x + j * x_stride, blocks, y + j * y_stride);
}

// ---- Q8_0 rows packed sixteen at a time (AVX-512 VNNI) ----
//
// Q4_1's packed layout (q4_1_products.c) for Q8_0: per group of 16 rows, per block, eight 64-byte vectors
// whose 4-byte lane r holds codes 4t..4t+3 of row r offset to unsigned (w + 128, xor 0x80), then after all
// of a group's blocks their 16 rows' scales (halves). vpdpbusd against four broadcast signed activations
// gives 16 rows' partial sums; the chain starts at -128 Σx of the activation block, so each lane ends on
// the exact integer Σ w·x. Each output is one lane with one fixed chain, acc = fma(d_w · d_x, Σ, acc) block
// by block, so a row's result is the same bits whatever else the call computes: single tokens, verified
// rows and prompt batches run this one kernel. (The row-major kernels above keep eight lanes per row and
// sum them at the end: other bits, the ones ggml's AVX2 path gives.)

#define CK_Q8_0_GROUP 16

static size_t q8_0_group_bytes(size_t blocks) { return (blocks * (512 + 32) + 63) & ~(size_t)63; }

size_t ck_q8_0_packed_bytes(size_t rows, size_t blocks) {
    return (rows + CK_Q8_0_GROUP - 1) / CK_Q8_0_GROUP * q8_0_group_bytes(blocks);
}

void ck_q8_0_pack(const void *w, size_t row_bytes, size_t rows, size_t blocks, void *packed) {
    const uint8_t *src = (const uint8_t *)w;
    uint8_t *out = (uint8_t *)packed;
    const size_t groups = (rows + CK_Q8_0_GROUP - 1) / CK_Q8_0_GROUP, group_bytes = q8_0_group_bytes(blocks);
    memset(out, 0, ck_q8_0_packed_bytes(rows, blocks));
    for (size_t g = 0; g < groups; g++) {
        uint8_t *group = out + g * group_bytes, *scales = group + blocks * 512;
        for (size_t r = 0; r < CK_Q8_0_GROUP; r++) {
            const int present = g * CK_Q8_0_GROUP + r < rows;
            for (size_t b = 0; b < blocks; b++) {
                uint8_t *codes = group + 512 * b;
                if (!present) {
                    // A missing row is zeros: (0 xor 0x80) codes against a zero scale add nothing.
                    for (int t = 0; t < 8; t++) memset(codes + 64 * t + 4 * r, 0x80, 4);
                    continue;
                }
                const uint8_t *block = src + (g * CK_Q8_0_GROUP + r) * row_bytes + 34 * b;
                for (int t = 0; t < 8; t++)
                    for (int e = 0; e < 4; e++) codes[64 * t + 4 * r + e] = block[2 + 4 * t + e] ^ 0x80;
                memcpy(scales + 32 * b + 2 * r, block, 2);
            }
        }
    }
}

size_t ck_q8_0_interleaved_bytes(size_t n, size_t blocks) { return n * blocks * (32 + sizeof(float) + sizeof(int32_t)); }

// The packed kernel's activations, block-major: quants [block][row][32], then d [block][row] (the half as a
// float), then -128 Σx [block][row].
void ck_q8_0_prepare_interleaved(const void *x, size_t x_stride, size_t n, size_t row_begin, size_t row_end, size_t blocks,
                                 void *prepared) {
    int8_t *quants = (int8_t *)prepared;
    float *d = (float *)((uint8_t *)prepared + n * blocks * 32);
    int32_t *starts = (int32_t *)(d + n * blocks);
    for (size_t j = row_begin; j < row_end; j++) {
        const uint8_t *row = (const uint8_t *)x + j * x_stride;
        for (size_t b = 0; b < blocks; b++) {
            const int8_t *q = (const int8_t *)(row + 34 * b + 2);
            int32_t sum = 0;
            for (int e = 0; e < 32; e++) sum += q[e];
            memcpy(quants + (b * n + j) * 32, q, 32);
            d[b * n + j] = ck_half_to_float(row + 34 * b);
            starts[b * n + j] = -128 * sum;
        }
    }
}

#if CK_HAVE_VNNI_CODE
// One group of 16 rows against activation rows j0 ..< j0 + n (n <= 8, a constant after inlining) of `total`.
CK_VNNI_TARGET static inline __attribute__((always_inline)) void q8_0_group_vnni(const uint8_t *group, size_t blocks, const int8_t *quants,
                                                                                  const float *xd, const int32_t *xs, size_t total, size_t j0,
                                                                                  float *y, size_t y_stride, __mmask16 valid, const size_t n) {
    __m512 acc[8];
    for (size_t j = 0; j < n; j++) acc[j] = _mm512_setzero_ps();
    const uint8_t *scales = group + blocks * 512;
    for (size_t b = 0; b < blocks; b++) {
        __m512i codes[8];
        for (int t = 0; t < 8; t++) _mm_prefetch((const char *)(group + 512 * b + CK_PACKED_PREFETCH_BYTES + 64 * t), _MM_HINT_T0);
        for (int t = 0; t < 8; t++) codes[t] = _mm512_load_si512((const void *)(group + 512 * b + 64 * t));
        const __m512 wd = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(scales + 32 * b)));
        const int8_t *qb = quants + (b * total + j0) * 32;
        const float *db = xd + b * total + j0;
        const int32_t *sb = xs + b * total + j0;
#pragma clang loop unroll(full)
        for (size_t j = 0; j < n; j++) {
            const int8_t *q = qb + 32 * j;
            // Two chains of four, then one exact integer add (as in the Q4_1 kernel: fewer adds, more
            // vpdpbusd per cycle).
            __m512i lo = _mm512_set1_epi32(sb[j]), hi = _mm512_setzero_si512();
            for (int t = 0; t < 4; t++) {
                lo = _mm512_dpbusd_epi32(lo, codes[t], _mm512_set1_epi32(ck_load_i32(q + 4 * t)));
                hi = _mm512_dpbusd_epi32(hi, codes[t + 4], _mm512_set1_epi32(ck_load_i32(q + 16 + 4 * t)));
            }
            const __m512i sum = _mm512_add_epi32(lo, hi);
            acc[j] = _mm512_fmadd_ps(_mm512_mul_ps(wd, _mm512_set1_ps(db[j])), _mm512_cvtepi32_ps(sum), acc[j]);
        }
    }
    for (size_t j = 0; j < n; j++) _mm512_mask_storeu_ps(y + j * y_stride, valid, acc[j]);
}

CK_VNNI_TARGET static void q8_0_packed_vnni(const uint8_t *packed, size_t rows, size_t group_begin, size_t group_end, const void *prepared,
                                            size_t n, size_t blocks, float *y, size_t y_stride) {
    const int8_t *quants = (const int8_t *)prepared;
    const float *xd = (const float *)((const uint8_t *)prepared + n * blocks * 32);
    const int32_t *xs = (const int32_t *)(xd + n * blocks);
    const size_t group_bytes = q8_0_group_bytes(blocks);
    for (size_t g = group_begin; g < group_end; g++) {
        const uint8_t *group = packed + g * group_bytes;
        const size_t first = g * CK_Q8_0_GROUP, count = rows - first < CK_Q8_0_GROUP ? rows - first : CK_Q8_0_GROUP;
        const __mmask16 valid = (__mmask16)((1u << count) - 1);
        for (size_t j0 = 0; j0 < n; j0 += 8) {
            const size_t m = n - j0 < 8 ? n - j0 : 8;
            float *yg = y + j0 * y_stride + first;
            CK_ROWS_UP_TO_8(m, q8_0_group_vnni, group, blocks, quants, xd, xs, n, j0, yg, y_stride, valid);
        }
    }
}
#endif

void ck_matvec_rows_q8_0_packed(const void *packed, size_t rows, size_t group_begin, size_t group_end, const void *prepared,
                                size_t n, size_t blocks, float *y, size_t y_stride) {
#if CK_HAVE_VNNI_CODE
    if (n == 0 || group_begin >= group_end) return;
    q8_0_packed_vnni((const uint8_t *)packed, rows, group_begin, group_end, prepared, n, blocks, y, y_stride);
#else
    (void)packed; (void)rows; (void)group_begin; (void)group_end; (void)prepared; (void)n; (void)blocks; (void)y; (void)y_stride;
#endif
}

// Row `row` of a packed Q8_0 matrix back in ggml's layout (blocks × 34 bytes): a tied embedding looks its
// rows up here, so the file's pages of the matrix stay released.
void ck_q8_0_unpack_row(const void *packed, size_t blocks, size_t row, void *out) {
    const uint8_t *group = (const uint8_t *)packed + row / CK_Q8_0_GROUP * q8_0_group_bytes(blocks);
    const size_t r = row % CK_Q8_0_GROUP;
    uint8_t *dst = (uint8_t *)out;
    for (size_t b = 0; b < blocks; b++, dst += 34) {
        memcpy(dst, group + blocks * 512 + 32 * b + 2 * r, 2);
        for (int t = 0; t < 8; t++)
            for (int e = 0; e < 4; e++) dst[2 + 4 * t + e] = group[512 * b + 64 * t + 4 * r + e] ^ 0x80;
    }
}
