build-asan/agent/table_view.o: agent/table_view.c agent/table_view.h \
 agent/../mib/addr.h agent/../mib/clock.h agent/../mib/oidx.h \
 agent/../mib/addr.h
agent/table_view.h:
agent/../mib/addr.h:
agent/../mib/clock.h:
agent/../mib/oidx.h:
agent/../mib/addr.h:
