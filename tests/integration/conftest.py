"""Fixtures for the integration tests: a real `fjord serve` process and real clients.

`FJORD_BIN` names the broker binary (scripts/test.sh sets it to the sanitized build).
Every wait in this suite has a deadline, and every test runs under a SIGALRM watchdog
(`fjord_timeout` marker, seconds) so that a hung broker fails a test instead of hanging CI.
When a test fails, the tail of the stderr of every broker it touched is attached to the report.
"""

import os
import re
import signal
import subprocess
import time
import uuid

import pytest

READY_PATTERN = re.compile(
    r"fjord ready: kafka listener ([0-9.]+):(\d+), node (\d+), data (.+)")
DEFAULT_TEST_TIMEOUT_S = 120
BROKER_READY_TIMEOUT_S = 60
BROKER_STOP_TIMEOUT_S = 30
STDERR_TAIL_LINES = 80


class WatchdogTimeout(Exception):
    """Raised by the SIGALRM watchdog when a test runs past its deadline."""


def broker_binary():
    path = os.environ.get("FJORD_BIN")
    if not path:
        pytest.fail("FJORD_BIN is not set: point it at the built `fjord` binary")
    if not os.access(path, os.X_OK):
        pytest.fail(f"FJORD_BIN={path} is not an executable file")
    return path


class Broker:
    """One `fjord serve` process on a data directory that outlives restarts."""

    # Every broker started in this session, to dump their stderr on failure.
    started = []

    def __init__(self, data_dir, log_dir, settings=None):
        self.data_dir = str(data_dir)
        self.log_dir = str(log_dir)
        self.settings = dict(settings or {})
        self.proc = None
        self.port = None
        self.node_id = None
        self.generation = 0
        self.last_ready_s = None
        self.last_start_time = 0.0
        os.makedirs(self.data_dir, exist_ok=True)
        os.makedirs(self.log_dir, exist_ok=True)

    @property
    def bootstrap(self):
        assert self.port is not None, "broker is not running"
        return f"127.0.0.1:{self.port}"

    @property
    def stderr_path(self):
        return os.path.join(self.log_dir, f"stderr.{self.generation}.log")

    @property
    def stdout_path(self):
        return os.path.join(self.log_dir, f"stdout.{self.generation}.log")

    def command(self, listen):
        cmd = [broker_binary(), "serve", "--data-dir", self.data_dir, "--listen", listen]
        for key, value in self.settings.items():
            cmd += ["--set", f"{key}={value}"]
        return cmd

    def start(self, timeout_s=BROKER_READY_TIMEOUT_S, listen="127.0.0.1:0"):
        assert not self.running(), "broker already running"
        self.generation += 1
        self.port = None
        started_at = time.monotonic()
        self.last_start_time = time.time()
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.command(listen), stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL)
        Broker.started.append(self)
        deadline = started_at + timeout_s
        while time.monotonic() < deadline:
            match = self._ready_line()
            if match:
                self.port = int(match.group(2))
                self.node_id = int(match.group(3))
                self.last_ready_s = time.monotonic() - started_at
                return self
            if self.proc.poll() is not None:
                pytest.fail(f"fjord exited with {self.proc.returncode} before it was ready\n"
                            f"{self.stderr_tail()}")
            time.sleep(0.02)
        self.kill()
        pytest.fail(f"fjord not ready within {timeout_s}s\n{self.stderr_tail()}")

    def _ready_line(self):
        with open(self.stdout_path, "r", errors="replace") as out:
            for line in out:
                match = READY_PATTERN.search(line)
                if match:
                    return match
        return None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout_s=BROKER_STOP_TIMEOUT_S):
        """Graceful shutdown. Returns the exit code; kills and fails on a hang."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                pytest.fail(f"fjord ignored {sig.name} for {timeout_s}s\n{self.stderr_tail()}")
        code = self.proc.returncode
        self.proc = None
        return code

    def stop_ok(self, sig=signal.SIGTERM):
        code = self.stop(sig)
        assert code == 0, f"fjord exited with {code} on {sig.name}\n{self.stderr_tail()}"

    def kill(self):
        """kill -9: no chance to flush or close anything."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self, kill=False, timeout_s=BROKER_READY_TIMEOUT_S):
        if kill:
            self.kill()
        else:
            self.stop_ok()
        return self.start(timeout_s=timeout_s)

    def stderr_tail(self, lines=STDERR_TAIL_LINES):
        try:
            with open(self.stderr_path, "r", errors="replace") as err:
                tail = err.readlines()[-lines:]
        except OSError:
            return "(no stderr file)"
        return f"--- fjord stderr ({self.stderr_path}, last {lines} lines) ---\n" + "".join(tail)


def unique_topic(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def recent_timestamp_ms():
    """A whole second about an hour ago: explicit record timestamps must be recent, or
    time-based retention (7 days by default) may delete the test's data under it."""
    return (int(time.time()) - 3600) * 1000


def wait_until(predicate, timeout_s, what, interval_s=0.1):
    """Polls predicate until it returns a truthy value; fails after timeout_s."""
    deadline = time.monotonic() + timeout_s
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # the thing we wait for may fail until it is ready
            last_error = error
        time.sleep(interval_s)
    pytest.fail(f"timed out after {timeout_s}s waiting for {what}; last error: {last_error!r}")


# ---------------------------------------------------------------------------- fixtures


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "fjord_timeout(seconds): watchdog deadline for one test (default 120)")


@pytest.fixture(autouse=True)
def _watchdog(request):
    marker = request.node.get_closest_marker("fjord_timeout")
    timeout_s = int(marker.args[0]) if marker else DEFAULT_TEST_TIMEOUT_S

    def on_alarm(signum, frame):
        raise WatchdogTimeout(f"test exceeded its {timeout_s}s deadline")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(timeout_s)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def _brokers_stay_alive(request):
    """Fails the test if a broker it used died on its own (crash, sanitizer report)."""
    running_before = [b for b in Broker.started if b.running()]
    yield
    for broker in running_before:
        if broker.proc is not None and broker.proc.poll() is not None:
            code = broker.proc.returncode
            broker.proc = None
            pytest.fail(f"fjord died during the test with exit code {code}\n"
                        f"{broker.stderr_tail()}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        test_start = getattr(item, "_fjord_start_time", 0.0)
        seen = set()
        for broker in Broker.started:
            if id(broker) in seen:
                continue
            seen.add(id(broker))
            if broker.running() or broker.last_start_time >= test_start:
                report.sections.append((f"fjord stderr {broker.data_dir}", broker.stderr_tail()))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item._fjord_start_time = time.time()


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A fresh broker with default settings, shared by the tests of one module."""
    root = tmp_path_factory.mktemp("fjord")
    node = Broker(root / "data", root / "logs")
    node.start()
    yield node
    if node.proc is not None:
        node.stop_ok()


@pytest.fixture
def broker_factory(tmp_path):
    """Starts extra brokers with custom `--set` settings; stops them after the test."""
    created = []

    def make(settings=None, name="node"):
        node = Broker(tmp_path / name / "data", tmp_path / name / "logs", settings)
        created.append(node)
        return node.start()

    yield make
    for node in created:
        if node.proc is not None:
            node.stop_ok()
