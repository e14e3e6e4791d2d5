build-asan/agent/views_passive.o: agent/views_passive.c agent/daemon.h \
 agent/../mib/model.h agent/../mib/addr.h agent/../mib/alarms.h \
 agent/../mib/clock.h agent/../mib/oidx.h agent/../mib/cgroup.h \
 agent/../mib/rbtree.h agent/../mib/changelog.h agent/../mib/pe.h \
 agent/../mib/probing.h agent/../mib/delaystats.h agent/config.h \
 agent/../mib/addr.h agent/table_view.h agent/../mib/clock.h \
 agent/../mib/oidx.h agent/oids.h agent/../mib/passive.h \
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
agent/oids.h:
agent/../mib/passive.h:
agent/../mib/model.h:
