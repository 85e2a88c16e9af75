#ifndef CNGHTTP2_SHIM_H
#define CNGHTTP2_SHIM_H
#include <nghttp2/nghttp2.h>

// Cast macros such as NGHTTP2_INITIAL_WINDOW_SIZE do not import into Swift.
static inline int CNghttp2_initialWindowSize(void) { return NGHTTP2_INITIAL_WINDOW_SIZE; }
#endif
