/* mib/locate: the tomography fed from probing, faults located with the pair
 * thresholds, their notices when they come and go, and the pair alarms that
 * name where their cause lies. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "../../mib/locate.h"
#include "../../mib/log.h"
#include "../../mib/model.h"

#define S MTIME_SEC
#define MS (MTIME_SEC / 1000)
#define N 4

static struct inet_addr A(const char *text)
{
	struct inet_addr a;
	if (!inet_addr_parse(&a, text))
		abort();
	return a;
}

static void quiet(int priority, const char *fmt, va_list ap)
{
	(void)priority, (void)fmt, (void)ap;
}

static struct inet_addr pe(int i)
{
	char text[32];
	snprintf(text, sizeof(text), "198.18.1.%d", i);
	return A(text);
}

/* Four PEs, each a sender and a receiver, 200 probes a second, a 2 s window,
 * loss rising 4 %, falling 1 %. */
static struct model *four_pe_model(void)
{
	struct model *m = model_new(false);
	struct inet_addr mdt = A("239.192.1.1"), pes[N];
	struct vpn *v;

	for (int i = 0; i < N; i++)
		pes[i] = pe(i + 1);
	struct probe_settings ps = {.rate = 200, .size = 64, .window = 2, .port = 5010,
				    .igmp_version = 3, .senders = pes, .n_senders = N,
				    .receivers = pes, .n_receivers = N};
	mvpn_log_set_sink(quiet);
	changelog_resize(&m->changes, 1000);
	m->probing.timing = (struct probe_timing){.loss_timeout = 1 * S, .unreachable_time = 5 * S};
	v = vpn_get(m, 1);
	vpn_configure(v, "red", &mdt, pes, N);
	v->thresholds.t[METRIC_LOSS] = (struct threshold){.rising = 40000, .falling = 10000};
	if (!vpn_probe_configure(m, v, &ps, 1 * S))
		abort();
	return m;
}

/* Whether receiver j gets probe k of sender i (1-based PEs). */
typedef bool (*fate_fn)(int i, int j, int k);

static bool all_arrive(int i, int j, int k)
{
	(void)i, (void)j, (void)k;
	return true;
}

/* PE 2's sender side loses one probe in ten: for every receiver at once. */
static bool sender_2_loses(int i, int j, int k)
{
	(void)j;
	return i != 2 || k % 10 != 3;
}

/* The path 1 -> 4 alone loses one probe in ten. */
static bool path_1_4_loses(int i, int j, int k)
{
	return !(i == 1 && j == 4 && k % 10 == 7);
}

static void probe_for(struct model *m, mtime_t *t, int seconds, fate_fn fate)
{
	struct vpn_probe *vp = vpn_find(m, 1)->probing;

	for (int k = 0; k < seconds * 200; k++, *t += 5 * MS) {
		for (int i = 1; i <= N; i++) {
			struct inet_addr s = pe(i);
			uint64_t seq = probing_tx(&m->probing, vp, (size_t)i - 1, *t, (int64_t)*t);
			for (int j = 1; j <= N; j++) {
				struct inet_addr r = pe(j);
				if (j != i && fate(i, j, k))
					probing_rx(&m->probing, m, 1, &s, seq, &r,
						   (int64_t)*t + 5000000, *t + 5 * MS);
			}
		}
		probing_tick(&m->probing, m, *t);
		alarms_run(m, *t);
	}
}

/* The fault notices queued, as "L1:198.18.1.2" (located, kind, PE) or "C3:..."
 * (cleared), in order; the threshold notices are skipped. */
static const char *fault_notices(struct model *m)
{
	static char out[512];
	size_t len = 0;
	struct notice n;

	out[0] = '\0';
	while (notice_pop(&m->alarms, &n) && len < sizeof(out) - 64) {
		char a[INET_ADDR_STRLEN] = "", b[INET_ADDR_STRLEN] = "";
		if (n.kind != NOTICE_FAULT_LOCATED && n.kind != NOTICE_FAULT_CLEARED)
			continue;
		if (n.addr.type)
			inet_addr_format(&n.addr, a);
		if (n.peer.type)
			inet_addr_format(&n.peer, b);
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%c%d:%s%s%s",
					len ? " " : "", n.kind == NOTICE_FAULT_LOCATED ? 'L' : 'C',
					n.fault.kind, a, *b ? ">" : "", b);
	}
	return out;
}

static const struct alarm *alarm_of(struct model *m, int i, int j)
{
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	struct pair *pr = vp->pairs[(size_t)(i - 1) * vp->n + (size_t)(j - 1)];

	return pr->alarm_index[METRIC_LOSS]
		       ? alarm_find(&m->alarms.table, pr->alarm_index[METRIC_LOSS])
		       : NULL;
}

TEST(a_sender_side_loss_is_located_named_in_its_alarms_and_cleared)
{
	struct model *m = four_pe_model();
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	mtime_t t = 1 * S;
	char text[ALARM_DESCR_MAX];

	CHECK(vp->tomo != NULL);
	probe_for(m, &t, 5, all_arrive);
	CHECK_EQ_STR(fault_notices(m), "");
	probe_for(m, &t, 5, sender_2_loses);
	CHECK_EQ_STR(fault_notices(m), "L1:198.18.1.2");
	CHECK_EQ_INT(vp->faults.n, 1);
	CHECK_EQ_INT(vp->faults.v[0].pairs, 3);
	CHECK(!vp->faults.unreliable);
	/* The estimate: 10 % within its interval; the other sides clean. */
	CHECK_EQ_INT(vp->estimates->sender[1].status, TOMO_OK);
	CHECK(vp->estimates->sender[1].low_ppm <= 100000 &&
	      vp->estimates->sender[1].high_ppm >= 100000);
	CHECK(vp->estimates->receiver[2].loss_ppm < 10000);
	for (int j = 1; j <= N; j++) {
		const struct alarm *al = j == 2 ? NULL : alarm_of(m, 2, j);
		if (j == 2)
			continue;
		CHECK(al != NULL);
		alarm_describe(al, text, sizeof(text));
		CHECK(strstr(text, "; located: sender side of PE 198.18.1.2") != NULL);
	}
	CHECK(alarm_of(m, 1, 3) == NULL);
	probe_for(m, &t, 5, all_arrive);
	CHECK_EQ_STR(fault_notices(m), "C1:198.18.1.2");
	CHECK_EQ_INT(vp->faults.n, 0);
	model_free(m);
}

TEST(one_lossy_path_is_its_own_fault_and_nothing_else_is_blamed)
{
	struct model *m = four_pe_model();
	mtime_t t = 1 * S;
	char text[ALARM_DESCR_MAX];

	probe_for(m, &t, 10, path_1_4_loses);
	CHECK_EQ_STR(fault_notices(m), "L3:198.18.1.1>198.18.1.4");
	alarm_describe(alarm_of(m, 1, 4), text, sizeof(text));
	CHECK(strstr(text, "; located: path 198.18.1.1 -> 198.18.1.4") != NULL);
	model_free(m);
}

TEST(a_reload_with_the_same_pes_keeps_the_faults_and_other_pes_clear_them)
{
	struct model *m = four_pe_model();
	struct vpn *v = vpn_find(m, 1);
	mtime_t t = 1 * S;
	struct inet_addr pes[N] = {pe(1), pe(2), pe(3), pe(4)};
	struct probe_settings ps = {.rate = 200, .size = 64, .window = 2, .port = 5010,
				    .igmp_version = 3, .senders = pes, .n_senders = N,
				    .receivers = pes, .n_receivers = N};

	probe_for(m, &t, 10, sender_2_loses);
	CHECK_EQ_STR(fault_notices(m), "L1:198.18.1.2");
	CHECK(vpn_probe_configure(m, v, &ps, t));
	CHECK_EQ_INT(v->probing->faults.n, 1);
	probe_for(m, &t, 1, sender_2_loses);
	CHECK_EQ_STR(fault_notices(m), ""); /* the same fault: no new notice */
	ps.n_receivers = 3;                 /* PE 4 no longer receives */
	CHECK(vpn_probe_configure(m, v, &ps, t));
	CHECK_EQ_STR(fault_notices(m), "C1:198.18.1.2");
	model_free(m);
}

/* A reload without the VPN: its published faults are announced cleared
 * (with its name) before it goes, once, and a VPN that never had one says
 * nothing. */
TEST(a_vpn_deleted_by_a_reload_clears_its_faults)
{
	struct model *m = four_pe_model();
	mtime_t t = 1 * S;
	uint32_t none[1] = {0}, one[1] = {1};
	struct notice n;

	probe_for(m, &t, 10, sender_2_loses);
	CHECK_EQ_STR(fault_notices(m), "L1:198.18.1.2");
	CHECK(model_set_vpns(m, one, 1, NULL, NULL)); /* kept: nothing said */
	CHECK_EQ_STR(fault_notices(m), "");
	CHECK(model_set_vpns(m, none, 0, NULL, NULL));
	CHECK(vpn_find(m, 1) == NULL);
	alarms_reconfigured(m); /* the pair alarms, ownerless, clear */
	/* In order: the fault cleared first, for VPN 1 "red". */
	CHECK(notice_pop(&m->alarms, &n));
	CHECK_EQ_INT(n.kind, NOTICE_FAULT_CLEARED);
	CHECK_EQ_INT(n.vpn_index, 1);
	CHECK_EQ_STR(n.vpn_name, "red");
	CHECK_EQ_INT(n.fault.kind, FAULT_SENDER_SIDE);
	CHECK_EQ_STR(fault_notices(m), "");
	model_free(m);

	/* The same through vpn_remove, and a VPN with no fault: silent. */
	m = four_pe_model();
	t = 1 * S;
	probe_for(m, &t, 10, sender_2_loses);
	CHECK_EQ_STR(fault_notices(m), "L1:198.18.1.2");
	vpn_remove(m, 1);
	CHECK_EQ_STR(fault_notices(m), "C1:198.18.1.2");
	model_free(m);
	m = four_pe_model();
	t = 1 * S;
	probe_for(m, &t, 5, all_arrive);
	CHECK(model_set_vpns(m, none, 0, NULL, NULL));
	CHECK_EQ_STR(fault_notices(m), "");
	model_free(m);
}

/* A restart without history is a new model: nothing of the faults
 * survives; the same loss is located again once, one row, its since on the
 * new clock, and not announced twice while it lasts. */
TEST(a_restart_locates_afresh_once)
{
	struct model *m = four_pe_model();
	mtime_t t = 1 * S;

	probe_for(m, &t, 10, sender_2_loses);
	CHECK_EQ_STR(fault_notices(m), "L1:198.18.1.2");
	model_free(m);

	m = four_pe_model();
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	CHECK_EQ_INT(vp->faults.n, 0);
	t = 1 * S;
	probe_for(m, &t, 2, sender_2_loses); /* the window is not full yet */
	CHECK_EQ_STR(fault_notices(m), "");
	CHECK_EQ_INT(vp->faults.n, 0);
	probe_for(m, &t, 10, sender_2_loses);
	CHECK_EQ_STR(fault_notices(m), "L1:198.18.1.2");
	CHECK_EQ_INT(vp->faults.n, 1);
	CHECK(vp->faults.v[0].since > 3 * S);
	model_free(m);
}

/* What the history is told of faults: "L<id>" located, "C<id>" cleared. */
static char recorded[256];

static void on_fault(void *ctx, const struct model *m, uint32_t vpn_index, const struct fault *f,
		     bool located, mtime_t when)
{
	size_t len = strlen(recorded);

	(void)ctx, (void)m, (void)when;
	snprintf(recorded + len, sizeof(recorded) - len, "%s%c%u/%u", len ? " " : "",
		 located ? 'L' : 'C', f->id, vpn_index);
}

static void record_faults(struct model *m)
{
	recorded[0] = '\0';
	m->observer = (struct model_observer){.fault = on_fault};
}

/* PE 2's sender side, located in a first run: the fault as that run's
 * history has it (its id and since), and the model is gone.  False when
 * that run did not go as the first test says it does. */
static bool located_before_restart(struct fault *f)
{
	struct model *m = four_pe_model();
	mtime_t t = 1 * S;
	char want[32];
	bool ok;

	record_faults(m);
	probe_for(m, &t, 10, sender_2_loses);
	ok = !strcmp(fault_notices(m), "L1:198.18.1.2") && vpn_find(m, 1)->probing->faults.n == 1;
	if (ok) {
		*f = vpn_find(m, 1)->probing->faults.v[0];
		snprintf(want, sizeof(want), "L%u/1", f->id);
		ok = f->id && !strcmp(recorded, want);
	}
	model_free(m);
	return ok;
}

/* Restored, then found again once the windows have filled: no notice at
 * all, the same row (id, since) throughout, nothing recorded. */
TEST(a_restored_fault_found_again_is_kept_silently)
{
	struct fault f;
	CHECK(located_before_restart(&f));
	struct model *m = four_pe_model();
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	mtime_t t = 1 * S;
	uint32_t want[] = {1, 1, 1};

	record_faults(m);
	CHECK(locate_restore(m, 1, "red", &f));
	CHECK_EQ_INT(vp->faults.n, 1);
	CHECK(fault_seek(vp, want, 0, false) == &vp->faults.v[0]); /* served at once */
	CHECK(locate_unreliable(vp) == false);
	probe_for(m, &t, 2, sender_2_loses); /* the windows are not full yet */
	CHECK_EQ_STR(fault_notices(m), "");
	CHECK_EQ_INT(vp->faults.n, 1);
	CHECK(vp->faults.restored);
	probe_for(m, &t, 10, sender_2_loses);
	CHECK_EQ_STR(fault_notices(m), "");
	CHECK_EQ_STR(recorded, "");
	CHECK(!vp->faults.restored);
	CHECK_EQ_INT(vp->faults.n, 1);
	CHECK_EQ_INT(vp->faults.v[0].kind, FAULT_SENDER_SIDE);
	CHECK_EQ_INT(vp->faults.v[0].id, f.id);
	CHECK_EQ_INT(vp->faults.v[0].since, f.since);
	/* and when it stops, one clear under the same id */
	probe_for(m, &t, 5, all_arrive);
	CHECK_EQ_STR(fault_notices(m), "C1:198.18.1.2");
	char rec[32];
	snprintf(rec, sizeof(rec), "C%u/1", f.id);
	CHECK_EQ_STR(recorded, rec);
	model_free(m);
}

/* Restored, and not found by the first run with full windows (one window
 * and the loss timeout after probing started: 4 s here): exactly one
 * clear, then, and a fault located later takes a new id. */
