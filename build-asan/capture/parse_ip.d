build-asan/capture/parse_ip.o: capture/parse_ip.c capture/checksum.h \
 capture/../mib/addr.h capture/cursor.h capture/parse.h
capture/checksum.h:
capture/../mib/addr.h:
capture/cursor.h:
capture/parse.h:
