/*
 * Drives the history store (store.h) for tests/integration/test_history_pg.py,
 * one command a line on stdin, so that the test can stop and start the
 * PostgreSQL server between two calls on one connection.  Every answer ends
 * with a line "ok ..." or "err <message>"; listings come first, one
 * canonical record a line (tests/tools/hist_gen.h).  BACKEND is pg (TARGET a
 * conninfo) or sqlite (a file), so that both can be compared.
 *
 *   open BACKEND MONITOR TARGET...  write as MONITOR ("-": the default name)
 *   open-ro BACKEND TARGET...       the client's read-only open
 *   gen SEED N FIRST_SEQ T0 CP  the batch: N records (hist_gen.h), a checkpoint every CP;
 *                               answers N and the seq after its last change
 *   write                       the batch through the backend's write
 *   expect                      the batch, canonical
 *   read TYPE MONITOR [SINCE UNTIL VPN KIND PE]   (MONITOR "-": every monitor)
 *   state MONITOR AT [VPN]      the state at AT (hist_store_state_at)
 *   next MONITOR AT             the first checkpoint's time at or after AT
 *                               (hist_store_next_checkpoint; "ok none" if none)
 *   monitors
 *   prune BEFORE MAX_BYTES MAX_ROWS
 *   close
 *   wstart BACKEND MONITOR CAP FLUSH_MS BATCH TARGET...   a writer (writer.h)
 *   wput                        the batch into the writer, record by record
 *                               (answers: put, dropped); `expect` before it:
 *                               the writer takes a checkpoint's arrays
 *   wstats                      queued persisted dropped failures store_ok losing;
 *                               the last error on the line before
 *   wstop WAIT_MS
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../history/store.h"
#include "../../history/writer.h"
#include "hist_gen.h"

struct drive {
	struct hist_store *conn;
	struct hist_writer *w;
	struct hist_record *batch;
	size_t n;
	uint64_t rows;
};

static int print_row(void *arg, const struct hist_row *row)
{
	struct drive *d = arg;

	put_record(stdout, row->monitor, &row->rec);
	fputc('\n', stdout);
	d->rows++;
	return 0;
}

static void answer(int rc, const char *err, const char *fmt, uint64_t v)
{
	if (rc < 0)
		printf("err %s\n", err);
	else {
		printf("ok ");
		printf(fmt, v);
		printf("\n");
	}
	fflush(stdout);
}

static void drop_batch(struct drive *d)
{
	gen_free(d->batch, d->n);
	free(d->batch);
	d->batch = NULL;
	d->n = 0;
}

static const char *dash(const char *s)
{
	return s && strcmp(s, "-") ? s : NULL;
}

static void cmd_open(struct drive *d, char *args, bool ro)
{
	char err[512] = "";
	char *backend = strtok_r(args, " ", &args);
	char *monitor = ro ? NULL : strtok_r(args, " ", &args);
	struct hist_location loc = {.target = args, .monitor = dash(monitor), .read_only = ro};

	loc.backend = backend && !strcmp(backend, "sqlite") ? HIST_SQLITE : HIST_POSTGRES;
	if (d->conn)
		hist_store_close(d->conn);
	d->conn = hist_store_open(&loc, err, sizeof(err));
	answer(d->conn ? 0 : -1, err, "open", 0);
}

static void cmd_gen(struct drive *d, const char *args)
{
	uint64_t seed, n, seq, t0, cp;

	drop_batch(d);
	if (sscanf(args, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &seed, &n,
		   &seq, &t0, &cp) != 5 || !(d->batch = calloc(n ? n : 1, sizeof(*d->batch)))) {
		answer(-1, "gen SEED N FIRST_SEQ T0 CP", "", 0);
		return;
	}
	for (uint64_t i = 0; i < n; i++)
		gen_record(&d->batch[i], seed, i, &seq, t0, cp);
	d->n = n;
	printf("ok %" PRIu64 " %" PRIu64 "\n", n, seq); /* the next batch's first seq */
	fflush(stdout);
}

static void cmd_read(struct drive *d, char *args)
{
	char err[512] = "", pe_text[64] = "";
	unsigned type = 0, kind = 0, vpn = 0;
	char monitor[128] = "-";
	struct inet_addr pe;
	struct hist_query q = {.until_ns = UINT64_MAX};

	int got = sscanf(args, "%u %127s %" SCNu64 " %" SCNu64 " %u %u %63s", &type, monitor,
			 &q.since_ns, &q.until_ns, &vpn, &kind, pe_text);
	if (got < 2) {
		answer(-1, "read TYPE MONITOR [SINCE UNTIL VPN KIND PE]", "", 0);
		return;
	}
	q.monitor = dash(monitor);
	q.vpn_index = vpn;
	q.change_kind = (uint8_t)kind;
	if (got == 7 && strcmp(pe_text, "-") && inet_addr_parse(&pe, pe_text))
		q.pe = &pe;
	d->rows = 0;
	int rc = hist_store_read(d->conn, (uint8_t)type, &q, print_row, d, err, sizeof(err));
	answer(rc, err, "%" PRIu64, d->rows);
}

static void cmd_state(struct drive *d, const char *args)
{
	char err[512] = "", monitor[128];
	uint64_t at;
	unsigned vpn = 0;
	struct hist_checkpoint *cp = NULL;

	if (sscanf(args, "%127s %" SCNu64 " %u", monitor, &at, &vpn) < 2) {
		answer(-1, "state MONITOR AT [VPN]", "", 0);
		return;
	}
	int rc = hist_store_state_at(d->conn, dash(monitor), at, vpn, &cp, err, sizeof(err));
	if (rc == 0) {
		struct hist_record r = {.type = HIST_CHECKPOINT, .when_ns = at};
		r.u.checkpoint = cp;
		put_record(stdout, dash(monitor), &r);
		fputc('\n', stdout);
	}
	hist_checkpoint_free(cp);
	answer(rc, err, "%" PRIu64, (uint64_t)rc);
}

static void cmd_next(struct drive *d, const char *args)
{
	char err[512] = "", monitor[128];
	uint64_t at, when = 0;

	if (sscanf(args, "%127s %" SCNu64, monitor, &at) != 2) {
		answer(-1, "next MONITOR AT", "", 0);
		return;
	}
	int rc = hist_store_next_checkpoint(d->conn, dash(monitor), at, &when, err, sizeof(err));
	answer(rc, err, rc == 1 ? "none" : "%" PRIu64, when);
}

static void cmd_monitors(struct drive *d)
{
	char err[512] = "", **names = NULL;
	size_t n = 0;
	int rc = hist_store_monitors(d->conn, &names, &n, err, sizeof(err));

	for (size_t i = 0; i < n; i++)
		printf("%s\n", names[i]);
	hist_store_names_free(names, n);
	answer(rc, err, "%" PRIu64, n);
}

static void cmd_prune(struct drive *d, const char *args)
{
	char err[512] = "";
	uint64_t before, bytes, rows;

	if (sscanf(args, "%" SCNu64 " %" SCNu64 " %" SCNu64, &before, &bytes, &rows) != 3) {
		answer(-1, "prune BEFORE MAX_BYTES MAX_ROWS", "", 0);
		return;
	}
	int64_t n = hist_store_prune(d->conn, before, bytes, rows, err, sizeof(err));
	answer(n < 0 ? -1 : 0, err, "%" PRIu64, n < 0 ? 0 : (uint64_t)n);
}

static void cmd_wstart(struct drive *d, char *args)
{
	char err[512] = "";
	struct hist_settings set = {0};
	char *backend = strtok_r(args, " ", &args), *monitor = strtok_r(args, " ", &args);
	char *cap = strtok_r(args, " ", &args), *flush = strtok_r(args, " ", &args);
	char *batch = strtok_r(args, " ", &args);

	if (!backend || !monitor || !cap || !flush || !batch || !args || d->w) {
		answer(-1, "wstart BACKEND MONITOR CAP FLUSH_MS BATCH TARGET", "", 0);
		return;
	}
	set.loc.backend = !strcmp(backend, "sqlite") ? HIST_SQLITE : HIST_POSTGRES;
	set.loc.target = args;
	set.loc.monitor = dash(monitor);
	set.queue_cap = (uint32_t)strtoul(cap, NULL, 10);
	set.flush_interval_ms = (uint32_t)strtoul(flush, NULL, 10);
	set.batch_max = (uint32_t)strtoul(batch, NULL, 10);
	d->w = hist_writer_start(&set, err, sizeof(err));
	answer(d->w ? 0 : -1, err, "started", 0);
}

