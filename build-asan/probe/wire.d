build-asan/probe/wire.o: probe/wire.c probe/../capture/checksum.h \
 probe/../capture/../mib/addr.h probe/wire.h probe/../capture/parse.h \
 probe/../mib/addr.h
probe/../capture/checksum.h:
probe/../capture/../mib/addr.h:
probe/wire.h:
probe/../capture/parse.h:
probe/../mib/addr.h:
