build-asan/mib/clock.o: mib/clock.c mib/clock.h
mib/clock.h:
