build-asan/agent/daemon.o: agent/daemon.c agent/daemon.h \
 agent/../mib/model.h agent/../mib/addr.h agent/../mib/alarms.h \
 agent/../mib/clock.h agent/../mib/oidx.h agent/../mib/cgroup.h \
 agent/../mib/rbtree.h agent/../mib/changelog.h agent/../mib/pe.h \
 agent/../mib/probing.h agent/../mib/delaystats.h agent/config.h \
 agent/../mib/addr.h agent/table_view.h agent/../mib/clock.h \
 agent/../mib/oidx.h agent/../capture/engine.h \
 agent/../capture/../mib/model.h agent/../capture/parse.h \
 agent/../capture/../mib/addr.h agent/../probe/engine.h \
 agent/../probe/../mib/addr.h agent/../probe/../mib/clock.h \
 agent/../probe/../mib/model.h agent/../mib/log.h agent/../mib/passive.h \
 agent/../mib/model.h
agent/daemon.h:
agent/../mib/model.h:
agent/../mib/addr.h:
agent/../mib/alarms.h:
agent/../mib/clock.h:
agent/../mib/oidx.h:
agent/../mib/cgroup.h:
agent/../mib/rbtree.h:
agent/../mib/changelog.h:
agent/../mib/pe.h:
agent/../mib/probing.h:
agent/../mib/delaystats.h:
agent/config.h:
agent/../mib/addr.h:
agent/table_view.h:
agent/../mib/clock.h:
agent/../mib/oidx.h:
agent/../capture/engine.h:
agent/../capture/../mib/model.h:
agent/../capture/parse.h:
agent/../capture/../mib/addr.h:
agent/../probe/engine.h:
agent/../probe/../mib/addr.h:
agent/../probe/../mib/clock.h:
agent/../probe/../mib/model.h:
agent/../mib/log.h:
agent/../mib/passive.h:
agent/../mib/model.h:
