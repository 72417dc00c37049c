#include "CMallocTuning.h"
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>

int miles_limit_malloc_arenas(int arenas) {
    return mallopt(M_ARENA_MAX, arenas);
}
#else
int miles_limit_malloc_arenas(int arenas) {
    (void)arenas;
    return 0;
}
#endif