TEST(a_restored_fault_not_found_again_is_cleared_once_when_the_windows_fill)
{
	struct fault f;
	CHECK(located_before_restart(&f));
	struct model *m = four_pe_model();
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	mtime_t t = 1 * S;
	char want[64];
	struct notice n;

	record_faults(m);
	CHECK(locate_restore(m, 1, "red", &f));
	probe_for(m, &t, 2, all_arrive); /* up to 3 s: held */
	CHECK_EQ_STR(fault_notices(m), "");
	CHECK_EQ_INT(vp->faults.n, 1);
	probe_for(m, &t, 1, all_arrive); /* 3 s to 4 s: the last run is at 4 s - 5 ms */
	CHECK_EQ_STR(fault_notices(m), "");
	probe_for(m, &t, 1, all_arrive); /* the run at 4 s clears it */
	CHECK(notice_pop(&m->alarms, &n));
	CHECK_EQ_INT(n.kind, NOTICE_FAULT_CLEARED);
	CHECK_EQ_INT(n.at, 4 * S);
	CHECK_EQ_INT(n.fault.since, f.since);
	CHECK_EQ_INT(n.fault.kind, FAULT_SENDER_SIDE);
	CHECK_EQ_STR(fault_notices(m), "");
	CHECK_EQ_INT(vp->faults.n, 0);
	snprintf(want, sizeof(want), "C%u/1", f.id);
	CHECK_EQ_STR(recorded, want);
	probe_for(m, &t, 10, all_arrive);
	CHECK_EQ_STR(fault_notices(m), ""); /* once */
	probe_for(m, &t, 10, path_1_4_loses);
	CHECK_EQ_STR(fault_notices(m), "L3:198.18.1.1>198.18.1.4");
	CHECK(vp->faults.v[0].id > f.id);
	model_free(m);
}

/* A restored fault whose VPN is gone, whose PE is no longer probed, whose
 * side the PE no longer has, or whose metric is no longer judged: cleared
 * at once, under the name the VPN had. */
TEST(a_restored_fault_no_longer_configured_is_cleared_at_once)
{
	struct fault f;
	CHECK(located_before_restart(&f));
	struct model *m = four_pe_model();
	struct vpn_probe *vp = vpn_find(m, 1)->probing;
	struct fault other = f;
	struct notice n;

	record_faults(m);
	CHECK(!locate_restore(m, 7, "blue", &f));
	CHECK(notice_pop(&m->alarms, &n));
	CHECK_EQ_INT(n.kind, NOTICE_FAULT_CLEARED);
	CHECK_EQ_INT(n.vpn_index, 7);
	CHECK_EQ_STR(n.vpn_name, "blue");
	CHECK_EQ_INT(n.fault.kind, FAULT_SENDER_SIDE);
	CHECK(inet_addr_eq(&n.addr, &f.pe_addr));
	other.kind = FAULT_PATH, other.peer_addr = pe(9), other.id = f.id + 1;
	CHECK(!locate_restore(m, 1, "red", &other)); /* no pair 2 -> 9 */
	other.kind = FAULT_RECEIVER_SIDE, other.pe_addr = pe(9), other.peer_addr = (struct inet_addr){0};
	other.id = f.id + 2;
	CHECK(!locate_restore(m, 1, "red", &other)); /* PE 9 is not probed */
	other = f, other.metric = METRIC_DELAY, other.id = f.id + 3;
	CHECK(!locate_restore(m, 1, "red", &other)); /* delay is not judged */
	CHECK_EQ_STR(fault_notices(m), "C3:198.18.1.2>198.18.1.9 C2:198.18.1.9 C1:198.18.1.2");
	char want[128];
	snprintf(want, sizeof(want), "C%u/7 C%u/1 C%u/1 C%u/1", f.id, f.id + 1, f.id + 2,
		 f.id + 3);
	CHECK_EQ_STR(recorded, want);
	CHECK_EQ_INT(vp->faults.n, 0);
	CHECK(!vp->faults.restored);
	CHECK(m->alarms.next_fault_id > f.id + 3); /* none of them is given again */
	model_free(m);
}

UNIT_MAIN("locate", T(a_sender_side_loss_is_located_named_in_its_alarms_and_cleared),
	  T(one_lossy_path_is_its_own_fault_and_nothing_else_is_blamed),
	  T(a_reload_with_the_same_pes_keeps_the_faults_and_other_pes_clear_them),
	  T(a_vpn_deleted_by_a_reload_clears_its_faults), T(a_restart_locates_afresh_once),
	  T(a_restored_fault_found_again_is_kept_silently),
	  T(a_restored_fault_not_found_again_is_cleared_once_when_the_windows_fill),
	  T(a_restored_fault_no_longer_configured_is_cleared_at_once))
