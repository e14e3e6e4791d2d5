build-asan/capture/parse_pim.o: capture/parse_pim.c capture/checksum.h \
 capture/../mib/addr.h capture/cursor.h capture/parse.h
capture/checksum.h:
capture/../mib/addr.h:
capture/cursor.h:
capture/parse.h:
