"""Never block (issue 12): a master that stalls or hangs costs no packet, no
timer and no signal; a notification counts as sent only once the master took
it; a reload never holds the engines.  The engines run on the main thread,
net-snmp's subagent on a thread of its own (agent/agentx.h)."""
import json
import os
import re
import shutil
import signal
import socket
import struct
import threading
import time

from conftest import (EVENT_TIMEOUT, ONE_PASS, Daemon, FIXTURES, FifoFeed, scalars, serving,
                      wait_for)
from test_alarms import module_notifications
from test_live import cut_capture


def passive_expected(key):
    """What the fixture's generator says the replay of passive.pcap gives."""
    with open(os.path.join(FIXTURES, "passive.expected.json")) as f:
        return json.load(f)[key]


class HungMaster:
    """An AgentX 'master' that accepts every connection and reads what comes,
    and never answers: not the Open-PDU, not a ping."""

    def __init__(self, path):
        self.socket = path
        self.connections = 0
        self._conns = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(path)
        self._sock.listen(8)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._swallow, args=(conn,), daemon=True).start()

    @staticmethod
    def _swallow(conn):
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass

    def stop(self):
        self._sock.close()
        for c in self._conns:
            c.close()


def state_line(daemon, after=0):
    """The SIGUSR1 summary lines logged since offset `after`, parsed."""
    lines = re.findall(r"state: (\d+) VPNs; packets seen (\d+),.*kernel drops (\d+);.*"
                       r"notifications sent (\d+), lost (\d+), waiting (\d+)",
                       daemon.log_text()[after:])
    return [dict(zip(("vpns", "seen", "drops", "sent", "lost", "waiting"), map(int, m)))
            for m in lines]


def test_a_master_that_never_answers_holds_no_packet_and_no_signal(tmp_path):
    """Today's main froze for good in agentx_open_session: no replay, SIGTERM
    pending forever.  Now the replay runs to its end, SIGUSR1 is answered from
    the engines' own state, and SIGTERM stops the daemon with status 0."""
    hung = HungMaster(str(tmp_path / "hung.sock"))
    daemon = Daemon(str(tmp_path), hung)
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), daemon.conf)
    try:
        daemon.start("-r", os.path.join(FIXTURES, "passive.pcap"))
        assert wait_for(lambda: hung.connections >= 1, EVENT_TIMEOUT), daemon.log_text()
        assert wait_for(lambda: "replayed:" in daemon.log_text(), EVENT_TIMEOUT), \
            daemon.log_text()
        daemon.signal(signal.SIGUSR1)
        assert wait_for(lambda: state_line(daemon), EVENT_TIMEOUT), daemon.log_text()
        got = state_line(daemon)[0]
        assert got["vpns"] == 3
        assert got["seen"] == passive_expected("packets_seen")
        assert got["sent"] == 0  # nothing was taken by a master that never answers
        daemon.signal(signal.SIGTERM)
        # How long a stop may wait for the AgentX thread is 3 s (main.c); the
        # margin is for a loaded machine, and only bounds a hang.
        assert daemon.proc.wait(timeout=EVENT_TIMEOUT) == 0, daemon.log_text()
        assert "stopping" in daemon.log_text()
    finally:
        daemon.stop()
        hung.stop()


@ONE_PASS
def test_a_stopped_master_costs_no_packet_and_sends_are_counted_when_taken(
        tmp_path, master, snmp, traps, wire):
    """snmpd is stopped (SIGSTOP) while frames arrive live and alarms clear:
    every frame is counted, none dropped by the kernel, and the notifications
    wait (mvpnNotificationsWaiting) instead of being counted sent; once the
    master runs again they are taken, and only then counted."""
    cut = str(tmp_path / "first20s.pcap")
    frames = cut_capture(os.path.join(FIXTURES, "passive.pcap"), cut, 20)
    loops = max(1, 6000 // frames)
    daemon = Daemon(str(tmp_path / "d"), master)
    os.makedirs(daemon.tmp)
    with open(os.path.join(FIXTURES, "passive.conf")) as f:
        # Pings every 2 s: the old single loop waited on each unanswered one.
        daemon.write_config(f.read() + "notification-rate-limit = 0\nagentx-ping-interval = 2\n")
    daemon.start("-i", wire["monitor_if"], netns=wire["monitor"])
    stopped = False
    try:
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "running", EVENT_TIMEOUT), \
            daemon.log_text()
        # The missing PEs' alarms at start: taken, nothing waits.
        assert wait_for(lambda: scalars(snmp)["mvpnNotificationsWaiting"] == 0
                        and scalars(snmp)["mvpnNotificationsSent"] >= 2, EVENT_TIMEOUT)
        sent_before = scalars(snmp)["mvpnNotificationsSent"]
        mark = len(daemon.log_text())

        os.kill(master.proc.pid, signal.SIGSTOP)
        stopped = True
        wire["player"].run("tcpreplay", "-q", "--pps", "1000", "--loop", str(loops),
                           "-i", wire["player_if"], cut)
        # The engines went on: every frame is counted while the master sleeps.
        def seen_all():
            daemon.signal(signal.SIGUSR1)
            got = state_line(daemon, mark)
            return got and got[-1]["seen"] == frames * loops
        assert wait_for(seen_all, EVENT_TIMEOUT, 1), daemon.log_text()[mark:]
        during = state_line(daemon, mark)[-1]
        assert during["drops"] == 0
        assert during["sent"] == sent_before  # nothing taken by a stopped master
        assert during["waiting"] >= 1         # the PEs that came back: their clears wait

        os.kill(master.proc.pid, signal.SIGCONT)
        stopped = False
        assert wait_for(lambda: serving(snmp) and
                        scalars(snmp)["mvpnNotificationsWaiting"] == 0, EVENT_TIMEOUT), \
            daemon.log_text()[mark:]
        g = scalars(snmp)
        assert g["mvpnPacketsSeen"] == frames * loops
        assert g["mvpnCaptureKernelDrops"] == 0
        assert g["mvpnNotificationsLost"] == 0
        assert g["mvpnNotificationsSent"] > sent_before
        # Each one counted was received.  A notification the master took just as
        # the subagent gave up on a ping is sent again, so a duplicate can come:
        # never a count without a notification.
        assert wait_for(lambda: len(module_notifications(traps)) >= g["mvpnNotificationsSent"],
                        EVENT_TIMEOUT), (g, traps.text())
    finally:
        if stopped:
            os.kill(master.proc.pid, signal.SIGCONT)
        daemon.stop()


def test_a_config_that_is_a_fifo_never_holds_a_reload(tmp_path, daemon, snmp):
    """A SIGHUP with -c naming a FIFO waited in open(2) for a writer that
    never came, holding SNMP and every signal; now the reload says why it
    failed and the old configuration stays."""
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), daemon.conf)
    daemon.start()
    assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
    os.remove(daemon.conf)
    os.mkfifo(daemon.conf)
    daemon.signal(signal.SIGHUP)
    assert wait_for(lambda: scalars(snmp)["mvpnConfigLoadFailures"] == 1, EVENT_TIMEOUT)
    assert "not a regular file" in daemon.log_text()
    assert snmp.get("mvpnVpnCount.0") == "3"
    daemon.signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=EVENT_TIMEOUT) == 0


def sighup_blocked(pid):
    """True once the process has SIGHUP blocked (its signalfd is set up)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigBlk:"):
                    return int(line.split()[1], 16) & (1 << (signal.SIGHUP - 1)) != 0
    except FileNotFoundError:
        pass
    return False


def test_every_signal_is_handled_or_ignored_on_purpose(tmp_path, daemon, snmp):
    """SIGHUP during the start-up load used to kill it (exit 129), as SIGUSR1,
    SIGUSR2 and SIGALRM did at any time.  Now a SIGHUP that comes during the
    load is a reload done after it, and the others are logged."""
    # A configuration big enough that its load takes a while on any machine.
    text = "".join(f'vpn "v{i}" {{ index = {i}  default-mdt = "239.{192 + i // 65536}.'
                   f'{i // 256 % 256}.{i % 256}" }}\n' for i in range(1, 3001))
    daemon.write_config(text)
    daemon.start()
    assert wait_for(lambda: sighup_blocked(daemon.proc.pid) or daemon.proc.poll() is not None,
                    EVENT_TIMEOUT)
    daemon.signal(signal.SIGHUP)  # during the load, or just after it: either way a reload
    for sig in (signal.SIGUSR2, signal.SIGALRM):
        daemon.signal(sig)
    assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
    assert wait_for(lambda: scalars(snmp)["mvpnConfigLoads"] == 2, EVENT_TIMEOUT), \
        daemon.log_text()
    log = daemon.log_text()
    assert "SIGHUP: reloading" in log
    for sig in (signal.SIGUSR2, signal.SIGALRM):
        assert f"signal {int(sig)} ({signal.strsignal(sig)}) from pid" in log, log[-2000:]
    assert daemon.proc.poll() is None
    daemon.signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=EVENT_TIMEOUT) == 0


def test_a_reload_logs_its_summary_not_every_vpn(tmp_path, daemon, snmp):
    """1,600 reloads of 300 VPNs wrote 455 MB of log: a reload says what it did
    in one line, and VPN by VPN only the first ten of each kind of change."""
    def vpns(indexes, mdt_base):
        return "".join(f'vpn "v{i}" {{ index = {i}  default-mdt = "239.{mdt_base}.0.{i}" }}\n'
                       for i in indexes)
    daemon.write_config(vpns(range(1, 61), 192))
    daemon.start()
    assert wait_for(lambda: serving(snmp), EVENT_TIMEOUT), daemon.log_text()
    # 30 VPNs go, 25 of those that stay get another default MDT, 5 stay as they were.
    daemon.write_config(vpns(range(31, 56), 193) + vpns(range(56, 61), 192))
    daemon.signal(signal.SIGHUP)
    assert wait_for(lambda: scalars(snmp)["mvpnConfigLoads"] == 2, EVENT_TIMEOUT)
    log = daemon.log_text()
    assert "30 VPNs (0 added, 30 removed, 25 with a new default MDT; the first 10 of each " \
           "logged above)" in log, log[-2000:]
    assert len(re.findall(r'vpn "v\d+" \(index \d+\) removed', log)) == 10
    assert len(re.findall(r"default MDT changed, learned state reset", log)) == 10
    assert snmp.get("mvpnVpnCount.0") == "30"


# ---- -r from a FIFO whose writer pauses ----

FIFO_FIRST = 40     # records of passive.pcap written before the pause
FIFO_PAUSE_S = 10   # then the writer holds the FIFO open and writes nothing this long
FIFO_ANSWER_S = 3   # and within this much of the pause SNMP must have answered
# The pause when a SIGTERM must stop the daemon before it ends: long enough
# for any exit (a sanitizer build's leak check included).  It is waited
# through only when the daemon does not stop.
FIFO_TERM_PAUSE_S = 60


class PausingWriter:
    """passive.pcap for a FifoFeed: its header and first `first` records, then
    silence with the FIFO held open, `pause` seconds from start_pause() (or
    until release()), then the other records and the end of file.  Waiting for
    start_pause() is silence too: the test starts the clock once the daemon
    has connected to the master, so that no start-up counts against it."""

    def __init__(self, first, pause):
        with open(os.path.join(FIXTURES, "passive.pcap"), "rb") as f:
            data = f.read()
        off = 24
        for _ in range(first):
            off += 16 + struct.unpack_from("<I", data, off + 8)[0]
        self.head, self.tail = data[:off], data[off:]
        self.pause = pause
        self.written_head = threading.Event()
        self._started = threading.Event()
        self._released = threading.Event()
        self.resumed = False

    def __iter__(self):
        yield self.head
        self.written_head.set()
        if self._started.wait(EVENT_TIMEOUT):
            self._released.wait(self.pause)
        self.resumed = True
        yield self.tail

    def start_pause(self):
        self._started.set()

    def release(self):
        self._started.set()
        self._released.set()


def paused_replay(tmp_path, daemon, pause, *extra):
    """mvpnmond -r FIFO, its writer paused after FIFO_FIRST records and the
    pause's clock started: (writer, feed, when the pause started)."""
    writer = PausingWriter(FIFO_FIRST, pause)
    feed = FifoFeed(str(tmp_path / "paused.pcap"), writer)
    shutil.copy(os.path.join(FIXTURES, "passive.conf"), daemon.conf)
    daemon.start("-r", feed.path, *extra)
    assert writer.written_head.wait(EVENT_TIMEOUT), daemon.log_text()
    # Logged by net-snmp on the AgentX thread, which needs no model for it.
    assert wait_for(lambda: "AgentX subagent connected" in daemon.log_text(), EVENT_TIMEOUT), \
        daemon.log_text()
    writer.start_pause()
    return writer, feed, time.monotonic()


def test_a_replay_from_a_paused_fifo_answers_snmp_meanwhile(tmp_path, daemon, snmp):
    """-r from a FIFO whose writer sends 40 packets, then holds it open and
    silent for 10 s: the engine thread used to wait in read(2) holding the
    model, so no GET was answered until the next packet came.  Now SNMP
    answers within 3 s of the pause (on an idle machine, at once) with the
    40 counted, the capture still running; then the rest of the file comes
    and the replay ends as a whole file's does."""
    writer, feed, paused_at = paused_replay(tmp_path, daemon, FIFO_PAUSE_S)
    try:
        def counted_so_far():
            return snmp.get("mvpnPacketsSeen.0") == str(FIFO_FIRST) \
                or time.monotonic() - paused_at > FIFO_ANSWER_S
        wait_for(counted_so_far, EVENT_TIMEOUT, 0.05)
        answered_after = time.monotonic() - paused_at
        assert not writer.resumed, "the pause ended before the test could ask"
        assert answered_after <= FIFO_ANSWER_S and \
            snmp.get("mvpnPacketsSeen.0") == str(FIFO_FIRST), \
            (f"no answer with {FIFO_FIRST} packets {answered_after:.1f} s into a "
             f"{FIFO_PAUSE_S} s pause", daemon.log_text())
        assert snmp.get("mvpnCaptureStatus.0") == "running"
        assert not writer.resumed
        writer.release()
        assert wait_for(lambda: snmp.get("mvpnCaptureStatus.0") == "finished", EVENT_TIMEOUT), \
            daemon.log_text()
    finally:
        writer.release()
        feed.stop()
    assert feed.exhausted
    g = scalars(snmp)
    assert g["mvpnPacketsSeen"] == passive_expected("packets_seen")
    assert g["mvpnStateChanges"] == passive_expected("state_changes")
    assert g["mvpnStateRefreshes"] == passive_expected("refreshes")
    assert f"replayed: {passive_expected('packets_seen')} packets" in daemon.log_text()


def test_sigterm_stops_a_replay_whose_fifo_writer_pauses(tmp_path, daemon, snmp):
    """SIGTERM while the FIFO's writer is silent: the engine thread waited in
    read(2), so the signal was acted on only when the writer wrote again.  Now
    it is acted on at once, and the daemon exits (status 0, pidfile removed)
    while the writer still holds the FIFO open and silent."""
    pidfile = tmp_path / "mvpnmond.pid"
    writer, feed, paused_at = paused_replay(tmp_path, daemon, FIFO_TERM_PAUSE_S, "-p",
                                            str(pidfile))
    try:
        assert wait_for(lambda: pidfile.exists(), EVENT_TIMEOUT)
        daemon.signal(signal.SIGTERM)
        assert wait_for(lambda: "signal 15: stopping" in daemon.log_text()
                        or time.monotonic() - paused_at > FIFO_ANSWER_S, EVENT_TIMEOUT, 0.05)
        acted_after = time.monotonic() - paused_at
        assert "signal 15: stopping" in daemon.log_text() and acted_after <= FIFO_ANSWER_S, \
            (f"SIGTERM not acted on {acted_after:.1f} s into a {FIFO_TERM_PAUSE_S} s pause",
             daemon.log_text())
        assert daemon.proc.wait(EVENT_TIMEOUT) == 0
        # It ended before the writer did: the pause was still on.
        assert not writer.resumed, daemon.log_text()
    finally:
        writer.release()
        feed.stop()
    assert not pidfile.exists()
    assert "replayed:" not in daemon.log_text()
