build-asan/mib/delaystats.o: mib/delaystats.c mib/delaystats.h \
 mib/clock.h
mib/delaystats.h:
mib/clock.h:
