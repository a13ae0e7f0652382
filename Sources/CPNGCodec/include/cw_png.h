#include <png.h>
int cw_dummy(void);
