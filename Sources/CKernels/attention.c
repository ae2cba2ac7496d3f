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

void ck_attention_scores(const float *q, size_t queries, size_t q_stride, const uint16_t *k, size_t k_stride,
                         size_t positions, size_t head_dim, float scale, float *scores, size_t scores_stride) {
    size_t p = 0;
#if CK_AVX2
    if (head_dim % 8 == 0 && head_dim <= 128) {
        // Four positions at a time: four independent accumulators per query hide the FMA latency;
        // each still sums its own position exactly as dot_fixed does.
        for (; p + 4 <= positions; p += 4) {
            const uint16_t *k0 = k + p * k_stride, *k1 = k0 + k_stride, *k2 = k1 + k_stride, *k3 = k2 + k_stride;
            for (size_t j = 0; j < queries; j++) {
                const float *qj = q + j * q_stride;
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                for (size_t d = 0; d < head_dim; d += 8) {
                    const __m256 x = _mm256_loadu_ps(qj + d);
                    a0 = _mm256_fmadd_ps(x, load_half8(k0 + d), a0);
                    a1 = _mm256_fmadd_ps(x, load_half8(k1 + d), a1);
                    a2 = _mm256_fmadd_ps(x, load_half8(k2 + d), a2);
                    a3 = _mm256_fmadd_ps(x, load_half8(k3 + d), a3);
                }
                float *out = scores + j * scores_stride + p;
                out[0] = hsum8(a0) * scale;
                out[1] = hsum8(a1) * scale;
                out[2] = hsum8(a2) * scale;
                out[3] = hsum8(a3) * scale;
            }
        }
    }
#endif
    for (; p < positions; p++)
        for (size_t j = 0; j < queries; j++)
            scores[j * scores_stride + p] = dot_fixed(q + j * q_stride, k + p * k_stride, head_dim) * scale;
}

// Positions per tile of values: a tile (at most 64 x 64 floats) stays in L1 while every query of the
// call takes its share; each output lane is carried from tile to tile through `out`, so it still sums
// its positions in order.
#define CK_VALUE_TILE 64

void ck_attention_values(const float *const *weights, const size_t *lengths, float *const *outs, size_t queries,
                         const uint16_t *v, size_t v_stride, size_t dim_begin, size_t dim_end) {
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
