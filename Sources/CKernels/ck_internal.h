// Helpers shared by the C kernel files (not part of the module's public header).
#ifndef UNDERSTUDY_CK_INTERNAL_H
#define UNDERSTUDY_CK_INTERNAL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define CK_AVX2 1
#else
#define CK_AVX2 0
#endif

#if CK_AVX2 && (defined(__clang__) || defined(__GNUC__))
#define CK_VNNI_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
#define CK_HAVE_VNNI_CODE 1
#else
#define CK_HAVE_VNNI_CODE 0
#endif

/// Calls KERNEL(args..., m) with m (1 ... 8, or 1 ... 4) as a constant, so each row count gets its own
/// unrolled copy of an always-inline kernel (accumulators in registers); counts past the last go to it.
#define CK_ROWS_UP_TO_4(m, KERNEL, ...)                                                   \
    switch (m) {                                                                          \
    case 1: KERNEL(__VA_ARGS__, 1); break;                                                \
    case 2: KERNEL(__VA_ARGS__, 2); break;                                                \
    case 3: KERNEL(__VA_ARGS__, 3); break;                                                \
    default: KERNEL(__VA_ARGS__, 4); break;                                               \
    }
#define CK_ROWS_UP_TO_6(m, KERNEL, ...)                                                   \
    switch (m) {                                                                          \
    case 1: KERNEL(__VA_ARGS__, 1); break;                                                \
    case 2: KERNEL(__VA_ARGS__, 2); break;                                                \
    case 3: KERNEL(__VA_ARGS__, 3); break;                                                \
    case 4: KERNEL(__VA_ARGS__, 4); break;                                                \
    case 5: KERNEL(__VA_ARGS__, 5); break;                                                \
    default: KERNEL(__VA_ARGS__, 6); break;                                               \
    }
#define CK_ROWS_UP_TO_8(m, KERNEL, ...)                                                   \
    switch (m) {                                                                          \
    case 1: KERNEL(__VA_ARGS__, 1); break;                                                \
    case 2: KERNEL(__VA_ARGS__, 2); break;                                                \
    case 3: KERNEL(__VA_ARGS__, 3); break;                                                \
    case 4: KERNEL(__VA_ARGS__, 4); break;                                                \
    case 5: KERNEL(__VA_ARGS__, 5); break;                                                \
    case 6: KERNEL(__VA_ARGS__, 6); break;                                                \
    case 7: KERNEL(__VA_ARGS__, 7); break;                                                \
    default: KERNEL(__VA_ARGS__, 8); break;                                               \
    }

/// Bytes ahead of the block in use that the packed Q4_1 and Q8_0 kernels prefetch: their weights stream
/// through once, and fetching a few blocks ahead keeps the loads from waiting.
#define CK_PACKED_PREFETCH_BYTES 2560

/// Four bytes at p as an int32 (unaligned): the activations a vpdpbusd broadcasts.
static inline int32_t ck_load_i32(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }

/// ck_has_vnni(), checked once per process (every thread stores the same value): whether the AVX-512 forms run.
int ck_vnni_enabled(void);

static inline float ck_half_to_float(const uint8_t *p) {
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

static inline uint16_t ck_float_to_half(float f) {
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

/// Q4_K/Q5_K: the 6-bit scale and min of sub-block k (0..7) from the 12 packed scale bytes.
static inline void ck_kquant_scale_min(const uint8_t *s, int k, int *scale, int *min) {
    if (k < 4) {
        *scale = s[k] & 63;
        *min = s[k + 4] & 63;
    } else {
        *scale = (s[k + 4] & 0x0f) | ((s[k - 4] >> 6) << 4);
        *min = (s[k + 4] >> 4) | ((s[k] >> 6) << 4);
    }
}

#if CK_AVX2
// half(a) * half(b), broadcast. Both halves go into one register through a general-purpose word: one
// vector conversion, and no 2-byte vector insert, which the compiler merges into whatever register it
// likes (once the accumulator: a dependency across blocks that halved Q5_0's speed).
static inline __m256 ck_scale_product(const uint8_t *a, const uint8_t *b) {
    uint16_t ha, hb;
    memcpy(&ha, a, 2);
    memcpy(&hb, b, 2);
    const __m128 both = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)ha | (uint32_t)hb << 16)));
    return _mm256_broadcastss_ps(_mm_mul_ss(both, _mm_movehdup_ps(both)));
}

static inline float ck_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#endif

#endif