static void cmd_wput(struct drive *d)
{
	uint64_t dropped = 0;

	for (size_t i = 0; i < d->n; i++)
		if (!hist_writer_put(d->w, &d->batch[i]))
			dropped++;
	printf("ok %zu %" PRIu64 "\n", d->n, dropped);
	fflush(stdout);
}

static void cmd_wstats(struct drive *d)
{
	struct hist_stats st;

	hist_writer_stats(d->w, &st);
	printf("%s\n", st.last_error);
	printf("ok %" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %d %d\n", st.queued, st.persisted,
	       st.dropped, st.write_failures, st.store_ok, st.losing);
	fflush(stdout);
}

int main(void)
{
	struct drive d = {0};
	char line[4096];

	while (fgets(line, sizeof(line), stdin)) {
		char *args = line, *cmd;
		char err[512] = "";

		line[strcspn(line, "\n")] = '\0';
		cmd = strtok_r(line, " ", &args);
		if (!cmd)
			continue;
		bool writer = cmd[0] == 'w' && strcmp(cmd, "write"); /* wstart, wput... */
		if (writer && strcmp(cmd, "wstart") && !d.w) {
			answer(-1, "no writer", "", 0);
			continue;
		}
		if (strcmp(cmd, "open") && strcmp(cmd, "open-ro") && strcmp(cmd, "gen") &&
		    strcmp(cmd, "expect") && !writer && !d.conn) {
			answer(-1, "not open", "", 0);
			continue;
		}
		if (!strcmp(cmd, "open") || !strcmp(cmd, "open-ro"))
			cmd_open(&d, args, !strcmp(cmd, "open-ro"));
		else if (!strcmp(cmd, "gen"))
			cmd_gen(&d, args);
		else if (!strcmp(cmd, "write")) {
			int rc = hist_store_write(d.conn, d.batch, d.n, err, sizeof(err));
			answer(rc, err, "%" PRIu64, d.n);
		} else if (!strcmp(cmd, "expect")) {
			for (size_t i = 0; i < d.n; i++) {
				put_record(stdout, NULL, &d.batch[i]);
				fputc('\n', stdout);
			}
			answer(0, "", "%" PRIu64, d.n);
		} else if (!strcmp(cmd, "read"))
			cmd_read(&d, args);
		else if (!strcmp(cmd, "wstart"))
			cmd_wstart(&d, args);
		else if (!strcmp(cmd, "wput"))
			cmd_wput(&d);
		else if (!strcmp(cmd, "wstats"))
			cmd_wstats(&d);
		else if (!strcmp(cmd, "wstop")) {
			hist_writer_stop(d.w, (uint32_t)strtoul(args, NULL, 10));
			d.w = NULL;
			answer(0, "", "stopped", 0);
		} else if (!strcmp(cmd, "state"))
			cmd_state(&d, args);
		else if (!strcmp(cmd, "next"))
			cmd_next(&d, args);
		else if (!strcmp(cmd, "monitors"))
			cmd_monitors(&d);
		else if (!strcmp(cmd, "prune"))
			cmd_prune(&d, args);
		else if (!strcmp(cmd, "close")) {
			hist_store_close(d.conn);
			d.conn = NULL;
			answer(0, "", "closed", 0);
		} else
			answer(-1, "unknown command", "", 0);
	}
	if (d.w)
		hist_writer_stop(d.w, 1000);
	if (d.conn)
		hist_store_close(d.conn);
	drop_batch(&d);
	return 0;
}
