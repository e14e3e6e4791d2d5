build-asan/mib/alarms.o: mib/alarms.c mib/alarms.h mib/addr.h mib/clock.h \
 mib/oidx.h mib/log.h mib/model.h mib/cgroup.h mib/rbtree.h \
 mib/changelog.h mib/pe.h mib/probing.h mib/delaystats.h
mib/alarms.h:
mib/addr.h:
mib/clock.h:
mib/oidx.h:
mib/log.h:
mib/model.h:
mib/cgroup.h:
mib/rbtree.h:
mib/changelog.h:
mib/pe.h:
mib/probing.h:
mib/delaystats.h:
