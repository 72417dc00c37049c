#ifndef C_MALLOC_TUNING_H
#define C_MALLOC_TUNING_H

/// Caps how many malloc arenas glibc keeps from now on (by default one more for each thread that
/// allocates while another holds an arena); returns 1 when it was set, 0 where the C library has no
/// such setting.
int miles_limit_malloc_arenas(int arenas);

#endif
