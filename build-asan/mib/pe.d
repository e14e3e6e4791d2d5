build-asan/mib/pe.o: mib/pe.c mib/pe.h mib/addr.h mib/clock.h mib/oidx.h \
 mib/rbtree.h
mib/pe.h:
mib/addr.h:
mib/clock.h:
mib/oidx.h:
mib/rbtree.h:
