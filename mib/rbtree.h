/* libbsd's <sys/tree.h> red-black trees; its static generator expects BSD's __unused. */
#ifndef MVPN_RBTREE_H
#define MVPN_RBTREE_H

#ifndef __unused
#define __unused __attribute__((unused))
#endif
#include <bsd/sys/tree.h>
#include <sys/queue.h>

#endif
