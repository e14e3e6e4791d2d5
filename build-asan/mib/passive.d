build-asan/mib/passive.o: mib/passive.c mib/passive.h mib/model.h \
 mib/addr.h mib/alarms.h mib/clock.h mib/oidx.h mib/cgroup.h mib/rbtree.h \
 mib/changelog.h mib/pe.h mib/probing.h mib/delaystats.h
mib/passive.h:
mib/model.h:
mib/addr.h:
mib/alarms.h:
mib/clock.h:
mib/oidx.h:
mib/cgroup.h:
mib/rbtree.h:
mib/changelog.h:
mib/pe.h:
mib/probing.h:
mib/delaystats.h:
