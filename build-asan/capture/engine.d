build-asan/capture/engine.o: capture/engine.c capture/engine.h \
 capture/../mib/model.h capture/../mib/addr.h capture/../mib/alarms.h \
 capture/../mib/clock.h capture/../mib/oidx.h capture/../mib/cgroup.h \
 capture/../mib/rbtree.h capture/../mib/changelog.h capture/../mib/pe.h \
 capture/../mib/probing.h capture/../mib/delaystats.h capture/parse.h \
 capture/../mib/addr.h capture/../mib/log.h capture/../mib/passive.h \
 capture/../mib/model.h
capture/engine.h:
capture/../mib/model.h:
capture/../mib/addr.h:
capture/../mib/alarms.h:
capture/../mib/clock.h:
capture/../mib/oidx.h:
capture/../mib/cgroup.h:
capture/../mib/rbtree.h:
capture/../mib/changelog.h:
capture/../mib/pe.h:
capture/../mib/probing.h:
capture/../mib/delaystats.h:
capture/parse.h:
capture/../mib/addr.h:
capture/../mib/log.h:
capture/../mib/passive.h:
capture/../mib/model.h:
