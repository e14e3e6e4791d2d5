build-asan/probe/engine.o: probe/engine.c probe/engine.h \
 probe/../mib/addr.h probe/../mib/clock.h probe/../mib/model.h \
 probe/../mib/addr.h probe/../mib/alarms.h probe/../mib/clock.h \
 probe/../mib/oidx.h probe/../mib/cgroup.h probe/../mib/rbtree.h \
 probe/../mib/changelog.h probe/../mib/pe.h probe/../mib/probing.h \
 probe/../mib/delaystats.h probe/../mib/log.h probe/wire.h \
 probe/../capture/parse.h probe/../capture/../mib/addr.h
probe/engine.h:
probe/../mib/addr.h:
probe/../mib/clock.h:
probe/../mib/model.h:
probe/../mib/addr.h:
probe/../mib/alarms.h:
probe/../mib/clock.h:
probe/../mib/oidx.h:
probe/../mib/cgroup.h:
probe/../mib/rbtree.h:
probe/../mib/changelog.h:
probe/../mib/pe.h:
probe/../mib/probing.h:
probe/../mib/delaystats.h:
probe/../mib/log.h:
probe/wire.h:
probe/../capture/parse.h:
probe/../capture/../mib/addr.h:
