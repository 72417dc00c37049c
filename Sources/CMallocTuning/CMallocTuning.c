#include "CMallocTuning.h"
#include <stdlib.h>

#if defined(__GLIBC__)
#include <malloc.h>

int miles_limit_malloc_arenas(int arenas) {
    return mallopt(M_ARENA_MAX, arenas);
}

// glibc fixes its arena limit the first time a thread needs an arena of its own, which can be
// before Swift's main runs: so the limit is set when the binary loads.
__attribute__((constructor)) static void miles_limit_malloc_arenas_at_load(void) {
    miles_limit_malloc_arenas(2);
}
#else
int miles_limit_malloc_arenas(int arenas) {
    (void)arenas;
    return 0;
}
#endif
