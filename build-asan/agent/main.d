build-asan/agent/main.o: agent/main.c agent/../capture/engine.h \
 agent/../capture/../mib/model.h agent/../capture/../mib/addr.h \
 agent/../capture/../mib/alarms.h agent/../capture/../mib/clock.h \
 agent/../capture/../mib/oidx.h agent/../capture/../mib/cgroup.h \
 agent/../capture/../mib/rbtree.h agent/../capture/../mib/changelog.h \
 agent/../capture/../mib/pe.h agent/../capture/../mib/probing.h \
 agent/../capture/../mib/delaystats.h agent/../capture/parse.h \
 agent/../capture/../mib/addr.h agent/agentx.h agent/daemon.h \
 agent/../mib/model.h agent/config.h agent/../mib/addr.h \
 agent/table_view.h agent/../mib/clock.h agent/../mib/oidx.h agent/loop.h \
 agent/privilege.h agent/../mib/log.h
agent/../capture/engine.h:
agent/../capture/../mib/model.h:
agent/../capture/../mib/addr.h:
agent/../capture/../mib/alarms.h:
agent/../capture/../mib/clock.h:
agent/../capture/../mib/oidx.h:
agent/../capture/../mib/cgroup.h:
agent/../capture/../mib/rbtree.h:
agent/../capture/../mib/changelog.h:
agent/../capture/../mib/pe.h:
agent/../capture/../mib/probing.h:
agent/../capture/../mib/delaystats.h:
agent/../capture/parse.h:
agent/../capture/../mib/addr.h:
agent/agentx.h:
agent/daemon.h:
agent/../mib/model.h:
agent/config.h:
agent/../mib/addr.h:
agent/table_view.h:
agent/../mib/clock.h:
agent/../mib/oidx.h:
agent/loop.h:
agent/privilege.h:
agent/../mib/log.h:
