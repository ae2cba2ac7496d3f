#include "DefaultModelBytes.h"

// The default model is compiled into the executable so that a copied or installed `understudy`
// carries it (a file beside the build is lost the moment the binary is copied). C23's #embed
// rather than an assembler .incbin: #embed resolves the path against this file's directory, as
// #include "..." does, where .incbin resolves it against the compiler's working directory; and
// __has_embed lets a checkout without the model file still build (it embeds nothing).
#pragma clang diagnostic ignored "-Wc23-extensions"

#define MODEL_FILE "../DefaultModel/Resources/understudy-default.gguf"

#if defined(__has_embed) && __has_embed(MODEL_FILE) == __STDC_EMBED_FOUND__
static const unsigned char model[] = {
#embed MODEL_FILE
};

const unsigned char *understudy_default_model_bytes(void) { return model; }
size_t understudy_default_model_size(void) { return sizeof model; }
#else
const unsigned char *understudy_default_model_bytes(void) { return NULL; }
size_t understudy_default_model_size(void) { return 0; }
#endif
