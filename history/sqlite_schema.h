/*
 * The SQLite layout of the logical schema (schema.md).  Only `changes` is
 * physically different: a rowid table whose INTEGER PRIMARY KEY packs
 * (monitor, seq) as (monitor - 1) << 48 | seq, so the B-tree's own key is
 * the store's key (no second index), the first monitor's keys are small
 * varints (3 bytes for a million changes), and a view gives operators the
 * logical columns.  Times are found through the checkpoints table.
 */
#ifndef MVPN_HIST_SQLITE_SCHEMA_H
#define MVPN_HIST_SQLITE_SCHEMA_H

#define HIST_SCHEMA_VERSION 1
#define HIST_SEQ_BITS 48
#define HIST_SEQ_MASK ((1ull << HIST_SEQ_BITS) - 1)
#define HIST_MAX_MONITORS 32767 /* (id - 1) << 48 stays a positive int64 */

static const char HIST_SQLITE_SCHEMA[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE monitors(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE change_log(id INTEGER PRIMARY KEY, when_ns INTEGER NOT NULL,"
	" vpn INTEGER NOT NULL, kind INTEGER NOT NULL, pe BLOB, peer BLOB, c_source BLOB,"
	" c_group BLOB, p_group BLOB, prev BLOB, cur BLOB);"
	"CREATE VIEW changes AS SELECT (id >> 48) + 1 AS monitor, id & 281474976710655 AS seq,"
	" when_ns, vpn, kind, pe, peer, c_source, c_group, p_group, prev, cur FROM change_log;"
	"CREATE TABLE alarms(monitor INTEGER NOT NULL, when_ns INTEGER NOT NULL,"
	" alarm_index INTEGER NOT NULL, kind INTEGER NOT NULL, raised INTEGER NOT NULL,"
	" vpn INTEGER NOT NULL, addr BLOB, peer BLOB, value INTEGER, threshold INTEGER);"
	"CREATE INDEX alarms_when ON alarms(monitor, when_ns);"
	"CREATE TABLE configs(monitor INTEGER NOT NULL, when_ns INTEGER NOT NULL,"
	" ok INTEGER NOT NULL, vpns INTEGER, added INTEGER, removed INTEGER, changed INTEGER);"
	"CREATE INDEX configs_when ON configs(monitor, when_ns);"
	"CREATE TABLE pair_windows(monitor INTEGER NOT NULL, when_ns INTEGER NOT NULL,"
	" vpn INTEGER NOT NULL, src BLOB, dst BLOB, sent INTEGER, received INTEGER, lost INTEGER,"
	" delay_min_us INTEGER, delay_avg_us INTEGER, delay_p99_us INTEGER, jitter_us INTEGER,"
	" status INTEGER);"
	"CREATE INDEX pair_windows_when ON pair_windows(monitor, when_ns);"
	"CREATE TABLE checkpoints(monitor INTEGER NOT NULL, when_ns INTEGER NOT NULL,"
	" last_seq INTEGER NOT NULL, body BLOB NOT NULL);"
	"CREATE INDEX checkpoints_when ON checkpoints(monitor, when_ns, last_seq);"
	"INSERT INTO meta VALUES('schema_version', '1');"
	"INSERT INTO meta VALUES('encoding', 'mvpnmon-1');";

/* Tables added to version 1 since, created by every writer that opens a
 * store without them: older programs never read them, so the version
 * stays. */
static const char HIST_SQLITE_ADDED[] =
	"CREATE TABLE IF NOT EXISTS faults(monitor INTEGER NOT NULL, when_ns INTEGER NOT NULL,"
	" fault_id INTEGER NOT NULL, located INTEGER NOT NULL, vpn INTEGER NOT NULL,"
	" metric INTEGER NOT NULL, kind INTEGER NOT NULL, flags INTEGER, pe BLOB, peer BLOB,"
	" loss_ppm INTEGER, low_ppm INTEGER, high_ppm INTEGER, echo_loss_ppm INTEGER,"
	" shift_us INTEGER, pairs INTEGER, since_ns INTEGER);"
	"CREATE INDEX IF NOT EXISTS faults_when ON faults(monitor, when_ns);";

#endif
