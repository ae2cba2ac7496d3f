// Prints every C kernel's results on fixed pseudo-random data, so that an AVX2 build and a portable
// (scalar) build of Sources/CKernels can be compared: see scripts/check-portable-ckernels.sh.
#include "ckernels.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 42;
static uint32_t next(void) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(state >> 33);
}

typedef void (*matvec_fn)(const void *, size_t, size_t, size_t, const void *, size_t, float *);

int main(void) {
    enum { ROWS = 19, COLS = 768 };
    static float x[COLS], y[ROWS];
    static uint8_t w[ROWS * COLS * 2], xq[COLS * 2];
    for (int i = 0; i < COLS; i++) x[i] = (float)((int)(next() % 2001) - 1000) / 300.0f;
    const struct { const char *name; matvec_fn f; int block_bytes, block_size, activation, halves[2], half_count; } types[] = {
        {"q8_0", ck_matvec_q8_0, 34, 32, 0, {0, 0}, 1}, {"q4_0", ck_matvec_q4_0, 18, 32, 0, {0, 0}, 1},
        {"q4_1", ck_matvec_q4_1, 20, 32, 1, {0, 2}, 2}, {"q5_0", ck_matvec_q5_0, 22, 32, 0, {0, 0}, 1},
        {"q5_1", ck_matvec_q5_1, 24, 32, 1, {0, 2}, 2}, {"q4_k", ck_matvec_q4_k, 144, 256, 2, {0, 2}, 2},
        {"q5_k", ck_matvec_q5_k, 176, 256, 2, {0, 2}, 2}, {"q6_k", ck_matvec_q6_k, 210, 256, 2, {208, 0}, 1},
    };
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        const size_t blocks = COLS / types[t].block_size, row_bytes = blocks * types[t].block_bytes;
        for (size_t i = 0; i < ROWS * row_bytes; i++) w[i] = (uint8_t)next();
        for (size_t b = 0; b < ROWS * blocks; b++)
            for (int h = 0; h < types[t].half_count; h++) {
                const uint16_t half = (uint16_t)(0x1000 + next() % 0x0c00) | (next() % 2 ? 0x8000 : 0);  // small, both signs
                memcpy(w + b * types[t].block_bytes + types[t].halves[h], &half, 2);
            }
        size_t activation_bytes;
        if (types[t].activation == 0) { ck_quantize_activations_q8_0(x, xq, COLS); activation_bytes = COLS / 32 * 34; }
        else if (types[t].activation == 1) { ck_quantize_activations_q8_1(x, xq, COLS); activation_bytes = COLS / 32 * 36; }
        else { ck_quantize_activations_q8_k(x, xq, COLS); activation_bytes = COLS / 256 * 292; }
        uint32_t hash = 2166136261u;
        for (size_t i = 0; i < activation_bytes; i++) hash = (hash ^ xq[i]) * 16777619u;
        printf("%s activations %08x\n", types[t].name, hash);
        types[t].f(w, row_bytes, 0, ROWS, xq, blocks, y);
        for (int r = 0; r < ROWS; r++) printf("%s %d %.9g\n", types[t].name, r, y[r]);
    }
    for (size_t i = 0; i < ROWS * COLS * 2; i++) w[i] = (uint8_t)next();
    for (size_t i = 0; i < ROWS * COLS; i++) w[2 * i + 1] = (uint8_t)(0x3c + next() % 8);  // finite bf16
    ck_matvec_bf16(w, COLS * 2, 0, ROWS, x, COLS - 5, y);
    for (int r = 0; r < ROWS; r++) {
        double magnitude = 0;  // float sums in another order differ relative to Σ|w x|, not to the result
        for (int c = 0; c < COLS - 5; c++) {
            const uint32_t bits = (uint32_t)(w[r * COLS * 2 + 2 * c] | w[r * COLS * 2 + 2 * c + 1] << 8) << 16;
            float v;
            memcpy(&v, &bits, 4);
            magnitude += v < 0 ? -(double)v * (x[c] < 0 ? -x[c] : x[c]) : (double)v * (x[c] < 0 ? -x[c] : x[c]);
        }
        printf("bf16 %d %.9g %.9g\n", r, y[r], magnitude);
    }

    // Attention: 3 queries of 72 (not a multiple of 8: the tails run too) over 70 positions, then the
    // weighted values over lanes 0..72 for 70 and 41 positions. Magnitudes as for bf16.
    enum { HD = 72, POS = 70, Q = 3 };
    static float q[Q * HD], keys[POS * HD], scores[Q * POS], vals[POS * HD], outs[2][HD];
    static uint16_t key_halves[POS * HD], value_halves[POS * HD];
    for (int i = 0; i < Q * HD; i++) q[i] = (float)((int)(next() % 2001) - 1000) / 500.0f;
    for (int i = 0; i < POS * HD; i++) keys[i] = (float)((int)(next() % 2001) - 1000) / 500.0f;
    for (int i = 0; i < POS * HD; i++) vals[i] = (float)((int)(next() % 2001) - 1000) / 500.0f;
    // The cache's half floats: both builds round the same (the check compares the conversions too).
    ck_floats_to_halves(keys, key_halves, POS * HD);
    ck_floats_to_halves(vals, value_halves, POS * HD);
    uint32_t halves_hash = 2166136261u;
    for (int i = 0; i < POS * HD; i++) halves_hash = (halves_hash ^ key_halves[i] ^ (uint32_t)value_halves[i] << 16) * 16777619u;
    printf("kv-halves activations %08x\n", halves_hash);
    ck_halves_to_floats(key_halves, keys, POS * HD);
    ck_halves_to_floats(value_halves, vals, POS * HD);
    ck_attention_scores(q, Q, HD, key_halves, HD, POS, HD, 0.125f, scores, POS);
    for (int j = 0; j < Q; j++)
        for (int p = 0; p < POS; p += 7) {
            double magnitude = 0;
            for (int d = 0; d < HD; d++) magnitude += 0.125 * (q[j * HD + d] < 0 ? -q[j * HD + d] : q[j * HD + d]) * (keys[p * HD + d] < 0 ? -keys[p * HD + d] : keys[p * HD + d]);
            printf("attention-scores %d %.9g %.9g\n", j * POS + p, scores[j * POS + p], magnitude);
        }
    for (int p = 0; p < POS; p++) scores[p] = (float)(next() % 1000) / 70000.0f;
    const float *weights[2] = {scores, scores};
    float *out_pointers[2] = {outs[0], outs[1]};
    const size_t lengths[2] = {POS, 41};
    ck_attention_values(weights, lengths, out_pointers, 2, value_halves, HD, 0, HD);
    for (int j = 0; j < 2; j++)
        for (int d = 0; d < HD; d += 5) {
            double magnitude = 0;
            for (size_t p = 0; p < lengths[j]; p++) magnitude += scores[p] * (vals[p * HD + d] < 0 ? -vals[p * HD + d] : vals[p * HD + d]);
            printf("attention-values %d %.9g %.9g\n", j * HD + d, outs[j][d], magnitude);
        }
    return 0;
}
