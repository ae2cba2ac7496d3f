// Attention of one or a few query rows over the KV cache (generation and speculative verification).
// The cache holds keys and values as IEEE half floats (as llama.cpp's does by default): half the memory
// and half the bytes each attention reads; queries, scores and sums stay in float.
//
// Every (query, position) score is one dot product computed in a fixed order, and every output lane
// sums its positions in order, whatever else is processed in the same call: a query gets the same
// bits alone or together with the other heads of its group and the other drafted rows. That is what
// lets a verification pass reproduce single-token generation exactly while reading each cached key
// and value once per group of queries instead of once per head and row.
#include "ckernels.h"
#include "ck_internal.h"

static inline float half_at(const uint16_t *p) { return ck_half_to_float((const uint8_t *)p); }

#if CK_AVX2
static inline __m256 load_half8(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
#endif

// The dot product every score uses: 8 lanes over the first head_dim & ~7 elements, a fixed horizontal
// sum, then the rest in order.
static inline float dot_fixed(const float *a, const uint16_t *b, size_t n) {
    size_t d = 0;
    float sum;
#if CK_AVX2
    __m256 acc = _mm256_setzero_ps();
    for (; d + 8 <= n; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + d), load_half8(b + d), acc);
    sum = hsum8(acc);
#else
    float lanes[8] = {0};
    for (; d + 8 <= n; d += 8)
        for (int l = 0; l < 8; l++) lanes[l] = fmaf(a[d + l], half_at(b + d + l), lanes[l]);
    sum = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
#endif
    for (; d < n; d++) sum = fmaf(a[d], half_at(b + d), sum);
    return sum;
}

#if CK_HAVE_VNNI_CODE
// The AVX-512 form: two positions per 512-bit vector (lanes 0..7 position p, 8..15 position p + 1, each
// lane the same chain of fmas as dot_fixed's), eight positions and m queries (at most six, a constant in
// each inlined copy, so the 4m accumulators stay in registers) at a time: each key is converted from half
// once for every query, and there are twelve or more independent accumulators. The eight positions' sums
// are then formed together, shuffles and adds across the four accumulators that make, lane for lane, the
// additions hsum8 makes one position at a time: ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)), the same bits.
CK_VNNI_TARGET static inline __attribute__((always_inline)) void scores8_wide(const float *const *qs, float *const *outs, const uint16_t *kp,
                                                                               size_t k_stride, size_t p, size_t head_dim, float scale,
                                                                               const size_t m) {
    __m512 acc[6][4];
    for (size_t j = 0; j < m; j++)
        for (int t = 0; t < 4; t++) acc[j][t] = _mm512_setzero_ps();
    for (size_t d = 0; d < head_dim; d += 8) {
        __m512 keys[4];
        for (int t = 0; t < 4; t++) {
            const __m128i a = _mm_loadu_si128((const __m128i *)(kp + (2 * t) * k_stride + d));
            const __m128i b = _mm_loadu_si128((const __m128i *)(kp + (2 * t + 1) * k_stride + d));
            keys[t] = _mm512_cvtph_ps(_mm256_set_m128i(b, a));
        }
#pragma clang loop unroll(full)
        for (size_t j = 0; j < m; j++) {
            const __m512 x = _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(_mm256_loadu_ps(qs[j] + d))));
            for (int t = 0; t < 4; t++) acc[j][t] = _mm512_fmadd_ps(x, keys[t], acc[j][t]);
        }
    }
    // Output lane k of `order` is position k's score (the sums below leave position i in 128-bit lane i % 4,
    // element i / 4).
    const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
    const __m512 scales = _mm512_set1_ps(scale);
    for (size_t j = 0; j < m; j++) {
        // Step 1, per position: its lanes 0..3 plus its lanes 4..7 (128-bit quarter i: position i, or 4 + i).
        const __m512 low01 = _mm512_shuffle_f32x4(acc[j][0], acc[j][1], _MM_SHUFFLE(2, 0, 2, 0));
        const __m512 high01 = _mm512_shuffle_f32x4(acc[j][0], acc[j][1], _MM_SHUFFLE(3, 1, 3, 1));
        const __m512 low23 = _mm512_shuffle_f32x4(acc[j][2], acc[j][3], _MM_SHUFFLE(2, 0, 2, 0));
        const __m512 high23 = _mm512_shuffle_f32x4(acc[j][2], acc[j][3], _MM_SHUFFLE(3, 1, 3, 1));
        const __m512 s01 = _mm512_add_ps(low01, high01), s23 = _mm512_add_ps(low23, high23);
        // Step 2: (s0 + s2, s1 + s3) of positions i and 4 + i side by side in quarter i.
        const __m512 u = _mm512_add_ps(_mm512_shuffle_ps(s01, s23, _MM_SHUFFLE(1, 0, 1, 0)),
                                       _mm512_shuffle_ps(s01, s23, _MM_SHUFFLE(3, 2, 3, 2)));
        // Step 3: u0 + u1: position i in element 0 of quarter i, position 4 + i in element 1.
        const __m512 f = _mm512_add_ps(_mm512_shuffle_ps(u, u, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_ps(u, u, _MM_SHUFFLE(3, 1, 3, 1)));
        const __m512 scores = _mm512_mul_ps(_mm512_permutexvar_ps(order, f), scales);
        _mm256_storeu_ps(outs[j] + p, _mm512_castps512_ps256(scores));
    }
}

// Returns the positions done, a multiple of eight.
CK_VNNI_TARGET static size_t scores_wide(const float *const *qs, float *const *outs, size_t queries, const uint16_t *k, size_t k_stride,
                                         size_t positions, size_t head_dim, float scale) {
    size_t p = 0;
    for (; p + 8 <= positions; p += 8) {
        const uint16_t *kp = k + p * k_stride;
        for (size_t j0 = 0; j0 < queries; j0 += 6) {
            const size_t m = queries - j0 < 6 ? queries - j0 : 6;
            CK_ROWS_UP_TO_6(m, scores8_wide, qs + j0, outs + j0, kp, k_stride, p, head_dim, scale);
        }
    }
    return p;
}
#endif

static void attention_scores(const float *const *qs, float *const *outs, size_t queries, const uint16_t *k, size_t k_stride,
                             size_t positions, size_t head_dim, float scale, int wide) {
    size_t p = 0;
    (void)wide;
#if CK_HAVE_VNNI_CODE
    if (wide && head_dim % 8 == 0 && head_dim <= 128) p = scores_wide(qs, outs, queries, k, k_stride, positions, head_dim, scale);
#endif
#if CK_AVX2
    if (head_dim % 8 == 0 && head_dim <= 128) {
        // Four positions at a time: four independent accumulators per query hide the FMA latency;
        // each still sums its own position exactly as dot_fixed does.
        for (; p + 4 <= positions; p += 4) {
            const uint16_t *k0 = k + p * k_stride, *k1 = k0 + k_stride, *k2 = k1 + k_stride, *k3 = k2 + k_stride;
            for (size_t j = 0; j < queries; j++) {
                const float *qj = qs[j];
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                for (size_t d = 0; d < head_dim; d += 8) {
                    const __m256 x = _mm256_loadu_ps(qj + d);
                    a0 = _mm256_fmadd_ps(x, load_half8(k0 + d), a0);
                    a1 = _mm256_fmadd_ps(x, load_half8(k1 + d), a1);
                    a2 = _mm256_fmadd_ps(x, load_half8(k2 + d), a2);
                    a3 = _mm256_fmadd_ps(x, load_half8(k3 + d), a3);
                }
                float *out = outs[j] + p;
                out[0] = hsum8(a0) * scale;
                out[1] = hsum8(a1) * scale;
                out[2] = hsum8(a2) * scale;
                out[3] = hsum8(a3) * scale;
            }
        }
    }
#endif
    for (; p < positions; p++)
        for (size_t j = 0; j < queries; j++) outs[j][p] = dot_fixed(qs[j], k + p * k_stride, head_dim) * scale;
}

// The strided form's query and score pointers.
static void strided_scores(const float *q, size_t queries, size_t q_stride, const uint16_t *k, size_t k_stride, size_t positions,
                           size_t head_dim, float scale, float *scores, size_t scores_stride, int wide) {
    const float *qs[queries > 0 ? queries : 1];
    float *outs[queries > 0 ? queries : 1];
    for (size_t j = 0; j < queries; j++) { qs[j] = q + j * q_stride; outs[j] = scores + j * scores_stride; }
    attention_scores(qs, outs, queries, k, k_stride, positions, head_dim, scale, wide);
}

void ck_attention_scores(const float *q, size_t queries, size_t q_stride, const uint16_t *k, size_t k_stride,
                         size_t positions, size_t head_dim, float scale, float *scores, size_t scores_stride) {
    strided_scores(q, queries, q_stride, k, k_stride, positions, head_dim, scale, scores, scores_stride, ck_vnni_enabled());
}

void ck_attention_scores_avx2(const float *q, size_t queries, size_t q_stride, const uint16_t *k, size_t k_stride,
                              size_t positions, size_t head_dim, float scale, float *scores, size_t scores_stride) {
    strided_scores(q, queries, q_stride, k, k_stride, positions, head_dim, scale, scores, scores_stride, 0);
}

void ck_attention_scores_gathered(const float *const *queries, float *const *scores, size_t count, const uint16_t *k,
                                  size_t k_stride, size_t positions, size_t head_dim, float scale) {
    attention_scores(queries, scores, count, k, k_stride, positions, head_dim, scale, ck_vnni_enabled());
}

