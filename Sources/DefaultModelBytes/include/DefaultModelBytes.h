#ifndef UNDERSTUDY_DEFAULT_MODEL_BYTES_H
#define UNDERSTUDY_DEFAULT_MODEL_BYTES_H

#include <stddef.h>

/// The bytes of the default model (Sources/DefaultModel/Resources/understudy-default.gguf) compiled
/// into the executable, or NULL when the checkout had no model file at build time.
const unsigned char *understudy_default_model_bytes(void);

/// How many bytes `understudy_default_model_bytes` points to (0 when it is NULL).
size_t understudy_default_model_size(void);

#endif
