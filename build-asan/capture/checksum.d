build-asan/capture/checksum.o: capture/checksum.c capture/checksum.h \
 capture/../mib/addr.h
capture/checksum.h:
capture/../mib/addr.h:
