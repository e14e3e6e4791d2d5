/*
 * Memory mapped on a 2 MiB boundary, for the huge pages of transparent huge
 * page support (madvise mode): the slab reserve's regions and the timer
 * heap's array (slab.c, timers.c).  No I/O but the mapping.
 */
#ifndef MVPN_HUGEMAP_H
#define MVPN_HUGEMAP_H

#include <stdbool.h>
#include <stddef.h>

#define HUGEMAP_ALIGN ((size_t)2 * 1024 * 1024)

/* bytes of zeroed anonymous memory aligned to HUGEMAP_ALIGN, advised
 * MADV_HUGEPAGE if advise (where the kernel has no THP: 4 KiB pages); the
 * caller's, to munmap.  NULL: out of memory. */
void *hugemap(size_t bytes, bool advise);

#endif
