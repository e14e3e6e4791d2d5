build-asan/mib/oidx.o: mib/oidx.c mib/oidx.h mib/addr.h
mib/oidx.h:
mib/addr.h:
