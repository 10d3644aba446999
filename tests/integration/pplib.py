"""Shared helpers for pushpipe's Python integration tests.

Each test starts its own pushpipe on a free loopback port and stops it,
checking that it exits cleanly.  Run under /usr/bin/python3 (Debian's
python3-websockets and python3-websocket)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

PUSHPIPE = os.environ.get("PUSHPIPE") or os.path.join(
    os.environ.get("TOP_BUILDDIR", "."), "pushpipe")
SRCDIR = os.environ.get("TOP_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited early with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("port %d never opened" % port)


class Pushpipe:
    """pushpipe --listen 127.0.0.1:PORT ARGS, with its log in a temp file."""

    def __init__(self, args, env=None, pass_fds=()):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="pushpipe-log-", delete=False)
        cmd = [PUSHPIPE, "--listen", "127.0.0.1:%d" % self.port] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, pass_fds=pass_fds,
                                     env=env if env is not None else os.environ.copy())
        wait_port(self.port, self.proc)
        self.url = "ws://127.0.0.1:%d" % self.port

    def log_text(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("pushpipe did not stop on SIGTERM")
        os.unlink(self.log.name)


@contextlib.contextmanager
def pushpipe(*args, env=None, pass_fds=()):
    """pass_fds: descriptors pushpipe inherits open (besides 0, 1 and 2)."""
    p = Pushpipe(args, env=env, pass_fds=pass_fds)
    try:
        yield p
    except BaseException:
        sys.stderr.write("---- pushpipe log ----\n" + p.log_text())
        raise
    finally:
        p.stop()


class Results:
    """Counts checks and prints the closing 'N passed, M failed' line."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, what, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok   %s" % what)
        else:
            self.failed += 1
            print("FAIL %s %s" % (what, detail))
        sys.stdout.flush()

    def run(self, what, fn, *a, **kw):
        """Run a test function that raises on failure."""
        try:
            fn(*a, **kw)
        except Exception as e:  # report and continue with the other tests
            import traceback
            traceback.print_exc()
            self.check(what, False, "%s: %s" % (type(e).__name__, e))
        else:
            self.check(what, True)

    def finish(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed))
        sys.exit(0 if self.failed == 0 and self.passed > 0 else 1)


def comm_of(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def loop_workers(pid):
    """pushpipe's event-loop workers (--workers): its children named
    pushpipe-loop, which live as long as it does."""
    return [k for k in all_descendants(pid, direct=True) if comm_of(k) == "pushpipe-loop"]


def all_descendants(pid, direct=False):
    """Every descendant of pid (from /proc); direct: children only."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    kids = [int(x) for x in f.read().split()]
                out += kids
                if not direct:
                    todo += kids
        except FileNotFoundError:
            pass
    return out


def pids_of_children(pid):
    """The descendants of pid that serve connections: handlers and
    per-connection workers.  pushpipe's event-loop workers live as long as
    it does, so they are left out (their children are not)."""
    loops = set(loop_workers(pid))
    return [k for k in all_descendants(pid) if k not in loops]


def wait_until(cond, timeout=5.0, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()
