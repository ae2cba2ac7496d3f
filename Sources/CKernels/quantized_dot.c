#include "ckernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define CK_AVX2 1
#else
#define CK_AVX2 0
#endif

int ck_has_avx2(void) { return CK_AVX2; }

static inline float half_to_float(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
#if CK_AVX2
    return _cvtsh_ss(h);
#else
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0) {
        if (mant == 0) { bits = sign; }
        else {  // subnormal: normalise
            exp = 127 - 15 + 1;
            while (!(mant & 0x400)) { mant <<= 1; exp--; }
            bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) { bits = sign | 0x7f800000 | (mant << 13); }
    else { bits = sign | ((exp + 127 - 15) << 23) | (mant << 13); }
    float f;
    memcpy(&f, &bits, 4);
    return f;
#endif
}

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
        const __m256 d = _mm256_set1_ps(half_to_float(w0) * half_to_float(x0));
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
        sum += (float)s * half_to_float(w0) * half_to_float(x0);
    }
    return sum;
#endif
}

static float dot_q4_0(const uint8_t *w, const uint8_t *x, size_t blocks) {
#if CK_AVX2
    __m256 acc = _mm256_setzero_ps();
    for (size_t i = 0; i < blocks; i++) {
        const uint8_t *w0 = w + i * 18, *x0 = x + i * 34;
        const __m256 d = _mm256_set1_ps(half_to_float(w0) * half_to_float(x0));
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
        sum += (float)s * half_to_float(w0) * half_to_float(x0);
    }
    return sum;
#endif
}

void ck_matvec_q8_0(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    const void *x, size_t blocks, float *y) {
    const uint8_t *base = (const uint8_t *)w;
    for (size_t r = row_begin; r < row_end; r++) y[r] = dot_q8_0(base + r * row_bytes, (const uint8_t *)x, blocks);
}

void ck_matvec_q4_0(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    const void *x, size_t blocks, float *y) {
    const uint8_t *base = (const uint8_t *)w;
    for (size_t r = row_begin; r < row_end; r++) y[r] = dot_q4_0(base + r * row_bytes, (const uint8_t *)x, blocks);
}

static inline uint16_t float_to_half(float f) {
#if CK_AVX2
    return _cvtss_sh(f, 0);
#else
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, mant = x & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        mant |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e), half = mant >> shift, rest = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (mant >> 13), rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) half++;
    return (uint16_t)(sign | half);
#endif
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
        uint16_t h = float_to_half(d);
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
        uint16_t h = float_to_half(d);
        memcpy(out, &h, 2);
        for (int j = 0; j < 32; j++) out[2 + j] = (uint8_t)(int8_t)nearbyintf(x[j] * id);
#endif
    }
}
