"""A private PostgreSQL server for tests and benchmarks.

initdb in a temporary directory of its own, then `postgres` listening on a
unix socket in that directory only (listen_addresses=''), so nothing outside
the test can reach it and it reaches nothing.  It is stopped by its pid, never
by name, and can be stopped and started again mid-test on the same data.

PostgreSQL refuses to run as root: run as root (as make check may), the
server runs as the user nobody, and the directory is handed to that user.

    with PgServer() as pg:
        conninfo = pg.conninfo()        # "host=/tmp/... dbname=mvpnmon user=mvpnmon"
        pg.stop(); ...; pg.start()      # the server away for a while
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

PG_BIN = os.environ.get("MVPN_PG_BIN", "/usr/lib/postgresql/15/bin")
NOBODY = 65534  # Debian's nobody:nogroup
SUPERUSER = "mvpnmon"
DBNAME = "mvpnmon"
START_TIMEOUT = 60


def available():
    """True when the server's binaries are installed (tests skip otherwise)."""
    return all(os.access(os.path.join(PG_BIN, b), os.X_OK) for b in ("initdb", "postgres"))


class PgServer:
    def __init__(self, settings=None, port=5432, keep=False):
        """settings: more `-c name=value` for postgres (e.g. {"fsync": "off"});
        port: only names the socket file (.s.PGSQL.<port>), nothing listens on TCP."""
        self.settings = dict(settings or {})
        self.port = port
        self.keep = keep
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix="mvpnmon-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self._as = {}
        if os.geteuid() == 0:
            os.chown(self.dir, NOBODY, NOBODY)
            # The socket's directory must be reachable by the clients (root, here).
            self._as = dict(user=NOBODY, group=NOBODY, extra_groups=[])
        os.chmod(self.dir, 0o755)
        self._initdb()

    # ---- set-up ----
    def _run(self, argv, **kw):
        return subprocess.run(argv, capture_output=True, text=True, cwd=self.dir,
                              timeout=120, **self._as, **kw)

    def _initdb(self):
        out = self._run([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", SUPERUSER,
                         "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
        if out.returncode != 0:
            raise RuntimeError(f"initdb failed ({out.returncode}): {out.stderr[-2000:]}")

    # ---- the server ----
    def start(self):
        """Starts postgres and waits until it accepts connections; creates the
        database the first time."""
        if self.proc and self.proc.poll() is None:
            return
        argv = [os.path.join(PG_BIN, "postgres"), "-D", self.data, "-k", self.dir,
                "-p", str(self.port), "-c", "listen_addresses="]
        for k, v in self.settings.items():
            argv += ["-c", f"{k}={v}"]
        logf = open(self.log, "a")
        try:
            self.proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.dir, **self._as)
        finally:
            logf.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._accepting():
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited {self.proc.returncode}: {self.log_text()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("postgres did not accept connections: " + self.log_text()[-2000:])
            time.sleep(0.05)
        self._ensure_db()

    def _accepting(self):
        out = subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-q", "-h", self.dir,
                              "-p", str(self.port), "-d", "postgres", "-U", SUPERUSER],
                             capture_output=True, timeout=30)
        return out.returncode == 0

    def _ensure_db(self):
        have = self.psql("SELECT 1 FROM pg_database WHERE datname = '%s'" % DBNAME, db="postgres")
        if have.strip() != "1":
            self.psql(f"CREATE DATABASE {DBNAME}", db="postgres")

    def stop(self, sig=signal.SIGINT, timeout=60):
        """Stops the server by its pid: SIGINT is PostgreSQL's fast shutdown
        (clients are disconnected, the data stays consistent); SIGQUIT its
        immediate one (as a crash: recovery at the next start)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        self.stop()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.cleanup()

    # ---- clients ----
    def conninfo(self, dbname=DBNAME, user=SUPERUSER):
        return f"host={self.dir} port={self.port} dbname={dbname} user={user}"

    def psql(self, sql, db=DBNAME, user=SUPERUSER, check=True):
        """Runs sql with psql as a client; returns its unaligned, tuples-only output."""
        out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                              "-h", self.dir, "-p", str(self.port), "-U", user, "-d", db,
                              "-c", sql], capture_output=True, text=True, timeout=300)
        if check and out.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {out.stderr}")
        return out.stdout

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""


if __name__ == "__main__":
    # A quick look: python3 tests/tools/pgserver.py  (starts, queries, stops, restarts)
    with PgServer() as pg:
        print(pg.conninfo(), pg.psql("SELECT version()").strip())
        pg.stop()
        pg.start()
        print("restarted, pid", pg.proc.pid, pg.psql("SELECT 1").strip())