// Positions per tile of values: a tile (at most 64 x 64 floats) stays in L1 while every query of the
// call takes its share; each output lane is carried from tile to tile through `out`, so it still sums
// its positions in order.
#define CK_VALUE_TILE 64

#if CK_HAVE_VNNI_CODE
// The AVX-512 form for up to eight queries with the same positions in this tile and 32 output lanes: each
// value row is converted from half once for all of them, and their accumulators are independent. Every lane
// is the same chain of fmas over the positions as in the AVX2 form. m is a constant in each inlined copy
// (CK_ROWS_UP_TO_8), so the accumulators stay in registers: with m known only at run time the compiler kept
// them on the stack, a store and a reload around every fma.
CK_VNNI_TARGET static inline __attribute__((always_inline)) void values_wide_m(const float *const *weights, float *const *outs,
                                                                                const uint16_t *v, size_t v_stride, size_t d,
                                                                                size_t tile, size_t end, const size_t m) {
    __m512 acc[8][2];
    const float *w[8];
    for (size_t j = 0; j < m; j++) {
        acc[j][0] = _mm512_loadu_ps(outs[j] + d);
        acc[j][1] = _mm512_loadu_ps(outs[j] + d + 16);
        w[j] = weights[j];
    }
    for (size_t p = tile; p < end; p++) {
        const uint16_t *row = v + p * v_stride + d;
        const __m512 v0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)row));
        const __m512 v1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + 16)));
#pragma clang loop unroll(full)
        for (size_t j = 0; j < m; j++) {
            const __m512 x = _mm512_set1_ps(w[j][p]);
            acc[j][0] = _mm512_fmadd_ps(x, v0, acc[j][0]);
            acc[j][1] = _mm512_fmadd_ps(x, v1, acc[j][1]);
        }
    }
    for (size_t j = 0; j < m; j++) {
        _mm512_storeu_ps(outs[j] + d, acc[j][0]);
        _mm512_storeu_ps(outs[j] + d + 16, acc[j][1]);
    }
}

CK_VNNI_TARGET static void values_wide(const float *const *weights, float *const *outs, size_t m, const uint16_t *v,
                                       size_t v_stride, size_t d, size_t tile, size_t end) {
    CK_ROWS_UP_TO_8(m, values_wide_m, weights, outs, v, v_stride, d, tile, end);
}
#endif

static void attention_values(const float *const *weights, const size_t *lengths, float *const *outs, size_t queries,
                             const uint16_t *v, size_t v_stride, size_t dim_begin, size_t dim_end, int wide) {
    (void)wide;
    size_t longest = 0;
    for (size_t j = 0; j < queries; j++) {
        if (lengths[j] > longest) longest = lengths[j];
        for (size_t d = dim_begin; d < dim_end; d++) outs[j][d] = 0;
    }
    for (size_t tile = 0; tile < longest; tile += CK_VALUE_TILE) {
        for (size_t j = 0; j < queries; j++) {
            const size_t end = lengths[j] < tile + CK_VALUE_TILE ? lengths[j] : tile + CK_VALUE_TILE;
            if (end <= tile) continue;
            const float *w = weights[j];
            float *out = outs[j];
            size_t d = dim_begin;
#if CK_HAVE_VNNI_CODE
            if (wide) {
                // This query and the next ones (up to eight) that end at the same position in this tile.
                size_t m = 1;
                while (m < 8 && j + m < queries) {
                    const size_t other = lengths[j + m] < tile + CK_VALUE_TILE ? lengths[j + m] : tile + CK_VALUE_TILE;
                    if (other != end) break;
                    m++;
                }
                for (; d + 32 <= dim_end; d += 32) values_wide(weights + j, outs + j, m, v, v_stride, d, tile, end);
                if (m > 1) {
                    // The other queries' lanes past the last 32 (head_dim not a multiple of 32), lane by lane
                    // here; this query's go on below.
                    if (d < dim_end) {
                        for (size_t o = 1; o < m; o++) {
                            const float *wo = weights[j + o];
                            float *oo = outs[j + o];
                            for (size_t e = d; e < dim_end; e++) {
                                float a = oo[e];
                                for (size_t p = tile; p < end; p++) a = fmaf(wo[p], half_at(v + p * v_stride + e), a);
                                oo[e] = a;
                            }
                        }
                    }
                    j += m - 1;
                }
            }
#endif
#if CK_AVX2
            for (; d + 32 <= dim_end; d += 32) {
                __m256 a0 = _mm256_loadu_ps(out + d), a1 = _mm256_loadu_ps(out + d + 8);
                __m256 a2 = _mm256_loadu_ps(out + d + 16), a3 = _mm256_loadu_ps(out + d + 24);
                for (size_t p = tile; p < end; p++) {
                    const __m256 x = _mm256_broadcast_ss(w + p);
                    const uint16_t *row = v + p * v_stride + d;
                    a0 = _mm256_fmadd_ps(x, load_half8(row), a0);
                    a1 = _mm256_fmadd_ps(x, load_half8(row + 8), a1);
                    a2 = _mm256_fmadd_ps(x, load_half8(row + 16), a2);
                    a3 = _mm256_fmadd_ps(x, load_half8(row + 24), a3);
                }
                _mm256_storeu_ps(out + d, a0);
                _mm256_storeu_ps(out + d + 8, a1);
                _mm256_storeu_ps(out + d + 16, a2);
                _mm256_storeu_ps(out + d + 24, a3);
            }
            for (; d + 8 <= dim_end; d += 8) {
                __m256 a = _mm256_loadu_ps(out + d);
                for (size_t p = tile; p < end; p++)
                    a = _mm256_fmadd_ps(_mm256_broadcast_ss(w + p), load_half8(v + p * v_stride + d), a);
                _mm256_storeu_ps(out + d, a);
            }
#endif
            for (; d < dim_end; d++) {
                float a = out[d];
                for (size_t p = tile; p < end; p++) a = fmaf(w[p], half_at(v + p * v_stride + d), a);
                out[d] = a;
            }
        }
    }
}

void ck_attention_values(const float *const *weights, const size_t *lengths, float *const *outs, size_t queries,
                         const uint16_t *v, size_t v_stride, size_t dim_begin, size_t dim_end) {
    attention_values(weights, lengths, outs, queries, v, v_stride, dim_begin, dim_end, ck_vnni_enabled());
}

void ck_attention_values_avx2(const float *const *weights, const size_t *lengths, float *const *outs, size_t queries,
                              const uint16_t *v, size_t v_stride, size_t dim_begin, size_t dim_end) {
    attention_values(weights, lengths, outs, queries, v, v_stride, dim_begin, dim_end, 0);
}

void ck_floats_to_halves(const float *x, uint16_t *out, size_t n) {
    size_t i = 0;
#if CK_AVX2
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
#endif
    for (; i < n; i++) out[i] = ck_float_to_half(x[i]);
}

void ck_halves_to_floats(const uint16_t *x, float *out, size_t n) {
    size_t i = 0;
#if CK_AVX2
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, load_half8(x + i));
#endif
    for (; i < n; i++) out[i] = half_at(x + i);
}

// ---- Softmax of a score row (AVX-512) ----
//
// The attention rows' softmax, sixteen lanes at a time: the maximum, e^(x - max) by the polynomial of
// VectorExp.swift (Cephes' coefficients, Horner's rule with fmas here), the sum lane by lane then one fixed
// reduction, and a multiplication by its reciprocal. The arithmetic depends only on the row and its length,
// so a query gets the same weights alone or among drafted rows.
#if CK_HAVE_VNNI_CODE
CK_VNNI_TARGET static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // ln 2 in two parts, so that n times the first is exact.
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.98756915e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.39819995e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.33345190e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.16657959e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.66666655e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.00000012e-1f));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    const __m512i biased = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(biased, 23)));
}

CK_VNNI_TARGET static void softmax_wide(float *x, size_t count) {
    const size_t full = count & ~(size_t)15;
    const __mmask16 tail = (__mmask16)((1u << (count - full)) - 1);
    __m512 maxima = _mm512_set1_ps(-INFINITY);
    for (size_t i = 0; i < full; i += 16) maxima = _mm512_max_ps(maxima, _mm512_loadu_ps(x + i));
    if (tail) maxima = _mm512_max_ps(maxima, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), tail, x + full));
    const __m512 maximum = _mm512_set1_ps(_mm512_reduce_max_ps(maxima));
    __m512 sums = _mm512_setzero_ps();
    for (size_t i = 0; i < full; i += 16) {
        const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), maximum));
        _mm512_storeu_ps(x + i, e);
        sums = _mm512_add_ps(sums, e);
    }
    if (tail) {
        const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + full), maximum));
        _mm512_mask_storeu_ps(x + full, tail, e);
        sums = _mm512_add_ps(sums, _mm512_maskz_mov_ps(tail, e));
    }
    const __m512 inverse = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sums));
    for (size_t i = 0; i < full; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inverse));
    if (tail) _mm512_mask_storeu_ps(x + full, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, x + full), inverse));
}
#endif

int ck_softmax_wide(float *x, size_t count) {
#if CK_HAVE_VNNI_CODE
    if (count == 0 || !ck_vnni_enabled()) return 0;
    softmax_wide(x, count);
    return 1;
#else
    (void)x; (void)count;
    return 0;
#endif
}
