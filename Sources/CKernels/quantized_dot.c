#include "ckernels.h"

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

static float dot_q8_0(const uint8_t *w, const uint8_t *x, size_t blocks) {
#if CK_AVX2
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 2 <= blocks; i += 2) {
        const uint8_t *w0 = w + i * 34, *x0 = x + i * 34;
        const __m256 d0 = _mm256_set1_ps(half_to_float(w0) * half_to_float(x0));
        const __m256 d1 = _mm256_set1_ps(half_to_float(w0 + 34) * half_to_float(x0 + 34));
        const __m256 p0 = products_i8(_mm256_loadu_si256((const __m256i *)(w0 + 2)),
                                      _mm256_loadu_si256((const __m256i *)(x0 + 2)));
        const __m256 p1 = products_i8(_mm256_loadu_si256((const __m256i *)(w0 + 36)),
                                      _mm256_loadu_si256((const __m256i *)(x0 + 36)));
        acc0 = _mm256_fmadd_ps(d0, p0, acc0);
        acc1 = _mm256_fmadd_ps(d1, p1, acc1);
    }
    for (; i < blocks; i++) {
        const uint8_t *w0 = w + i * 34, *x0 = x + i * 34;
        const __m256 d = _mm256_set1_ps(half_to_float(w0) * half_to_float(x0));
        acc0 = _mm256_fmadd_ps(d, products_i8(_mm256_loadu_si256((const __m256i *)(w0 + 2)),
                                              _mm256_loadu_si256((const __m256i *)(x0 + 2))), acc0);
    }
    return horizontal_sum(_mm256_add_ps(acc0, acc1));
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
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 2 <= blocks; i += 2) {
        const uint8_t *w0 = w + i * 18, *x0 = x + i * 34;
        const __m256 d0 = _mm256_set1_ps(half_to_float(w0) * half_to_float(x0));
        const __m256 d1 = _mm256_set1_ps(half_to_float(w0 + 18) * half_to_float(x0 + 34));
        const __m256 p0 = products_i8(unpack_nibbles(w0 + 2), _mm256_loadu_si256((const __m256i *)(x0 + 2)));
        const __m256 p1 = products_i8(unpack_nibbles(w0 + 20), _mm256_loadu_si256((const __m256i *)(x0 + 36)));
        acc0 = _mm256_fmadd_ps(d0, p0, acc0);
        acc1 = _mm256_fmadd_ps(d1, p1, acc1);
    }
    for (; i < blocks; i++) {
        const uint8_t *w0 = w + i * 18, *x0 = x + i * 34;
        const __m256 d = _mm256_set1_ps(half_to_float(w0) * half_to_float(x0));
        acc0 = _mm256_fmadd_ps(d, products_i8(unpack_nibbles(w0 + 2), _mm256_loadu_si256((const __m256i *)(x0 + 2))), acc0);
    }
    return horizontal_sum(_mm256_add_ps(acc0, acc1));
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
