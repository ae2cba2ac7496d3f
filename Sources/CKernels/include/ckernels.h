// Quantized products with x86 intrinsics, the hot loops Swift's SIMD types cannot express: AVX2 dot
// products for single tokens (vpmaddubsw/vpmaddwd) and AVX-512 VNNI matrix products for prompt
// batches (vpdpbusd, chosen at run time by ck_has_vnni). Layouts are ggml's: Q8_0 = fp16 scale + 32
// int8, Q4_0 = fp16 scale + 16 bytes of nibbles (element j low, element j+16 high); the other types
// below. quantized_dot.c: Q8_0/Q4_0; matvec_quants.c: single tokens of Q4_1, Q5_0/1, K-quants, BF16;
// gemm_quants_vnni.c: their batches. Each type meets activations quantized as ggml's CPU backend does.
#ifndef UNDERSTUDY_CKERNELS_H
#define UNDERSTUDY_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// y[r] = dot(row r of w, x) for r in [row_begin, row_end); w rows are `row_bytes` apart, x has `blocks` Q8_0 blocks.
void ck_matvec_q8_0(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    const void *x, size_t blocks, float *y);

/// The same for Q4_0 weight rows. (Both use vpdpbusd forms where ck_has_vnni(): the same bits.)
void ck_matvec_q4_0(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    const void *x, size_t blocks, float *y);

/// ck_matvec_q8_0 / ck_matvec_q4_0 without their AVX-512 forms (what CPUs without AVX-512 VNNI run), for tests.
void ck_matvec_q8_0_avx2(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y);
void ck_matvec_q4_0_avx2(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y);

/// Quantizes `count` activations (a multiple of 32) to Q8_0 blocks the way ggml's CPU backend does for the
/// right-hand side of a matrix product: d = max|x| / 127, q = round-half-even(x * 127 / max|x|).
void ck_quantize_activations_q8_0(const float *x, void *dst, size_t count);

/// 1 when this CPU runs the AVX-512 VNNI batch kernels below (and they were compiled in), else 0.
int ck_has_vnni(void);

/// Per Q8_0 activation block: its scale as a float, and -offset * (sum of its 32 values), the start of
/// the integer dot products below (offset 8 for Q4_0 weights, 128 for Q8_0).
void ck_activation_terms(const void *xq, size_t block_count, int offset, float *scales, int32_t *starts);

/// Scratch bytes the batch kernels need per thread for eight repacked weight rows of `blocks` blocks
/// (32-byte aligned).
size_t ck_packed_rows_bytes(size_t blocks);

/// Y[c * ldy + r] = dot(weight row r, activation row c) for r in [row_begin, row_end) and c < n, where xq
/// holds n rows of `blocks` Q8_0 blocks and x_scales/x_starts their ck_activation_terms (offset 128).
/// Equal to ck_matvec_q8_0 on each row up to float summation order. Needs ck_has_vnni().
void ck_gemm_q8_0_vnni(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                       const void *xq, const float *x_scales, const int32_t *x_starts, size_t n, size_t blocks,
                       float *y, size_t ldy, void *pack);

/// The same for Q4_0 weight rows (terms computed with offset 8).
void ck_gemm_q4_0_vnni(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                       const void *xq, const float *x_scales, const int32_t *x_starts, size_t n, size_t blocks,
                       float *y, size_t ldy, void *pack);

// ---- The other ggml types (matvec_quants.c) ----
// Q4_1 = fp16 d, fp16 m, 16 bytes of nibbles; Q5_0 = fp16 d, 32 fifth bits, nibbles; Q5_1 = fp16 d, fp16 m,
// fifth bits, nibbles; Q4_K/Q5_K/Q6_K = ggml's 256-element super-blocks (see BlockDequantization.swift).
// Activations: Q8_1 = fp16 d, fp16 d * Σq, 32 int8 (for Q4_1, Q5_1); Q8_0 (for Q5_0); Q8_K = float d,
// 256 int8, 16 int16 sums of 16 (for the K-quants). `blocks` counts the weight row's blocks.

/// Quantizes `count` activations (a multiple of 32) to Q8_1: Q8_0's rounding, plus the half d * Σq.
void ck_quantize_activations_q8_1(const float *x, void *dst, size_t count);

/// Quantizes `count` activations (a multiple of 256) to Q8_K as ggml does: d = -m / 127 for the signed
/// element m of largest magnitude, q = min(127, round-half-even(x * -127 / m)), and the sum of each 16.
void ck_quantize_activations_q8_k(const float *x, void *dst, size_t count);

/// y[r] = dot(row r of w, x) for Q4_1 rows and Q8_1 activations. (Q4_1 and the Q5 kernels use AVX-512
/// VL/BW/VNNI forms where ck_has_vnni(): the same bits.)
void ck_matvec_q4_1(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y);
/// The same for Q5_0 rows and Q8_0 activations.
void ck_matvec_q5_0(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y);
/// The same for Q5_1 rows and Q8_1 activations.
void ck_matvec_q5_1(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y);
/// ck_matvec_q4_1 / q5_0 / q5_1 without their AVX-512 forms (what CPUs without AVX-512 VNNI run), for tests.
void ck_matvec_q4_1_avx2(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y);
void ck_matvec_q5_0_avx2(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y);
void ck_matvec_q5_1_avx2(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y);
/// The same for Q4_K rows and Q8_K activations (`blocks` super-blocks of 256).
void ck_matvec_q4_k(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y);
/// The same for Q5_K rows and Q8_K activations.
void ck_matvec_q5_k(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y);
/// The same for Q6_K rows and Q8_K activations.
void ck_matvec_q6_k(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t blocks, float *y);
/// y[r] = dot(row r of w, x) for BF16 rows of `count` elements and f32 x.
void ck_matvec_bf16(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const float *x, size_t count, float *y);

// ---- Batch products for those types (gemm_quants_vnni.c) ----

/// ggml's type ids, as ck_gemm_vnni takes them.
enum { CK_TYPE_Q4_1 = 3, CK_TYPE_Q5_0 = 6, CK_TYPE_Q5_1 = 7, CK_TYPE_Q4_K = 12, CK_TYPE_Q5_K = 13, CK_TYPE_Q6_K = 14 };
/// How ck_batch_activations rounds: Q8_0's CPU rounding per 32 (for Q5_0), the same with Q8_1's half sums
/// (for Q4_1, Q5_1), or Q8_K per 256 (for the K-quants): each as the single-token kernels quantize x.
enum { CK_ACTIVATIONS_Q8_0 = 0, CK_ACTIVATIONS_Q8_1 = 1, CK_ACTIVATIONS_Q8_K = 2 };

/// Quantizes n rows of `cols` activations (a multiple of 32, of 256 for Q8_K) for ck_gemm_vnni: the int8
/// values of all rows in order, and for each block of 32 (row-major) its scale, the sum of its values,
/// the sums of its two halves of 16, and the term its weights' mins are multiplied with (scale x sum,
/// rounded to half precision for Q8_1).
void ck_batch_activations(const float *x, size_t n, size_t cols, int kind, int8_t *q, float *scales,
                          int32_t *sums, int32_t *half_sums, float *min_terms);

/// Scratch bytes ck_gemm_vnni needs per thread for eight repacked weight rows of `blocks` blocks of 32.
size_t ck_gemm_pack_bytes(size_t blocks);

/// Y[c * ldy + r] = dot(weight row r, activation row c) for r in [row_begin, row_end) and c < n, for weight
/// rows of ggml type `type` (a CK_TYPE_*) holding `blocks` blocks of 32 elements, and activations from
/// ck_batch_activations. Equal to the matching ck_matvec_* on each row up to float summation order.
/// Needs ck_has_vnni(); `pack` is 32-byte aligned scratch of ck_gemm_pack_bytes(blocks).
void ck_gemm_vnni(int type, const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                  const int8_t *xq, const float *x_scales, const int32_t *x_sums, const int32_t *x_half_sums,
                  const float *x_min_terms, size_t n, size_t blocks, float *y, size_t ldy, void *pack);

/// 1 when the AVX2 paths were compiled in, 0 for the portable fallback.
int ck_has_avx2(void);

/// y[j * y_stride + r] = dot(row r of w, activation row j) for n activation rows x_stride bytes apart:
/// each row bit for bit what ck_matvec_q4_1 gives for it alone, each weight block decoded once for all
/// rows (speculative decoding's verification pass).
void ck_matvec_rows_q4_1(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t x_stride,
                         size_t n, size_t blocks, float *y, size_t y_stride);
/// Bytes of n Q8_1 activation rows of `blocks` blocks in the layout the Q4_1 kernels read.
size_t ck_q4_1_prepared_bytes(size_t n, size_t blocks);
/// Writes rows [row_begin, row_end) of n Q8_1 activation rows (x_stride bytes apart) in that layout (AVX2
/// builds; unused otherwise); separate ranges may be written by separate threads.
void ck_q4_1_prepare(const void *x, size_t x_stride, size_t n, size_t row_begin, size_t row_end, size_t blocks, void *prepared);
/// ck_matvec_rows_q4_1 from prepared rows: the same bits, the preparation done once for every row range
/// a thread pool splits the call into. Needs AVX2.
void ck_matvec_rows_q4_1_prepared(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *prepared,
                                  size_t n, size_t blocks, float *y, size_t y_stride);
/// Bytes of a Q4_1 matrix of `rows` rows packed sixteen rows at a time (ck_q4_1_pack).
size_t ck_q4_1_packed_bytes(size_t rows, size_t blocks);
/// Packs a Q4_1 matrix for ck_matvec_rows_q4_1_packed (rows padded to a multiple of 16 with zero rows).
void ck_q4_1_pack(const void *w, size_t row_bytes, size_t rows, size_t blocks, void *packed);
/// Bytes of n Q8_1 activation rows of `blocks` blocks in the block-major layout the packed kernel reads.
size_t ck_q4_1_interleaved_bytes(size_t n, size_t blocks);
/// Writes rows [row_begin, row_end) of n Q8_1 activation rows (x_stride bytes apart) in that layout.
void ck_q4_1_prepare_interleaved(const void *x, size_t x_stride, size_t n, size_t row_begin, size_t row_end, size_t blocks,
                                 void *prepared);
/// y[j * y_stride + r] for the rows r of groups [group_begin, group_end) (16 rows each; the last one may be
/// short) and n activation rows prepared by ck_q4_1_prepare_interleaved: every row's result the same bits whatever n. Needs ck_has_vnni().
void ck_matvec_rows_q4_1_packed(const void *packed, size_t rows, size_t group_begin, size_t group_end, const void *prepared,
                                size_t n, size_t blocks, float *y, size_t y_stride);
/// The same packing for Q8_0 (codes offset to unsigned, a group's scales after its blocks; 64-byte aligned
/// groups when `packed` is): ck_q8_0_pack, the activations from Q8_0 rows by ck_q8_0_prepare_interleaved,
/// ck_matvec_rows_q8_0_packed. Every row's result the same bits whatever n. Needs ck_has_vnni().
size_t ck_q8_0_packed_bytes(size_t rows, size_t blocks);
void ck_q8_0_pack(const void *w, size_t row_bytes, size_t rows, size_t blocks, void *packed);
size_t ck_q8_0_interleaved_bytes(size_t n, size_t blocks);
void ck_q8_0_prepare_interleaved(const void *x, size_t x_stride, size_t n, size_t row_begin, size_t row_end, size_t blocks,
                                 void *prepared);
void ck_matvec_rows_q8_0_packed(const void *packed, size_t rows, size_t group_begin, size_t group_end, const void *prepared,
                                size_t n, size_t blocks, float *y, size_t y_stride);
/// Softmax of x[0 ..< count] in place with AVX-512 (attention's score rows): returns 1, or 0 (x untouched)
/// where the CPU lacks it or count is 0, and the caller's own softmax runs.
int ck_softmax_wide(float *x, size_t count);
/// One row of a packed Q8_0 / Q4_1 matrix written back in ggml's block layout (for embedding lookups).
void ck_q8_0_unpack_row(const void *packed, size_t blocks, size_t row, void *out);
void ck_q4_1_unpack_row(const void *packed, size_t blocks, size_t row, void *out);
/// ck_matvec_rows_q4_1 without its AVX-512 form, for tests.
void ck_matvec_rows_q4_1_avx2(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t x_stride,
                              size_t n, size_t blocks, float *y, size_t y_stride);
/// The same for Q8_0 rows and Q8_0 activations, bit for bit ck_matvec_q8_0 per row.
void ck_matvec_rows_q8_0(const void *w, size_t row_bytes, size_t row_begin, size_t row_end, const void *x, size_t x_stride,
                         size_t n, size_t blocks, float *y, size_t y_stride);

// ---- Attention of a few query rows over the KV cache (attention.c) ----
// A query's results are the same bits whatever else one call processes with it. Keys and values are
// IEEE half floats (uint16_t bits).

// scores[j * scores_stride + p] = scale * (q_j · k_p) for queries j < queries (q_j = q + j * q_stride)
// and positions p < positions (k_p = k + p * k_stride), each a dot product of head_dim in a fixed order.
void ck_attention_scores(const float *q, size_t queries, size_t q_stride, const uint16_t *k, size_t k_stride,
                         size_t positions, size_t head_dim, float scale, float *scores, size_t scores_stride);
// outs[j][d] = Σ_{p < lengths[j]} weights[j][p] · v[p * v_stride + d] for queries j and lanes
// dim_begin <= d < dim_end, each lane summing its positions in order.
void ck_attention_values(const float *const *weights, const size_t *lengths, float *const *outs, size_t queries,
                         const uint16_t *v, size_t v_stride, size_t dim_begin, size_t dim_end);
/// scores[j][p] = scale * (queries[j] · k_p) for p < positions: ck_attention_scores for queries anywhere (the
/// heads of several rows in one call, each key converted once for all of them), the same bits per score.
void ck_attention_scores_gathered(const float *const *queries, float *const *scores, size_t count, const uint16_t *k,
                                  size_t k_stride, size_t positions, size_t head_dim, float scale);
/// ck_attention_scores / ck_attention_values without their AVX-512 forms (what CPUs without AVX-512 run), for
/// tests: the same bits.
void ck_attention_scores_avx2(const float *q, size_t queries, size_t q_stride, const uint16_t *k, size_t k_stride,
                              size_t positions, size_t head_dim, float scale, float *scores, size_t scores_stride);
void ck_attention_values_avx2(const float *const *weights, const size_t *lengths, float *const *outs, size_t queries,
                              const uint16_t *v, size_t v_stride, size_t dim_begin, size_t dim_end);
// Half-float conversions (round to nearest even), for writing and reading the cache.
void ck_floats_to_halves(const float *x, uint16_t *out, size_t n);
void ck_halves_to_floats(const uint16_t *x, float *out, size_t n);

#endif
