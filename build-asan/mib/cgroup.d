build-asan/mib/cgroup.o: mib/cgroup.c mib/cgroup.h mib/addr.h mib/clock.h \
 mib/oidx.h mib/rbtree.h
mib/cgroup.h:
mib/addr.h:
mib/clock.h:
mib/oidx.h:
mib/rbtree.h:
