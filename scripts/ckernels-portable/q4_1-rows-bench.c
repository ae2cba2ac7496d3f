// Times the two Q4_1 kernels on one SmolLM2-shaped matrix (1,536 x 576) for 1..8 activation rows, one
// thread, weights in cache: the packed kernel (what AVX-512 VNNI machines run for every product) and the
// row-major one (AVX2 machines). Built and run by scripts/bench-q4_1-rows.sh.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ckernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    const size_t rows = 1536, cols = 576, blocks = cols / 32, row_bytes = blocks * 20;
    unsigned char *w = malloc(rows * row_bytes);
    srand(1);
    for (size_t i = 0; i < rows * row_bytes; i++) w[i] = (unsigned char)rand();
    for (size_t r = 0; r < rows; r++)
        for (size_t b = 0; b < blocks; b++) {
            const unsigned short scale = 0x2c00;  // 1/16: finite scales and mins
            memcpy(w + r * row_bytes + 20 * b, &scale, 2);
            memcpy(w + r * row_bytes + 20 * b + 2, &scale, 2);
        }
    void *packed = aligned_alloc(64, (ck_q4_1_packed_bytes(rows, blocks) + 63) / 64 * 64);
    ck_q4_1_pack(w, row_bytes, rows, blocks, packed);
    float *x = malloc(8 * cols * sizeof(float));
    for (size_t i = 0; i < 8 * cols; i++) x[i] = (float)(rand() % 1000) / 500.0f - 1;
    const size_t stride = (36 * blocks + 63) & ~(size_t)63;
    unsigned char *xq = malloc(8 * stride);
    for (int j = 0; j < 8; j++) ck_quantize_activations_q8_1(x + j * cols, xq + j * stride, cols);
    float *y = malloc(8 * rows * sizeof(float));
    int vnni = ck_has_vnni();
    printf("Q4_1 %zux%zu, one thread, best of 200 (packed kernel %s)\n", rows, cols, vnni ? "runs here" : "needs AVX-512 VNNI: skipped");
    for (size_t n = 1; n <= 8; n++) {
        void *interleaved = malloc(ck_q4_1_interleaved_bytes(n, blocks));
        ck_q4_1_prepare_interleaved(xq, stride, n, 0, n, blocks, interleaved);
        double packed_best = 0, rows_best = 1e9;
        if (vnni) {
            packed_best = 1e9;
            for (int rep = 0; rep < 200; rep++) {
                double t = now();
                ck_matvec_rows_q4_1_packed(packed, rows, 0, (rows + 15) / 16, interleaved, n, blocks, y, rows);
                t = now() - t;
                if (t < packed_best) packed_best = t;
            }
        }
        for (int rep = 0; rep < 200; rep++) {
            double t = now();
            ck_matvec_rows_q4_1(w, row_bytes, 0, rows, xq, stride, n, blocks, y, rows);
            t = now() - t;
            if (t < rows_best) rows_best = t;
        }
        const double macs = (double)n * rows * cols;
        if (vnni) printf("rows %zu: packed %7.1f us (%6.1f GMAC/s)   row-major %7.1f us (%6.1f GMAC/s)\n", n,
                         packed_best * 1e6, macs / packed_best / 1e9, rows_best * 1e6, macs / rows_best / 1e9);
        else printf("rows %zu: row-major %7.1f us (%6.1f GMAC/s)\n", n, rows_best * 1e6, macs / rows_best / 1e9);
        free(interleaved);
    }
    return 0;
}
