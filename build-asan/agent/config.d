build-asan/agent/config.o: agent/config.c agent/config.h \
 agent/../mib/addr.h agent/../mib/model.h agent/../mib/addr.h \
 agent/../mib/alarms.h agent/../mib/clock.h agent/../mib/oidx.h \
 agent/../mib/cgroup.h agent/../mib/rbtree.h agent/../mib/changelog.h \
 agent/../mib/pe.h agent/../mib/probing.h agent/../mib/delaystats.h \
 agent/../mib/log.h agent/config_text.h
agent/config.h:
agent/../mib/addr.h:
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
agent/../mib/log.h:
agent/config_text.h:
