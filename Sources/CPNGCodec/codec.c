#include "cw_png.h"
int cw_dummy(void) { return PNG_LIBPNG_VER; }
