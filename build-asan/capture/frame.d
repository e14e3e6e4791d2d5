build-asan/capture/frame.o: capture/frame.c capture/cursor.h \
 capture/parse.h capture/../mib/addr.h
capture/cursor.h:
capture/parse.h:
capture/../mib/addr.h:
