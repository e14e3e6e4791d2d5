build-asan/mib/addr.o: mib/addr.c mib/addr.h
mib/addr.h:
