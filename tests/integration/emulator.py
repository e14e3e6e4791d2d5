"""The PE emulator (build/tools/pe-emulator) as a test helper: started inside a
network namespace, reloaded by SIGHUP, stopped by its pid, its JSON-lines log
read back as the ground truth.

    emu = Emulator("ns-name", "/tmp/x/pe.conf", "/tmp/x/pe.log")
    emu.write_config(text)      # or emu.start() with the file already there
    emu.start()
    emu.reload(new_text)        # -> the "reload" or "reload-failed" event
    emu.events("fwd")           # parsed log lines of one kind
    emu.stop()                  # -> exit status; the summary is then in the log
"""
import json
import os
import select
import signal
import subprocess

from conftest import TOP, stop_process, wait_for

# PE_EMULATOR in the environment points the tests at another build (e.g. with sanitizers).
PE_EMULATOR = os.environ.get("PE_EMULATOR") or os.path.join(TOP, "build", "tools", "pe-emulator")
FLUSH_S = 0.1  # the emulator flushes its log at least this often


class Emulator:
    def __init__(self, netns_name, conf_path, log_path, pid_path=None, wrapper=()):
        """netns_name: a namespace name (or a conftest.Netns). wrapper: argv put
        before the emulator, e.g. valgrind's."""
        self.netns = getattr(netns_name, "name", netns_name)
        self.conf = conf_path
        self.log = log_path
        self.pid_path = pid_path or os.path.splitext(log_path)[0] + ".pid"
        self.stderr_path = os.path.splitext(log_path)[0] + ".stderr"
        self.wrapper = list(wrapper)
        self.proc = None
        self.returncode = None

    def write_config(self, text):
        with open(self.conf, "w") as f:
            f.write(text)

    def argv(self):
        return ["ip", "netns", "exec", self.netns, *self.wrapper, PE_EMULATOR,
                "-c", self.conf, "-l", self.log, "-p", self.pid_path]

    def start(self, timeout=10):
        """Starts the emulator and waits for its 'ready' line."""
        assert os.path.exists(PE_EMULATOR), "build it first: make build/tools/pe-emulator"
        with open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(self.argv(), stdout=subprocess.PIPE, stderr=err)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        if line.strip() != "ready":
            self.stop()
            raise AssertionError(f"pe-emulator did not start: {line!r} {self.stderr()}")
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr(self):
        try:
            with open(self.stderr_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def reload(self, text=None, timeout=10):
        """Writes text (if given) as the new config, sends SIGHUP, and returns
        the 'reload' or 'reload-failed' event it caused."""
        if text is not None:
            self.write_config(text)
        before = len(self.events(("reload", "reload-failed")))
        self.proc.send_signal(signal.SIGHUP)
        new = wait_for(lambda: self.events(("reload", "reload-failed"))[before:], timeout)
        assert new, "no reload event in the log"
        return new[0]

    def stop(self, timeout=10):
        """SIGTERM by pid; returns the exit status (the log then holds the summary)."""
        if self.proc is not None:
            stop_process(self.proc, timeout=timeout)
            self.returncode = self.proc.returncode
            self.proc.stdout.close()
        return self.returncode

    def events(self, kind=None):
        """The log's complete lines, parsed; kind: one 'ev' name or a tuple of them."""
        try:
            with open(self.log) as f:
                text = f.read()
        except FileNotFoundError:
            return []
        lines = text.split("\n")[:-1]  # the last piece may be a line still being written
        out = [json.loads(line) for line in lines if line]
        if kind is None:
            return out
        kinds = (kind,) if isinstance(kind, str) else tuple(kind)
        return [e for e in out if e["ev"] in kinds]

    def wait_events(self, kind, count, timeout=10):
        """Waits until at least count events of kind are logged; returns them all.
        The timeout costs nothing when they come: it is generous for a loaded
        machine (the log is flushed every 100 ms)."""
        got = wait_for(lambda: (lambda evs: evs if len(evs) >= count else None)(self.events(kind)),
                       timeout, interval=FLUSH_S / 2)
        return got or self.events(kind)

    def summary(self):
        found = self.events("summary")
        return found[-1] if found else None
