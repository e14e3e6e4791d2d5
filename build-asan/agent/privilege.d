build-asan/agent/privilege.o: agent/privilege.c agent/privilege.h \
 agent/../mib/log.h
agent/privilege.h:
agent/../mib/log.h:
