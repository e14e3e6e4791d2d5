build-asan/mib/changelog.o: mib/changelog.c mib/changelog.h mib/addr.h \
 mib/clock.h mib/oidx.h
mib/changelog.h:
mib/addr.h:
mib/clock.h:
mib/oidx.h:
