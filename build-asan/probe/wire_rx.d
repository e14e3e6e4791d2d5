build-asan/probe/wire_rx.o: probe/wire_rx.c probe/../capture/checksum.h \
 probe/../capture/../mib/addr.h probe/../capture/cursor.h probe/wire.h \
 probe/../capture/parse.h probe/../mib/addr.h
probe/../capture/checksum.h:
probe/../capture/../mib/addr.h:
probe/../capture/cursor.h:
probe/wire.h:
probe/../capture/parse.h:
probe/../mib/addr.h:
