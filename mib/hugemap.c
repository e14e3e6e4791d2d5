#include "hugemap.h"

#include <stdint.h>
#include <sys/mman.h>

void *hugemap(size_t bytes, bool advise)
{
	/* One alignment's worth more, then the ends that are not needed go. */
	char *p = mmap(NULL, bytes + HUGEMAP_ALIGN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	size_t head = (HUGEMAP_ALIGN - (uintptr_t)p % HUGEMAP_ALIGN) % HUGEMAP_ALIGN;
	if (head)
		munmap(p, head);
	munmap(p + head + bytes, HUGEMAP_ALIGN - head);
	p += head;
#ifdef MADV_HUGEPAGE
	if (advise)
		(void)madvise(p, bytes, MADV_HUGEPAGE); /* EINVAL without THP: 4 KiB pages */
#else
	(void)advise;
#endif
	return p;
}
