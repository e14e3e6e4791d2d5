build-asan/capture/parse_mdt.o: capture/parse_mdt.c capture/cursor.h \
 capture/parse.h capture/../mib/addr.h
capture/cursor.h:
capture/parse.h:
capture/../mib/addr.h:
