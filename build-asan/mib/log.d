build-asan/mib/log.o: mib/log.c mib/log.h
mib/log.h:
