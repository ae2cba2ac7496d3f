// Single-token dot products for the types beyond Q8_0/Q4_0: Q5_1 against Q8_1 activations (Q4_1 has its
// own file, q4_1_products.c),
// Q5_0 against Q8_0, the K-quants (Q4_K, Q5_K, Q6_K) against Q8_K, and BF16 against f32. Each block's
// integer products come from vpmaddubsw (unsigned weight codes x signed activations) and are scaled once
// per block; constant offsets in the codes (Q5_0's 16, Q6_K's 32) and the mins of Q4_1/Q5_1/Q4_K/Q5_K are
// taken off through the activation block sums, as ggml does. Without AVX2 the same sums run as scalar C.
#include "ckernels.h"
#include "ck_internal.h"

#if CK_AVX2
// Sum of 32 unsigned x signed byte products as 8 int32 (each code <= 63, so the pair sums fit int16).
static inline __m256i udot_i32(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// The 32 low nibbles (elements 0..15) then high nibbles (elements 16..31) of 16 bytes.
static inline __m256i nibbles32(const uint8_t *q) {
    const __m128i packed = _mm_loadu_si128((const __m128i *)q);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0f));
}

// 0x10 in byte j where bit j of the little-endian word at p is set.
static inline __m256i fifth_bits(const uint8_t *p) {
    uint32_t bits;
    memcpy(&bits, p, 4);
    // Byte j gets byte j / 8 of the word, then keeps only bit j % 8.
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}
#endif

// ---- Activations ----

void ck_quantize_activations_q8_1(const float *x, void *dst, size_t count) {
    // Q8_0's values (the same rounding as ck_quantize_activations_q8_0), then the half sum d * Σq.
    uint8_t *out = (uint8_t *)dst;
    uint8_t block[34];
    for (size_t b = 0; b < count / 32; b++, x += 32, out += 36) {
        ck_quantize_activations_q8_0(x, block, 32);
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += (int8_t)block[2 + j];
        const uint16_t s = ck_float_to_half(ck_half_to_float(block) * (float)sum);
        memcpy(out, block, 2);
        memcpy(out + 2, &s, 2);
        memcpy(out + 4, block + 2, 32);
    }
}

void ck_quantize_activations_q8_k(const float *x, void *dst, size_t count) {
    uint8_t *out = (uint8_t *)dst;
    for (size_t b = 0; b < count / 256; b++, x += 256, out += 292) {
        float amax = 0, m = 0;
#if CK_AVX2
        const __m256 sign_bit = _mm256_set1_ps(-0.0f);
        __m256 vmax = _mm256_setzero_ps();
        for (int j = 0; j < 256; j += 8) vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign_bit, _mm256_loadu_ps(x + j)));
        __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(vmax, 1), _mm256_castps256_ps128(vmax));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        amax = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
        // The first element of that magnitude gives the sign, as in ggml's scan.
        for (int j = 0; j < 256; j++) if (fabsf(x[j]) == amax) { m = x[j]; break; }
#else
        for (int j = 0; j < 256; j++) {
            const float a = fabsf(x[j]);
            if (a > amax) { amax = a; m = x[j]; }
        }
#endif
        if (amax == 0) {
            memset(out, 0, 292);
            continue;
        }
        const float iscale = -127.f / m;
        int8_t *q = (int8_t *)(out + 4);
        int16_t sums[16];
#if CK_AVX2
        const __m256 mul = _mm256_set1_ps(iscale);
        for (int g = 0; g < 256; g += 32) {
            __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + g), mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + g + 8), mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + g + 16), mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + g + 24), mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            // Saturating packs clamp to [-128, 127] like ggml's MIN(127, v); then element order again.
            const __m256i packed = _mm256_permutevar8x32_epi32(
                _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3)), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(q + g), packed);
        }
        for (int g = 0; g < 16; g++) {
            // Σ of 16 int8 through vpsadbw on the values offset to unsigned.
            const __m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(q + 16 * g)), _mm_set1_epi8((char)0x80));
            const __m128i s = _mm_sad_epu8(v, _mm_setzero_si128());
            sums[g] = (int16_t)(_mm_cvtsi128_si32(s) + _mm_extract_epi16(s, 4) - 16 * 128);
        }
#else
        for (int j = 0; j < 256; j++) {
            const float v = nearbyintf(iscale * x[j]);
            q[j] = (int8_t)(v > 127.f ? 127 : v < -128.f ? -128 : (int)v);
        }
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += q[16 * g + j];
            sums[g] = (int16_t)sum;
        }
#endif
        memcpy(out + 260, sums, 32);
        const float d = 1 / iscale;
        memcpy(out, &d, 4);
    }
}

// ---- Q5_1 (x Q8_1) and Q5_0 (x Q8_0) ----

#if CK_AVX2
// (d_w * d_x, m_w * s_x) from the two adjacent halves (d, m) of a weight block and (d, s) of a Q8_1 block.
static inline __m128 scale_and_min(const uint8_t *w, const uint8_t *x) {
    int32_t a, b;
    memcpy(&a, w, 4);
    memcpy(&b, x, 4);
    return _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(a)), _mm_cvtph_ps(_mm_cvtsi32_si128(b)));
}
#endif

#if !CK_AVX2
static inline int code5(const uint8_t *bits_and_nibbles, int j) {
    uint32_t h;
    memcpy(&h, bits_and_nibbles, 4);
    const uint8_t byte = bits_and_nibbles[4 + (j & 15)];
    return (j < 16 ? byte & 0x0f : byte >> 4) | (int)(((h >> j) & 1) << 4);
}
#endif

// `offsets` holds, per block, 16 x the sum of each lane's four activations (8 int32): the same for every
// row. Taken off lane by lane, the lanes hold (q - 16) · x as ggml's kernel has them, so the float sums match.
static float dot_q5_0(const uint8_t *w, const uint8_t *x, size_t blocks, const int32_t *offsets) {
#if CK_AVX2
    __m256 acc = _mm256_setzero_ps();
    for (size_t i = 0; i < blocks; i++, w += 22, x += 34) {
        const __m256 d = ck_scale_product(w, x);
        const __m256i codes = _mm256_or_si256(nibbles32(w + 6), fifth_bits(w + 2));
        // (q - 16) · x = q · x - 16 Σx: the offset comes off one lane.
        const __m256i p = _mm256_sub_epi32(udot_i32(codes, _mm256_loadu_si256((const __m256i *)(x + 2))),
                                           _mm256_loadu_si256((const __m256i *)(offsets + 8 * i)));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    return ck_hsum(acc);
#else
    float sum = 0;
    for (size_t i = 0; i < blocks; i++, w += 22, x += 34) {
        int s = 0;
        for (int j = 0; j < 8; j++) s -= offsets[8 * i + j];
        for (int j = 0; j < 32; j++) s += code5(w + 2, j) * (int8_t)x[2 + j];
        sum += (float)s * ck_half_to_float(w) * ck_half_to_float(x);
    }
    return sum;
#endif
}

static float dot_q5_1(const uint8_t *w, const uint8_t *x, size_t blocks) {
#if CK_AVX2
    __m256 acc = _mm256_setzero_ps();
    __m128 mins = _mm_setzero_ps();
    for (size_t i = 0; i < blocks; i++, w += 24, x += 36) {
        const __m128 dm = scale_and_min(w, x);
        mins = _mm_add_ps(mins, dm);
        const __m256i codes = _mm256_or_si256(nibbles32(w + 8), fifth_bits(w + 4));
        const __m256i p = udot_i32(codes, _mm256_loadu_si256((const __m256i *)(x + 4)));
        acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(dm), _mm256_cvtepi32_ps(p), acc);
    }
    return ck_hsum(acc) + _mm_cvtss_f32(_mm_movehdup_ps(mins));
#else
    float sum = 0, mins = 0;
    for (size_t i = 0; i < blocks; i++, w += 24, x += 36) {
        int s = 0;
        for (int j = 0; j < 32; j++) s += code5(w + 4, j) * (int8_t)x[4 + j];
        sum += (float)s * ck_half_to_float(w) * ck_half_to_float(x);
        mins += ck_half_to_float(w + 2) * ck_half_to_float(x + 2);
    }
    return sum + mins;
#endif
}

#if CK_HAVE_VNNI_CODE
// AVX-512 (VL, BW, VNNI) forms of the Q5 products, chosen at run time: a mask move turns the 32 fifth bits
// into bytes in one instruction (five with AVX2), and vpdpbusd does vpmaddubsw + vpmaddwd in one.
CK_VNNI_TARGET static inline __m256i fifth_bits_512(const uint8_t *p) {
    uint32_t bits;
    memcpy(&bits, p, 4);
    return _mm256_maskz_mov_epi8((__mmask32)bits, _mm256_set1_epi8(0x10));
}

CK_VNNI_TARGET static inline __m256i nibbles32_512(const uint8_t *q) {
    const __m128i packed = _mm_loadu_si128((const __m128i *)q);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0f));
}

CK_VNNI_TARGET static float dot_q5_0_vnni(const uint8_t *w, const uint8_t *x, size_t blocks, const int32_t *offsets) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t i = 0; i < blocks; i++, w += 22, x += 34) {
        const __m256 d = ck_scale_product(w, x);
        const __m256i codes = _mm256_or_si256(nibbles32_512(w + 6), fifth_bits_512(w + 2));
        const __m256i p = _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), codes, _mm256_loadu_si256((const __m256i *)(x + 2))),
                                           _mm256_loadu_si256((const __m256i *)(offsets + 8 * i)));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
    }
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

CK_VNNI_TARGET static float dot_q5_1_vnni(const uint8_t *w, const uint8_t *x, size_t blocks) {
    __m256 acc = _mm256_setzero_ps();
    __m128 mins = _mm_setzero_ps();
    for (size_t i = 0; i < blocks; i++, w += 24, x += 36) {
        int32_t a, b;
        memcpy(&a, w, 4);
        memcpy(&b, x, 4);
        const __m128 dm = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(a)), _mm_cvtph_ps(_mm_cvtsi32_si128(b)));
        mins = _mm_add_ps(mins, dm);
        const __m256i codes = _mm256_or_si256(nibbles32_512(w + 8), fifth_bits_512(w + 4));
        const __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), codes, _mm256_loadu_si256((const __m256i *)(x + 4)));
        acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(dm), _mm256_cvtepi32_ps(p), acc);
    }
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s))) + _mm_cvtss_f32(_mm_movehdup_ps(mins));
}
#endif


// ---- K-quants (x Q8_K: float d at 0, int8 q[256] at 4, int16 sums of 16 at 260) ----

// Σ over sub-blocks of min_k times the sum of sub-block k's 32 activations.
static inline int kquant_min_sum(const uint8_t *x, const int *mins) {
    int16_t sums[16];
    memcpy(sums, x + 260, 32);
    int total = 0;
    for (int k = 0; k < 8; k++) total += mins[k] * (sums[2 * k] + sums[2 * k + 1]);
    return total;
}

static float dot_q4_k(const uint8_t *w, const uint8_t *x, size_t blocks) {
    float total = 0;
#if CK_AVX2
    __m256 acc = _mm256_setzero_ps();
#endif
    for (size_t i = 0; i < blocks; i++, w += 144, x += 292) {
        float dx;
        memcpy(&dx, x, 4);
        int scales[8], mins[8];
        for (int k = 0; k < 8; k++) ck_kquant_scale_min(w + 4, k, &scales[k], &mins[k]);
        total -= dx * ck_half_to_float(w + 2) * (float)kquant_min_sum(x, mins);
        const uint8_t *q = w + 16;
        const int8_t *xs = (const int8_t *)(x + 4);
#if CK_AVX2
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i bytes = _mm256_loadu_si256((const __m256i *)(q + 32 * j));
            const __m256i lo = _mm256_and_si256(bytes, _mm256_set1_epi8(0x0f));
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), _mm256_set1_epi8(0x0f));
            const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(xs + 64 * j)));
            const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(xs + 64 * j + 32)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(plo, _mm256_set1_epi16((short)scales[2 * j])));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(phi, _mm256_set1_epi16((short)scales[2 * j + 1])));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dx * ck_half_to_float(w)), _mm256_cvtepi32_ps(sumi), acc);
#else
        int sumi = 0;
        for (int k = 0; k < 8; k++) {
            int s = 0;
            for (int l = 0; l < 32; l++) {
                const uint8_t byte = q[32 * (k / 2) + l];
                s += (k % 2 == 0 ? byte & 0x0f : byte >> 4) * xs[32 * k + l];
            }
            sumi += scales[k] * s;
        }
        total += dx * ck_half_to_float(w) * (float)sumi;
#endif
    }
#if CK_AVX2
    total += ck_hsum(acc);
#endif
    return total;
}

static float dot_q5_k(const uint8_t *w, const uint8_t *x, size_t blocks) {
    float total = 0;
#if CK_AVX2
    __m256 acc = _mm256_setzero_ps();
#endif
    for (size_t i = 0; i < blocks; i++, w += 176, x += 292) {
        float dx;
        memcpy(&dx, x, 4);
        int scales[8], mins[8];
        for (int k = 0; k < 8; k++) ck_kquant_scale_min(w + 4, k, &scales[k], &mins[k]);
        total -= dx * ck_half_to_float(w + 2) * (float)kquant_min_sum(x, mins);
        const uint8_t *qh = w + 16, *q = w + 48;
        const int8_t *xs = (const int8_t *)(x + 4);
#if CK_AVX2
        // Sub-blocks 2j and 2j + 1 take bits 2j and 2j + 1 of qh: shifted to bit 4 (16-bit shifts; the
        // bits that cross into the neighbouring byte are masked off), then qh moves on by two bits.
        __m256i high = _mm256_loadu_si256((const __m256i *)qh);
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            const __m256i bytes = _mm256_loadu_si256((const __m256i *)(q + 32 * j));
            const __m256i sixteen = _mm256_set1_epi8(0x10);
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(bytes, _mm256_set1_epi8(0x0f)),
                                               _mm256_and_si256(_mm256_slli_epi16(high, 4), sixteen));
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bytes, 4), _mm256_set1_epi8(0x0f)),
                                               _mm256_and_si256(_mm256_slli_epi16(high, 3), sixteen));
            high = _mm256_srli_epi16(high, 2);
            const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(xs + 64 * j)));
            const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(xs + 64 * j + 32)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(plo, _mm256_set1_epi16((short)scales[2 * j])));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(phi, _mm256_set1_epi16((short)scales[2 * j + 1])));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dx * ck_half_to_float(w)), _mm256_cvtepi32_ps(sumi), acc);
#else
        int sumi = 0;
        for (int k = 0; k < 8; k++) {
            int s = 0;
            for (int l = 0; l < 32; l++) {
                const uint8_t byte = q[32 * (k / 2) + l];
                const int code = (k % 2 == 0 ? byte & 0x0f : byte >> 4) | (((qh[l] >> k) & 1) << 4);
                s += code * xs[32 * k + l];
            }
            sumi += scales[k] * s;
        }
        total += dx * ck_half_to_float(w) * (float)sumi;
#endif
    }
#if CK_AVX2
    total += ck_hsum(acc);
#endif
    return total;
}

static float dot_q6_k(const uint8_t *w, const uint8_t *x, size_t blocks) {
    float total = 0;
#if CK_AVX2
    __m256 acc = _mm256_setzero_ps();
#endif
    for (size_t i = 0; i < blocks; i++, w += 210, x += 292) {
        float dx;
        memcpy(&dx, x, 4);
        const int8_t *scales = (const int8_t *)(w + 192);
        const int8_t *xs = (const int8_t *)(x + 4);
#if CK_AVX2
        // The codes are stored as q + 32: start from -32 x Σ (sub-block scale x its activation sum).
        const __m128i scales8 = _mm_loadu_si128((const __m128i *)scales);
        const __m256i sums = _mm256_loadu_si256((const __m256i *)(x + 260));
        // (in int32: 32 x a sum of 16 activations does not fit int16)
        __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(),
                                        _mm256_slli_epi32(_mm256_madd_epi16(_mm256_cvtepi8_epi16(scales8), sums), 5));
        for (int h = 0; h < 2; h++) {
            const uint8_t *lo = w + 64 * h, *hi = w + 128 + 32 * h;
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)lo), l1 = _mm256_loadu_si256((const __m256i *)(lo + 32));
            const __m256i top = _mm256_loadu_si256((const __m256i *)hi);
            const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x30);
            __m256i codes[4];
            codes[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(top, 4), m2));
            codes[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(top, 2), m2));
            codes[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(top, m2));
            codes[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(top, 2), m2));
            for (int i4 = 0; i4 < 4; i4++) {
                const int g = 8 * h + 2 * i4;  // the two 16-element sub-blocks of these 32 elements
                const __m256i p = _mm256_maddubs_epi16(codes[i4], _mm256_loadu_si256((const __m256i *)(xs + 128 * h + 32 * i4)));
                // Scales g (first 16 products) and g + 1 (last 16) as int16 lanes.
                const __m128i pick = _mm_setr_epi8((char)g, (char)g, (char)g, (char)g, (char)g, (char)g, (char)g, (char)g,
                                                   (char)(g + 1), (char)(g + 1), (char)(g + 1), (char)(g + 1),
                                                   (char)(g + 1), (char)(g + 1), (char)(g + 1), (char)(g + 1));
                const __m256i sc = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales8, pick));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, sc));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dx * ck_half_to_float(w + 208)), _mm256_cvtepi32_ps(sumi), acc);
#else
        int16_t sums[16];
        memcpy(sums, x + 260, 32);
        int offset = 0;
        for (int g = 0; g < 16; g++) offset += scales[g] * sums[g];
        int sumi = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *lo = w + 64 * h, *hi = w + 128 + 32 * h;
            for (int i4 = 0; i4 < 4; i4++) {
                for (int l = 0; l < 32; l++) {
                    const uint8_t byte = lo[l + 32 * (i4 % 2)];
                    const int code = (i4 < 2 ? byte & 0x0f : byte >> 4) | (((hi[l] >> (2 * i4)) & 3) << 4);
                    const int e = 128 * h + 32 * i4 + l;
                    sumi += scales[e / 16] * code * xs[e];
                }
            }
        }
        total += dx * ck_half_to_float(w + 208) * (float)(sumi - 32 * offset);
#endif
    }
#if CK_AVX2
    total += ck_hsum(acc);
#endif
    return total;
}

// ---- BF16 x f32 ----

static float dot_bf16(const uint8_t *w, const float *x, size_t count) {
    size_t i = 0;
    float sum = 0;
#if CK_AVX2
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
#define CK_BF16x8(off) _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(w + 2 * (off)))), 16))
    for (; i + 32 <= count; i += 32) {
        a0 = _mm256_fmadd_ps(CK_BF16x8(i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(CK_BF16x8(i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(CK_BF16x8(i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(CK_BF16x8(i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= count; i += 8) a0 = _mm256_fmadd_ps(CK_BF16x8(i), _mm256_loadu_ps(x + i), a0);
#undef CK_BF16x8
    sum = ck_hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
#endif
    for (; i < count; i++) {
        uint16_t h;
        memcpy(&h, w + 2 * i, 2);
        const uint32_t bits = (uint32_t)h << 16;
        float v;
        memcpy(&v, &bits, 4);
        sum += v * x[i];
    }
    return sum;
}

#define CK_MATVEC(name, dot)                                                                          \
    void name(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x,       \
              size_t blocks, float *y) {                                                              \
        const uint8_t *base = (const uint8_t *)w;                                                     \
        for (size_t r = row_begin; r < row_end; r++) y[r] = dot(base + r * row_bytes, (const uint8_t *)x, blocks); \
    }

static void matvec_q5_1(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x,
                        size_t blocks, float *y, int vnni) {
    const uint8_t *base = (const uint8_t *)w;
    (void)vnni;
#if CK_HAVE_VNNI_CODE
    if (vnni) {
        for (size_t r = row_begin; r < row_end; r++) y[r] = dot_q5_1_vnni(base + r * row_bytes, (const uint8_t *)x, blocks);
        return;
    }
#endif
    for (size_t r = row_begin; r < row_end; r++) y[r] = dot_q5_1(base + r * row_bytes, (const uint8_t *)x, blocks);
}
CK_MATVEC(ck_matvec_q4_k, dot_q4_k)
CK_MATVEC(ck_matvec_q5_k, dot_q5_k)
CK_MATVEC(ck_matvec_q6_k, dot_q6_k)

static void matvec_q5_0(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x,
                        size_t blocks, float *y, int vnni) {
    const uint8_t *base = (const uint8_t *)w, *xb = (const uint8_t *)x;
    int32_t offsets[blocks > 0 ? 8 * blocks : 1];
    for (size_t i = 0; i < blocks; i++)
        for (int lane = 0; lane < 8; lane++) {
            int sum = 0;
            for (int j = 0; j < 4; j++) sum += (int8_t)xb[34 * i + 2 + 4 * lane + j];
            offsets[8 * i + lane] = 16 * sum;
        }
    (void)vnni;
#if CK_HAVE_VNNI_CODE
    if (vnni) {
        for (size_t r = row_begin; r < row_end; r++) y[r] = dot_q5_0_vnni(base + r * row_bytes, xb, blocks, offsets);
        return;
    }
#endif
    for (size_t r = row_begin; r < row_end; r++) y[r] = dot_q5_0(base + r * row_bytes, xb, blocks, offsets);
}

void ck_matvec_q5_0(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y) {
    matvec_q5_0(w, row_bytes, row_begin, row_end, x, blocks, y, ck_vnni_enabled());
}

void ck_matvec_q5_1(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y) {
    matvec_q5_1(w, row_bytes, row_begin, row_end, x, blocks, y, ck_vnni_enabled());
}

void ck_matvec_q5_0_avx2(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y) {
    matvec_q5_0(w, row_bytes, row_begin, row_end, x, blocks, y, 0);
}

void ck_matvec_q5_1_avx2(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y) {
    matvec_q5_1(w, row_bytes, row_begin, row_end, x, blocks, y, 0);
}

void ck_matvec_bf16(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const float *x,
                    size_t count, float *y) {
    const uint8_t *base = (const uint8_t *)w;
    for (size_t r = row_begin; r < row_end; r++) y[r] = dot_bf16(base + r * row_bytes, x, count);
}
