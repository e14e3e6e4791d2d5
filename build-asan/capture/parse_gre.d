build-asan/capture/parse_gre.o: capture/parse_gre.c capture/checksum.h \
 capture/../mib/addr.h capture/cursor.h capture/parse.h
capture/checksum.h:
capture/../mib/addr.h:
capture/cursor.h:
capture/parse.h:
