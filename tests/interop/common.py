"""common.py: what every interop test shares.

The interop tests prove that third-party Kafka clients (librdkafka through
kcat and confluent-kafka, and kafka-python) work unmodified against
`kfk broker`. Each script starts its own broker on ephemeral loopback ports,
runs the clients against it and checks what comes back. This module holds
the parts they share:

- argument parsing (`--kfk PATH`, the built kfk executable),
- requiring a tool or module, failing (never skipping) with the Debian
  package to install when it is missing,
- `Broker`: starts `kfk broker --listen 127.0.0.1:0`, reads the bootstrap
  servers from its first stdout line, waits until every listener accepts
  connections, relays the broker's stderr into the test's log, sends fault
  and control commands on its stdin, and always stops it (SIGTERM, then
  SIGKILL) -- on success, failure, exception or a watchdog timeout. The
  broker also gets PR_SET_PDEATHSIG, so it dies with the test even if the
  test itself is SIGKILLed,
- Java's murmur2 partitioner, self-checked against its published vectors,
- small helpers: unique topic names, bounded waits, `check()`.

Standard library only; the scripts run with /usr/bin/python3 (Debian's
interpreter, where python3-kafka and python3-confluent-kafka live).
"""

import argparse
import ctypes
import faulthandler
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

# The whole script is killed (with a traceback of every thread) after this
# many seconds; meson's own timeout is 300 s.
WATCHDOG_SECONDS = 240

_PR_SET_PDEATHSIG = 1


class TestFailure(Exception):
    """A check failed; the message says what was expected and what came."""


def log(msg):
    print("[interop] " + msg, file=sys.stderr, flush=True)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def fail(msg):
    raise TestFailure(msg)


def require_module(name, package):
    """Imports module `name`; a missing one is a failure naming the package."""
    try:
        return __import__(name, fromlist=["*"])
    except ImportError as e:
        fail(f"Python module '{name}' is missing ({e}); install the Debian "
             f"package: apt-get install {package}  (scripts/build.sh installs "
             f"it; run this test with /usr/bin/python3)")


def require_program(name, package):
    path = shutil.which(name)
    if not path:
        fail(f"program '{name}' is not on PATH; install the Debian package: "
             f"apt-get install {package}  (scripts/build.sh installs it)")
    return path


def unique_topic(prefix):
    return f"interop-{prefix}-{uuid.uuid4().hex[:10]}"


def wait_until(pred, timeout, what, interval=0.1):
    """Polls pred() until it is true; fails naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # keep polling; report the last one
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            fail(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(interval)


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM when the test process dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except OSError:
        pass


def run(argv, timeout, input=None, what=None):
    """Runs a client program with a bound; returns CompletedProcess (bytes).

    A program that outlives `timeout` is killed and the test fails, showing
    the tail of what it wrote to stderr."""
    what = what or os.path.basename(argv[0])
    log(f"run: {' '.join(argv)}")
    try:
        cp = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=timeout,
                            preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired as e:
        tail = (e.stderr or b"")[-4000:].decode("utf-8", "replace")
        fail(f"{what} did not finish within {timeout}s; its stderr ends:\n{tail}")
    return cp


# ---- murmur2 (Java's org.apache.kafka.common.utils.Utils.murmur2) ----------

def murmur2(data):
    """Java-compatible murmur2 of `data` (bytes), as a signed 32-bit int."""
    m = 0x5BD1E995
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    n4 = length // 4
    for i in range(n4):
        j = i * 4
        k = data[j] | (data[j + 1] << 8) | (data[j + 2] << 16) | (data[j + 3] << 24)
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    tail = length & ~3
    extra = length % 4
    if extra >= 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def java_partition(key, num_partitions):
    """The partition Java's default partitioner picks for a non-null key."""
    return (murmur2(key) & 0x7FFFFFFF) % num_partitions


MURMUR2_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def murmur2_self_check():
    for key, want in MURMUR2_VECTORS.items():
        got = murmur2(key)
        check(got == want, f"murmur2 self-check: murmur2({key!r}) = {got}, want {want}")


# ---- the broker --------------------------------------------------------------

class Broker:
    """A `kfk broker` child process on ephemeral loopback ports.

    Use as a context manager; it is stopped on the way out whatever happens.
    `bootstrap` is the "127.0.0.1:PORT,..." string the broker printed first.
    """

    def __init__(self, kfk, brokers=1, partitions=None, configs=(),
                 log_level=None, start_timeout=20):
        self.kfk = kfk
        self.brokers = brokers
        self.partitions = partitions
        self.configs = list(configs)
        self.log_level = log_level if log_level is not None else int(
            os.environ.get("KFK_INTEROP_LOG_LEVEL", "5"))
        self.start_timeout = start_timeout
        self.proc = None
        self.bootstrap = None
        self.addresses = []
        self._tmp = None
        self._lines = []            # every stderr line, for wait_log()
        self._cond = threading.Condition()
        self._stderr_thread = None
        self.exit_status = None

    # -- lifecycle --

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop(raise_problem=False)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop(raise_problem=exc_type is None)
        return False

    def start(self):
        if not (os.path.isfile(self.kfk) and os.access(self.kfk, os.X_OK)):
            fail(f"--kfk {self.kfk}: not an executable file (build it: ninja -C build)")
        self._tmp = tempfile.mkdtemp(prefix="kfk-interop-")
        port_file = os.path.join(self._tmp, "bootstrap")
        argv = [self.kfk, "broker", "--listen", "127.0.0.1:0",
                "--brokers", str(self.brokers), "--port-file", port_file,
                "--log-level", str(self.log_level)]
        if self.partitions is not None:
            argv += ["--partitions", str(self.partitions)]
        for kv in self.configs:
            argv += ["--config", kv]
        log(f"starting broker: {' '.join(argv)}")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     preexec_fn=_die_with_parent)
        self._stderr_thread = threading.Thread(target=self._relay_stderr,
                                               daemon=True)
        self._stderr_thread.start()

        # The first stdout line is the bootstrap string. Read it on a thread
        # so a broker that prints nothing cannot hang us past the timeout.
        first = {}

        def read_first():
            first["line"] = self.proc.stdout.readline()

        t = threading.Thread(target=read_first, daemon=True)
        t.start()
        t.join(self.start_timeout)
        line = first.get("line")
        if not line:
            if line is not None:  # EOF: it is exiting; get its status
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            rc = self.proc.poll()
            time.sleep(0.2)  # let the stderr relay catch up
            state = (f"exited with status {rc} without printing its bootstrap servers"
                     if rc is not None
                     else f"printed nothing within {self.start_timeout}s")
            fail(f"kfk broker {state}; its stderr:\n" + self.stderr_text())
        self.bootstrap = line.decode().strip()
        # Drain the rest of stdout (answers to "offsets") into the log.
        threading.Thread(target=self._relay_stdout, daemon=True).start()
        self.addresses = []
        for hp in self.bootstrap.split(","):
            host, _, port = hp.rpartition(":")
            check(host and port.isdigit(),
                  f"kfk broker's first line is not HOST:PORT[,...]: {self.bootstrap!r}")
            self.addresses.append((host, int(port)))
        check(len(self.addresses) == self.brokers,
              f"asked for {self.brokers} brokers, bootstrap lists {self.bootstrap!r}")
        with open(port_file) as f:
            pf = f.read().strip()
        check(pf == self.bootstrap,
              f"--port-file holds {pf!r}, stdout said {self.bootstrap!r}")
        for host, port in self.addresses:
            wait_until(lambda: self._connects(host, port), self.start_timeout,
                       f"broker {host}:{port} to accept connections")
        log(f"broker up: {self.bootstrap}")

    @staticmethod
    def _connects(host, port):
        with socket.create_connection((host, port), timeout=1):
            return True

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            fail(f"kfk broker died (status {self.proc.returncode}); its stderr:\n"
                 + self.stderr_text())

    def stop(self, timeout=10, raise_problem=True):
        """SIGTERM, wait, SIGKILL. A broker that does not stop cleanly, or
        that had already died, fails the test (after it is gone) unless the
        test is already failing, in which case it is only logged."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        problem = None
        if proc.poll() is not None:
            problem = f"kfk broker had died before the test ended (status {proc.returncode})"
        else:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                problem = f"kfk broker did not exit within {timeout}s of SIGTERM; killed"
            if problem is None and proc.returncode != 0:
                problem = f"kfk broker exited with status {proc.returncode} on SIGTERM"
        self.exit_status = proc.returncode
        try:
            proc.stdin.close()
        except OSError:
            pass
        if self._stderr_thread:
            self._stderr_thread.join(5)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        log(f"broker stopped (status {proc.returncode})")
        if problem and raise_problem:
            fail(problem)
        elif problem:
            log(problem)

    # -- stderr and control --

    def _relay_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            print("[broker] " + line, file=sys.stderr, flush=True)
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()

    def _relay_stdout(self):
        proc = self.proc
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            print("[broker stdout] " + line, file=sys.stderr, flush=True)
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()

    def stderr_text(self):
        with self._cond:
            return "\n".join(self._lines[-200:])

    def command(self, line, timeout=10):
        """Sends one control line ("create T 3", "stop 2", ...) and waits for
        the broker's "kfk broker: CMD: ok" answer; an error answer fails."""
        self.check_alive()
        cmd = line.split()[0]
        with self._cond:
            start = len(self._lines)
        log(f"broker command: {line}")
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        prefix = f"kfk broker: {cmd}: "
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for l in self._lines[start:]:
                    if l.startswith(prefix):
                        check(l == prefix + "ok", f"broker command '{line}' answered: {l}")
                        return
                    if l.startswith("kfk broker: unknown or malformed command"):
                        fail(f"broker command '{line}': {l}")
                left = deadline - time.monotonic()
                if left <= 0:
                    fail(f"broker command '{line}': no answer within {timeout}s")
                self._cond.wait(left)

    def create_topic(self, name, partitions, rf=None):
        self.command(f"create {name} {partitions}" + (f" {rf}" if rf else ""))


# ---- script entry -------------------------------------------------------------

def main(test_fn, description, rdk_help=None):
    """Parses --kfk (and --rdk, a librdkafka twin, when rdk_help says what
    it is), arms the watchdog, runs test_fn(args) and turns the outcome
    into an exit status: 0 pass, 1 fail (with the reason last)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--kfk", required=True, help="path to the built kfk executable")
    if rdk_help:
        ap.add_argument("--rdk", help=rdk_help)
    args = ap.parse_args()
    args.kfk = os.path.abspath(args.kfk)
    if getattr(args, "rdk", None):
        args.rdk = os.path.abspath(args.rdk)
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    started = time.monotonic()
    name = os.path.basename(sys.argv[0])
    try:
        test_fn(args)
    except TestFailure as e:
        log(f"FAIL {name} after {time.monotonic() - started:.1f}s: {e}")
        sys.exit(1)
    except Exception:
        import traceback
        traceback.print_exc()
        log(f"FAIL {name} after {time.monotonic() - started:.1f}s: unexpected exception (above)")
        sys.exit(1)
    log(f"PASS {name} in {time.monotonic() - started:.1f}s")
    sys.exit(0)
