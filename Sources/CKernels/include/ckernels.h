// Quantized dot products with AVX2 intrinsics: the one hot loop Swift's SIMD types cannot express
// (vpmaddubsw/vpmaddwd). Layouts are ggml's: Q8_0 = fp16 scale + 32 int8, Q4_0 = fp16 scale + 16 bytes
// of nibbles (element j low, element j+16 high). Activations are Q8_0.
#ifndef UNDERSTUDY_CKERNELS_H
#define UNDERSTUDY_CKERNELS_H

#include <stddef.h>

/// y[r] = dot(row r of w, x) for r in [row_begin, row_end); w rows are `row_bytes` apart, x has `blocks` Q8_0 blocks.
void ck_matvec_q8_0(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    const void *x, size_t blocks, float *y);

/// The same for Q4_0 weight rows.
void ck_matvec_q4_0(const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    const void *x, size_t blocks, float *y);

/// Quantizes `count` activations (a multiple of 32) to Q8_0 blocks the way ggml's CPU backend does for the
/// right-hand side of a matrix product: d = max|x| / 127, q = round-half-even(x * 127 / max|x|).
void ck_quantize_activations_q8_0(const float *x, void *dst, size_t count);

/// 1 when the AVX2 paths were compiled in, 0 for the portable fallback.
int ck_has_avx2(void);

#endif
