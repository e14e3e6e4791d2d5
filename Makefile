# mvpnmon: plain make.  make deps | make | make check | make demo | make install | make bench | make fuzz
VERSION   := 0.1.0
CC        ?= cc
CFLAGS    ?= -O2 -g
WARN      := -std=c11 -Wall -Wextra -Werror
CPPFLAGS  += -D_GNU_SOURCE -DMVPN_VERSION='"$(VERSION)"' -pthread
# The engines and the AgentX subagent run on threads of their own (agent/agentx.h).
LDFLAGS   += -pthread
PKGS      := libpcap
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
SNMP_LIBS  = $(shell net-snmp-config --netsnmp-agent-libs 2>/dev/null)
# The client's live commands speak SNMP as a manager: the client library only.
SNMP_CLIENT_LIBS = $(shell net-snmp-config --libs 2>/dev/null)
# The history store (history/): the daemon and its unit tests link it.
HIST_CFLAGS = $(shell pkg-config --cflags sqlite3 2>/dev/null)
HIST_LIBS  = $(shell pkg-config --libs sqlite3 2>/dev/null)
# The PostgreSQL backend (history/pg.c) speaks libpq.
HIST_CFLAGS += $(shell pkg-config --cflags libpq 2>/dev/null)
HIST_LIBS  += $(shell pkg-config --libs libpq 2>/dev/null)

PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
DATADIR   ?= $(PREFIX)/share
# Where net-snmp's tools look whatever PREFIX is: Debian's net-snmp searches
# ~/.snmp/mibs and /usr/share/snmp/mibs (net-snmp-config --default-mibdirs),
# not /usr/local/share/snmp/mibs.
MIBDIR    ?= /usr/share/snmp/mibs
SYSCONFDIR?= /etc
# systemd reads /usr/local/lib/systemd/system too; Debian's packages use /lib/systemd/system.
UNITDIR   ?= $(PREFIX)/lib/systemd/system

B         := build
MIB_SRC   := $(wildcard mib/*.c)
CAPTURE_SRC := $(wildcard capture/*.c)
PROBE_SRC := $(wildcard probe/*.c)
AGENT_SRC := $(wildcard agent/*.c)
HISTORY_SRC := $(wildcard history/*.c)
# The BMP collector's decoders, session state and route store (no I/O, no net-snmp).
BGP_SRC   := $(wildcard bgp/*.c)
BGP_OBJ   := $(BGP_SRC:%.c=$(B)/%.o)
MIB_OBJ   := $(MIB_SRC:%.c=$(B)/%.o)
CAPTURE_OBJ := $(CAPTURE_SRC:%.c=$(B)/%.o)
PROBE_OBJ := $(PROBE_SRC:%.c=$(B)/%.o)
AGENT_OBJ := $(AGENT_SRC:%.c=$(B)/%.o)
HISTORY_OBJ := $(HISTORY_SRC:%.c=$(B)/%.o)
ENGINE_SRC := $(CAPTURE_SRC) $(PROBE_SRC) $(MIB_SRC) $(BGP_SRC)
ENGINE_OBJ := $(CAPTURE_OBJ) $(PROBE_OBJ) $(MIB_OBJ) $(BGP_OBJ)
# Everything but main(): what the unit tests link against.
AGENT_LIB_OBJ := $(filter-out $(B)/agent/main.o,$(AGENT_OBJ))

# mvpnmon, the client: everything in client/ but main() goes into an archive,
# so that a unit test links only the modules it calls.
CLIENT_SRC := $(wildcard client/*.c)
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(B)/%.o)
CLIENT_LIB := $(B)/client/libmvpnmon.a
# What mvpnmon links beside client/, in one place: the history store and its
# backends, the change text the agent shows too, and the model's value types.
# CLIENT_LIBS follows the store's libraries (HIST_LIBS: a new backend's too)
# and net-snmp's client library (the live commands).
CLIENT_LINK_OBJ := $(HISTORY_OBJ) $(B)/agent/change_text.o $(MIB_OBJ)
CLIENT_LIBS = $(HIST_LIBS) $(SNMP_CLIENT_LIBS) -lm
CLIENT_BIN := $(B)/mvpnmon

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
# Small programs the integration tests drive (e.g. a decoder to compare with tshark).
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BIN  := $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)
# Fault injectors the integration tests LD_PRELOAD into mvpnmond.
PRELOAD_SRC := $(wildcard tests/preload/*.c)
PRELOAD_BIN := $(PRELOAD_SRC:tests/preload/%.c=$(B)/preload/%.so)
# The PE emulator: routers for the probe tests.  Standalone on purpose: it
# shares no code with mvpnmond and knows nothing of the probe format.
EMULATOR_SRC := $(wildcard tests/emulator/*.c)
EMULATOR_BIN := $(if $(EMULATOR_SRC),$(B)/tools/pe-emulator)
# The engine benchmarks (make bench-engines): drivers linking the engines like
# the tools do, and a capture generator that links nothing of ours.
BENCH_SRC := $(filter-out tests/bench/ref_subagent.c,$(wildcard tests/bench/*.c))
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)

# make check runs the suite twice: on build/, then on this build with
# AddressSanitizer and UndefinedBehaviorSanitizer (any report is a failure).
ASAN_B     := build-asan
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all


# Fuzz harnesses (tests/fuzz/, see its README): libFuzzer under `make fuzz`;
# under make check, replay.c runs each over its saved regression inputs.
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_HDR   := $(wildcard tests/fuzz/*.h)
FUZZ_REPLAY_BIN := $(FUZZ_NAMES:%=$(B)/fuzz-replay/fuzz_%)
# What the config harness links: no net-snmp, no capture.
CONFIG_SRC := agent/config.c agent/config_text.c mib/addr.c mib/log.c
CONFIG_LIBS = -lm
# What the packet harnesses link: the parsers alone.
PARSER_SRC := capture/checksum.c capture/parse_ip.c capture/parse_gre.c capture/parse_pim.c \
	capture/parse_mdt.c capture/frame.c probe/wire.c probe/wire_rx.c mib/addr.c \
	bgp/bmp.c bgp/nlri.c bgp/update.c bgp/routes.c bgp/collector.c


.PHONY: all programs deps check asan unit integration demo install clean prometheus-config \
	bench bench-engines bench-walk \
	bench-emulator bench-config bench-expiry bench-never-block bench-history bench-history-pg \
	bench-reload bench-client bench-tomography bench-bmp bench-faults \
	fuzz fuzz-build fuzz-coverage check-repeat soak
all: $(B)/mvpnmond $(CLIENT_BIN) $(TOOL_BIN) $(EMULATOR_BIN) $(PRELOAD_BIN)

# The daemon and the client alone: what make install and the Debian package build.
programs: $(B)/mvpnmond $(CLIENT_BIN)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(B)/history/%.o: history/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(HIST_CFLAGS) -MMD -MP -c $< -o $@

$(B)/mvpnmond: $(AGENT_OBJ) $(ENGINE_OBJ) $(HISTORY_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(PKG_LIBS) $(SNMP_LIBS) $(HIST_LIBS)

$(B)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(AGENT_LIB_OBJ) $(ENGINE_OBJ) $(HISTORY_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) $(HIST_CFLAGS) $< $(AGENT_LIB_OBJ) \
		$(ENGINE_OBJ) $(HISTORY_OBJ) -o $@ $(LDFLAGS) $(PKG_LIBS) $(SNMP_LIBS) $(HIST_LIBS)

$(CLIENT_LIB): $(filter-out $(B)/client/main.o,$(CLIENT_OBJ))
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/mvpnmon: $(B)/client/main.o $(CLIENT_LIB) $(CLIENT_LINK_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $(B)/client/main.o $(CLIENT_LIB) $(CLIENT_LINK_OBJ) -o $@ \
		$(CLIENT_LIBS)

# The client's unit tests link the client and what it links, not the agent.
$(B)/tests/test_client%: tests/unit/test_client%.c $(wildcard tests/unit/*.h) $(CLIENT_LIB) \
		$(CLIENT_LINK_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $< $(CLIENT_LIB) $(CLIENT_LINK_OBJ) -o $@ $(LDFLAGS) \
		$(CLIENT_LIBS)

# The client's tests write a history store through the store's own code.
$(B)/tools/hist_write: tests/tools/hist_write.c $(HISTORY_OBJ) $(B)/agent/change_text.o $(MIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $< $(HISTORY_OBJ) $(B)/agent/change_text.o $(MIB_OBJ) \
		-o $@ $(LDFLAGS) $(HIST_LIBS) -lm

# Tools link only the engines and the model: no net-snmp.
$(B)/tools/%: tests/tools/%.c $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) $< $(ENGINE_OBJ) -o $@ $(LDFLAGS) $(PKG_LIBS)

# The PostgreSQL backend's test driver links the history store as well.
$(B)/tools/hist_pg_drive: tests/tools/hist_pg_drive.c tests/tools/hist_gen.h $(HISTORY_OBJ) \
		$(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) $(HIST_CFLAGS) $< $(HISTORY_OBJ) \
		$(ENGINE_OBJ) -o $@ $(LDFLAGS) $(PKG_LIBS) $(HIST_LIBS)

$(B)/preload/%.so: tests/preload/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -shared -fPIC $< -o $@ $(LDFLAGS) -ldl

$(B)/tools/pe-emulator: $(EMULATOR_SRC) $(wildcard tests/emulator/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(EMULATOR_SRC) -o $@ $(LDFLAGS) -lm

$(B)/bench/gen_capture: tests/bench/gen_capture.c $(wildcard tests/bench/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LDFLAGS)

# The history store against raw SQLite inserts, and the state at T on a long
# history (tests/bench/bench_history.c); writes tests/bench/results/history.txt.
# Not part of check (check only builds it).  HISTORY_BENCH_ARGS: bench_history -h.
$(B)/bench/bench_history: tests/bench/bench_history.c tests/bench/bench.h $(HISTORY_OBJ) $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(HIST_CFLAGS) $< $(HISTORY_OBJ) $(ENGINE_OBJ) -o $@ \
		$(LDFLAGS) $(PKG_LIBS) $(HIST_LIBS)

bench-history: $(B)/bench/bench_history
	nice -n 5 $(B)/bench/bench_history -o tests/bench/results/history.txt $(HISTORY_BENCH_ARGS)

$(B)/bench/%: tests/bench/%.c $(wildcard tests/bench/*.h) $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) $< $(ENGINE_OBJ) -o $@ $(LDFLAGS) $(PKG_LIBS)

# The state engine with history on puts each change into the history queue itself.
BENCH_STATE_HIST := $(B)/history/queue.o $(B)/history/record.o
$(B)/bench/bench_state: tests/bench/bench_state.c $(wildcard tests/bench/*.h) $(ENGINE_OBJ) \
		$(BENCH_STATE_HIST)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) $< $(ENGINE_OBJ) $(BENCH_STATE_HIST) -o $@ \
		$(LDFLAGS) $(PKG_LIBS)

# The PostgreSQL backend beside a raw libpq COPY: it links the history store.
$(B)/bench/bench_history_pg: tests/bench/bench_history_pg.c tests/bench/bench.h \
		tests/tools/hist_gen.h $(HISTORY_OBJ) $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) $(HIST_CFLAGS) $< $(HISTORY_OBJ) \
		$(ENGINE_OBJ) -o $@ $(LDFLAGS) $(PKG_LIBS) $(HIST_LIBS)

# Persisted changes through the PostgreSQL backend against a raw libpq COPY of
# the same rows, on a private server (tests/bench/history_pg.py); writes
# tests/bench/results/history_pg.txt.  Not part of check.
bench-history-pg: $(B)/bench/bench_history_pg
	nice -n 5 /usr/bin/python3 tests/bench/history_pg.py $(HISTORY_PG_ARGS)

# The engines' speed and scale beside their references (tests/bench/engines.py);
# writes tests/bench/results/engines.txt.  Not part of check.
bench-engines: $(B)/mvpnmond $(EMULATOR_BIN) $(BENCH_BIN)
	@/usr/bin/python3 tests/bench/engines.py

# The walk benchmark (issue 6, item 1): mvpnmond against a reference subagent on
# net-snmp's own table_container helper, through private snmpds.  Not part of check.
$(B)/bench/ref_subagent: tests/bench/ref_subagent.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LDFLAGS) $(SNMP_LIBS)

# WALK_ARGS: e.g. --sizes 10000,100000 --rounds 6 for a quick look (walk.py --help).
bench-walk: $(B)/mvpnmond $(B)/bench/ref_subagent
	nice -n 5 /usr/bin/python3 tests/bench/walk.py $(WALK_ARGS)

# How punctually the PE emulator sends (the scheduling figures make check no
# longer gates); writes tests/bench/results/emulator_timing.txt.  Root.
bench-emulator: $(EMULATOR_BIN)
	/usr/bin/python3 tests/bench/emulator_timing.py

# What one expiry costs at 1,000, 5,000 and 10,000 VPNs (tests/bench/expiry.py);
# writes tests/bench/results/expiry.txt.  Not part of check.
bench-expiry: $(B)/bench/bench_expiry
	nice -n 5 /usr/bin/python3 tests/bench/expiry.py $(EXPIRY_ARGS)

# Issue 12: live capture with the master stopped 30 s, this build beside the old
# code (3fa7c14, built in a temporary git worktree), and what a reload of 1k,
# 10k, 100k VPNs holds the engines and SNMP; writes
# tests/bench/results/never_block.txt.  Root.  NEVER_BLOCK_ARGS: never_block.py --help.
bench-never-block: $(B)/mvpnmond
	nice -n 5 /usr/bin/python3 tests/bench/never_block.py $(NEVER_BLOCK_ARGS)

# Issue 14: mvpnmon pairs against a 100-PE VPN (9,900 pairs) served by
# mvpnmond (probing the PE emulator) through a private snmpd, beside
# snmpbulkwalk of the same columns (tests/bench/client_pairs.py); writes
# tests/bench/results/client_pairs.txt.  Root.  CLIENT_ARGS: client_pairs.py --help.
bench-client: $(B)/mvpnmond $(CLIENT_BIN) $(EMULATOR_BIN)
	nice -n 5 /usr/bin/python3 tests/bench/client_pairs.py $(CLIENT_ARGS)

# BMP Route Monitoring ingest through mvpnmond's socket code and collector,
# beside a reader that only frames the stream; memory per route.  Links the
# listener and the configuration beside the engines.  Writes
# tests/bench/results/bmp.txt.  Not part of check.  BMP_BENCH_ARGS: -n ROUTES -r ROUNDS.
BMP_BENCH_OBJ := $(B)/agent/bmp_listen.o $(CONFIG_SRC:%.c=$(B)/%.o)
$(B)/bench/bench_bmp: tests/bench/bench_bmp.c tests/bench/bench.h $(ENGINE_OBJ) $(BMP_BENCH_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) $< $(ENGINE_OBJ) \
		$(filter-out $(ENGINE_OBJ),$(BMP_BENCH_OBJ)) -o $@ $(LDFLAGS) $(PKG_LIBS)

bench-bmp: $(B)/bench/bench_bmp
	nice -n 5 $(B)/bench/bench_bmp -o tests/bench/results/bmp.txt $(BMP_BENCH_ARGS)

# make bench: every benchmark; the README quotes tests/bench/results/*.txt.
bench: bench-engines bench-walk bench-emulator bench-config bench-expiry bench-never-block \
	bench-history bench-history-pg bench-reload bench-client bench-tomography bench-bmp \
	bench-faults

# Installs every Debian package the build, the tests and the demo need.
deps:
	@sh tests/deps.sh

$(B)/fuzz-replay/fuzz_config: tests/fuzz/fuzz_config.c tests/fuzz/replay.c $(FUZZ_HDR) \
		$(CONFIG_SRC:%.c=$(B)/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) \
		-DFUZZ_REGRESSIONS='"$(CURDIR)/tests/fuzz/regressions/config"' tests/fuzz/fuzz_config.c \
		tests/fuzz/replay.c $(CONFIG_SRC:%.c=$(B)/%.o) -o $@ $(LDFLAGS) $(CONFIG_LIBS)

# config_load() at 1k, 10k and 100k VPNs beside reading the file alone; writes
# tests/bench/results/config_load.txt.  Links the loader alone, as fuzz_config does.
$(B)/bench/bench_config: tests/bench/bench_config.c tests/bench/bench.h $(CONFIG_SRC:%.c=$(B)/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $< $(CONFIG_SRC:%.c=$(B)/%.o) -o $@ $(LDFLAGS) $(CONFIG_LIBS)

bench-config: $(B)/bench/bench_config
	nice -n 5 $(B)/bench/bench_config -o tests/bench/results/config_load.txt

# A reload's hold of the model at 1k, 10k and 100k VPNs, in one process, idle
# and with a capture open (nothing read from it); writes
# tests/bench/results/reload.txt and reload_capture.txt.  Links the agent.
$(B)/bench/bench_reload: tests/bench/bench_reload.c tests/bench/bench.h $(AGENT_LIB_OBJ) \
		$(ENGINE_OBJ) $(HISTORY_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) $< $(AGENT_LIB_OBJ) $(ENGINE_OBJ) \
		$(HISTORY_OBJ) -o $@ $(LDFLAGS) $(PKG_LIBS) $(SNMP_LIBS) $(HIST_LIBS)

bench-reload: $(B)/bench/bench_reload
	nice -n 5 $(B)/bench/bench_reload -o tests/bench/results/reload.txt
	nice -n 5 $(B)/bench/bench_reload -c tests/fixtures/passive.pcap \
		-o tests/bench/results/reload_capture.txt

# Loss tomography and fault location for one 100-PE VPN over a 60 s window,
# beside probing's own rx-bit accounting; writes tests/bench/results/tomography.txt.
bench-tomography: $(B)/bench/bench_tomography
	nice -n 5 $(B)/bench/bench_tomography -o tests/bench/results/tomography.txt

# From a step the PE emulator induces to the located fault's notification,
# beside the first pair threshold alarm of the same run, five scenarios,
# two seeds, 4 s and 8 s windows (tests/bench/faults_latency.py); writes
# tests/bench/results/faults_latency.txt.  Root.  FAULTS_ARGS: faults_latency.py --help.
bench-faults: $(B)/mvpnmond $(EMULATOR_BIN)
	nice -n 5 /usr/bin/python3 tests/bench/faults_latency.py $(FAULTS_ARGS)

# The model harness takes frames the whole way into the model: the engines.
$(B)/fuzz-replay/fuzz_model: tests/fuzz/fuzz_model.c tests/fuzz/replay.c $(FUZZ_HDR) $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) \
		-DFUZZ_REGRESSIONS='"$(CURDIR)/tests/fuzz/regressions/model"' tests/fuzz/fuzz_model.c \
		tests/fuzz/replay.c $(ENGINE_OBJ) -o $@ $(LDFLAGS) $(PKG_LIBS)

# The BGP model harness: the collector's route changes into the engines of
# bgp/mdt.c and bgp/mvpn.c and a live model, the same objects.
$(B)/fuzz-replay/fuzz_bgp_model: tests/fuzz/fuzz_bgp_model.c tests/fuzz/replay.c $(FUZZ_HDR) \
		$(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) \
		-DFUZZ_REGRESSIONS='"$(CURDIR)/tests/fuzz/regressions/bgp_model"' \
		tests/fuzz/fuzz_bgp_model.c tests/fuzz/replay.c $(ENGINE_OBJ) -o $@ $(LDFLAGS) $(PKG_LIBS)

$(B)/fuzz-replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_HDR) $(PARSER_SRC:%.c=$(B)/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -DFUZZ_REGRESSIONS='"$(CURDIR)/tests/fuzz/regressions/$*"' \
		$< tests/fuzz/replay.c $(PARSER_SRC:%.c=$(B)/%.o) -o $@ $(LDFLAGS)

# make check builds with a job per core: built one file at a time, the two
# builds were two minutes of its time on 2 cores.
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

check:
	@$(MAKE) --no-print-directory -j$(CHECK_JOBS) all $(UNIT_BIN) $(BENCH_BIN) \
		$(FUZZ_REPLAY_BIN) $(if $(filter 1,$(MVPN_SKIP_ASAN)),,asan)
	@sh tests/run.sh

# make check-repeat N=5 [OUT=dir]: N runs of make check, each in a fresh clone of
# HEAD, beside a CPU hog; per-test failures in a table (tests/check_repeat.sh).
# Not part of check.
check-repeat:
	@sh tests/check_repeat.sh $(if $(OUT),--out '$(OUT)') $(or $(N),5)

# make soak [SOAK_ARGS='--minutes 4']: 30 minutes of the ASan build under live
# capture, probing, a reload every 10 s, a master restart every minute and walks;
# flat RSS and descriptors, monotonic counters, no sanitizer report
# (tests/soak/README.md).  Needs root.  Not part of check.
soak: all
	@$(MAKE) --no-print-directory B=$(ASAN_B) CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" \
		$(ASAN_B)/mvpnmond
	/usr/bin/python3 tests/soak/soak.py $(SOAK_ARGS)

# The sanitizer build: the same sources, unit tests and fuzz replays, in $(ASAN_B)/.
asan:
	@$(MAKE) --no-print-directory B=$(ASAN_B) CFLAGS="$(ASAN_FLAGS)" \
		LDFLAGS="$(ASAN_FLAGS)" $(ASAN_B)/mvpnmond $(CLIENT_BIN:$(B)/%=$(ASAN_B)/%) \
		$(TOOL_BIN:$(B)/%=$(ASAN_B)/%) \
		$(UNIT_BIN:$(B)/%=$(ASAN_B)/%) $(FUZZ_REPLAY_BIN:$(B)/%=$(ASAN_B)/%)

# contrib/prometheus/snmp.yml from generator.yml, with Debian's generator
# (prometheus-snmp-exporter) reading our MIB and the IETF ones erlang-snmp ships;
# the result is checked in (tests/integration/test_prometheus.py compares).
PROM_MIBDIRS = $(subst $(eval) ,:,$(wildcard /usr/lib/erlang/lib/snmp-*/mibs)):$(CURDIR)/mibs

prometheus-config:
	cd contrib/prometheus && MIBDIRS='$(PROM_MIBDIRS)' prometheus-snmp-generator \
		--fail-on-parse-errors generate -o snmp.yml

# The build's command lines go to build/demo-build.log, not the screen: a
# newcomer's first screen is the monitor's tables.
demo: deps
	@mkdir -p $(B); echo "== building (make all; commands in $(B)/demo-build.log)"
	@$(MAKE) --no-print-directory all > $(B)/demo-build.log 2>&1 || { cat $(B)/demo-build.log; exit 1; }
	@sh tests/demo.sh

# The unit names the daemon where it is installed (its text says /usr/local/sbin).
install: programs
	install -D -m 0755 $(B)/mvpnmond $(DESTDIR)$(SBINDIR)/mvpnmond
	install -D -m 0644 mibs/MVPN-MONITOR-MIB.txt $(DESTDIR)$(MIBDIR)/MVPN-MONITOR-MIB.txt
	install -D -m 0644 mvpnmond.8 $(DESTDIR)$(MANDIR)/man8/mvpnmond.8
	install -D -m 0644 mvpnmon.1 $(DESTDIR)$(MANDIR)/man1/mvpnmon.1
	install -D -m 0755 $(B)/mvpnmon $(DESTDIR)$(BINDIR)/mvpnmon
	install -D -m 0644 mvpnmond.conf.example $(DESTDIR)$(SYSCONFDIR)/mvpnmon/mvpnmond.conf.example
	# Prometheus and Grafana: the exporter's module, the rules, the dashboard.
	for f in snmp.yml mvpnmon.rules.yml mvpnmon-dashboard.json; do \
		install -D -m 0644 contrib/prometheus/$$f $(DESTDIR)$(DATADIR)/mvpnmon/prometheus/$$f || exit 1; \
	done
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/sbin/|$(SBINDIR)/|g' mvpnmond.service > $(DESTDIR)$(UNITDIR)/mvpnmond.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mvpnmond.service

# ---- make fuzz: clang + libFuzzer, ASan and UBSan, in a tree of its own ----
FUZZ_CC      ?= clang
FB           := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?=
FUZZ_BIN     := $(FUZZ_NAMES:%=$(FB)/fuzz_%)
# Objects a pattern rule makes are intermediate to make: keep them.
.SECONDARY: $(PARSER_SRC:%.c=$(FB)/obj/%.o) $(ENGINE_SRC:%.c=$(FB)/obj/%.o)

$(FB)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(CPPFLAGS) $(PKG_CFLAGS) \
		-MMD -MP -c $< -o $@

$(FB)/fuzz_config: tests/fuzz/fuzz_config.c $(FUZZ_HDR) $(CONFIG_SRC:%.c=$(FB)/obj/%.o)
	$(FUZZ_CC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(CPPFLAGS) $(PKG_CFLAGS) $< \
		$(CONFIG_SRC:%.c=$(FB)/obj/%.o) -o $@ $(CONFIG_LIBS)

$(FB)/fuzz_model: tests/fuzz/fuzz_model.c $(FUZZ_HDR) $(ENGINE_SRC:%.c=$(FB)/obj/%.o)
	$(FUZZ_CC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(CPPFLAGS) $(PKG_CFLAGS) $< \
		$(ENGINE_SRC:%.c=$(FB)/obj/%.o) -o $@ $(PKG_LIBS)

$(FB)/fuzz_bgp_model: tests/fuzz/fuzz_bgp_model.c $(FUZZ_HDR) $(ENGINE_SRC:%.c=$(FB)/obj/%.o)
	$(FUZZ_CC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(CPPFLAGS) $(PKG_CFLAGS) $< \
		$(ENGINE_SRC:%.c=$(FB)/obj/%.o) -o $@ $(PKG_LIBS)

$(FB)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDR) $(PARSER_SRC:%.c=$(FB)/obj/%.o)
	$(FUZZ_CC) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(CPPFLAGS) $(PKG_CFLAGS) $< \
		$(PARSER_SRC:%.c=$(FB)/obj/%.o) -o $@

fuzz-build: $(FUZZ_BIN)

# Seeds from the fixtures, then each harness for FUZZ_SECONDS (or FUZZ_RUNS
# executions), one after the other; the table goes to tests/fuzz/results.txt
# and any crash, leak or timeout fails the target.
fuzz: fuzz-build
	/usr/bin/python3 tests/fuzz/seeds.py $(FB)/seeds
	FUZZ_SECONDS='$(FUZZ_SECONDS)' FUZZ_RUNS='$(FUZZ_RUNS)' sh tests/fuzz/run.sh $(FB) $(FUZZ_NAMES)

# What the corpora cover: the harnesses again, with source-based coverage.
FUZZ_COV := -O0 -g -fprofile-instr-generate -fcoverage-mapping

$(FB)/cov/fuzz_config: tests/fuzz/fuzz_config.c tests/fuzz/replay.c $(FUZZ_HDR) $(CONFIG_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(FUZZ_COV) $(CPPFLAGS) $(PKG_CFLAGS) tests/fuzz/fuzz_config.c \
		tests/fuzz/replay.c $(CONFIG_SRC) -o $@ $(CONFIG_LIBS)

$(FB)/cov/fuzz_model: tests/fuzz/fuzz_model.c tests/fuzz/replay.c $(FUZZ_HDR) $(ENGINE_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(FUZZ_COV) $(CPPFLAGS) $(PKG_CFLAGS) tests/fuzz/fuzz_model.c \
		tests/fuzz/replay.c $(ENGINE_SRC) -o $@ $(PKG_LIBS)

$(FB)/cov/fuzz_bgp_model: tests/fuzz/fuzz_bgp_model.c tests/fuzz/replay.c $(FUZZ_HDR) $(ENGINE_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(FUZZ_COV) $(CPPFLAGS) $(PKG_CFLAGS) tests/fuzz/fuzz_bgp_model.c \
		tests/fuzz/replay.c $(ENGINE_SRC) -o $@ $(PKG_LIBS)

$(FB)/cov/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_HDR) $(PARSER_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(FUZZ_COV) $(CPPFLAGS) $(PKG_CFLAGS) $< tests/fuzz/replay.c \
		$(PARSER_SRC) -o $@

fuzz-coverage: $(FUZZ_NAMES:%=$(FB)/cov/fuzz_%)
	sh tests/fuzz/coverage.sh $(FB) $(FUZZ_NAMES)

clean:
	rm -rf $(B) $(ASAN_B) $(FB)

-include $(MIB_OBJ:.o=.d) $(CAPTURE_OBJ:.o=.d) $(PROBE_OBJ:.o=.d) $(AGENT_OBJ:.o=.d) \
	$(HISTORY_OBJ:.o=.d) $(CLIENT_OBJ:.o=.d) $(BGP_OBJ:.o=.d)
-include $(wildcard $(FB)/obj/*/*.d)
