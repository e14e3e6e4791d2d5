build-asan/mib/probing.o: mib/probing.c mib/probing.h mib/addr.h \
 mib/alarms.h mib/clock.h mib/oidx.h mib/delaystats.h mib/log.h \
 mib/model.h mib/cgroup.h mib/rbtree.h mib/changelog.h mib/pe.h
mib/probing.h:
mib/addr.h:
mib/alarms.h:
mib/clock.h:
mib/oidx.h:
mib/delaystats.h:
mib/log.h:
mib/model.h:
mib/cgroup.h:
mib/rbtree.h:
mib/changelog.h:
mib/pe.h:
