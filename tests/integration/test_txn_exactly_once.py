"""Exactly-once consume-transform-produce, by killing: eos_app.py copies an input topic of
numbered records to an output topic in transactions that also commit its consumer offsets.
The test kill -9s the app at random points (and the broker once, restarting it on the same
data directory and port) and restarts whatever died, until the group's committed offsets
reach the end of the input. A read_committed reader of the output must then see every input
record exactly once. The seed of the random kill points is in every failure message.
"""

import collections
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest
from confluent_kafka import TopicPartition

from conftest import unique_topic
from fjord_helpers import create_topic, new_consumer, produce_sync
from txn_helpers import read_to_end

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDS = 2400
PARTITIONS = 3
APP_KILLS = 5
MAX_APP_STARTS = 25
FINISH_TIMEOUT_S = 90


class App:
    """One eos_app.py process; a thread collects its JSON event lines."""

    def __init__(self, log_dir, index, args):
        self.events = []
        self._lock = threading.Lock()
        self.stderr_path = os.path.join(str(log_dir), f"eos-app-{index}.stderr")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "eos_app.py"), json.dumps(args)],
                cwd=HERE, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            event = json.loads(line)
            with self._lock:
                self.events.append(event)

    def all_events(self):
        with self._lock:
            return list(self.events)

    def commits(self):
        return [e for e in self.all_events() if e["event"] == "committed"]

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        if self.alive():
            self.proc.kill()
        self.proc.wait(timeout=10)

    def stderr_tail(self):
        with open(self.stderr_path, errors="replace") as err:
            return "".join(err.readlines()[-20:])


class Run:
    """The app instances of one test run and the offsets they reported committed."""

    def __init__(self, log_dir, args):
        self.log_dir = log_dir
        self.args = args
        self.apps = []
        self.start()

    @property
    def app(self):
        return self.apps[-1]

    def start(self):
        assert len(self.apps) < MAX_APP_STARTS, self.describe()
        self.apps.append(App(self.log_dir, len(self.apps), self.args))

    def total_commits(self):
        return sum(len(app.commits()) for app in self.apps)

    def committed_offsets(self):
        """The group's committed offsets as the apps reported them: what each instance read
        at its start (this includes a commit its killed predecessor made but did not report)
        and what it committed since."""
        offsets = {}
        for app in self.apps:  # in start order: a later instance continues an earlier one
            for event in app.all_events():
                offsets.update({int(p): o for p, o in event["offsets"].items() if o >= 0})
        return offsets

    def restart_if_dead(self):
        if not self.app.alive():
            self.start()

    def finished(self):
        return sum(self.committed_offsets().values()) >= RECORDS

    def wait_for(self, predicate, what):
        """Polls predicate, restarting a dead app; on timeout fails with the app's stacks."""
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        while time.monotonic() < deadline:
            self.restart_if_dead()
            if predicate():
                return
            time.sleep(0.05)
        if self.app.alive():
            self.app.proc.send_signal(signal.SIGUSR1)
            time.sleep(1)
        pytest.fail(f"timed out after {FINISH_TIMEOUT_S}s waiting for {what}: {self.describe()}")

    def describe(self):
        exits = [app.proc.poll() for app in self.apps]
        starts = [[e["offsets"] for e in app.all_events() if e["event"] == "started"]
                  for app in self.apps]
        return (f"{len(self.apps)} app starts (exit codes {exits}, start offsets {starts}), "
                f"{self.total_commits()} commits, offsets {self.committed_offsets()}, last "
                f"commits {[e['offsets'] for e in self.app.commits()[-3:]]}; last app stderr:\n"
                f"{self.app.stderr_tail()}")


@pytest.mark.fjord_timeout(240)
def test_kill_and_count_exactly_once(broker_factory, tmp_path):
    seed = int(os.environ.get("FJORD_EOS_SEED") or int.from_bytes(os.urandom(4), "big"))
    rng = random.Random(seed)
    node = broker_factory()
    port = node.port
    source = create_topic(node.bootstrap, unique_topic("eos-in"), partitions=PARTITIONS)
    sink = create_topic(node.bootstrap, unique_topic("eos-out"), partitions=PARTITIONS)
    inputs = [f"id-{n}" for n in range(RECORDS)]
    produce_sync(node.bootstrap, source, [{"value": v, "partition": n % PARTITIONS}
                                          for n, v in enumerate(inputs)])
    group = unique_topic("eos-group")
    run = Run(tmp_path, {"bootstrap": node.bootstrap, "input": source, "output": sink,
                         "partitions": PARTITIONS, "group": group,
                         "transactional_id": unique_topic("eos-app"), "batch": 20})
    broker_kill_at = rng.randrange(3)  # early, so that it happens before the input ends
    broker_kills = 0
    plan = []
    started_s = time.monotonic()
    try:
        for step in range(APP_KILLS + 1):  # one of the steps kills the broker instead
            target = run.total_commits() + rng.randint(1, 6)
            plan.append(target)

            run.wait_for(lambda: run.total_commits() >= target or run.finished(),
                         f"{target} commits (seed {seed}, plan {plan})")
            if run.finished():
                break
            time.sleep(rng.uniform(0, 0.2))  # somewhere inside the next transaction
            if step == broker_kill_at:
                node.kill()
                node.start(listen=f"127.0.0.1:{port}")
                broker_kills += 1
            else:
                run.app.kill()
                run.start()
        run.wait_for(run.finished, f"the end of the input (seed {seed}, plan {plan})")
    finally:
        run.app.kill()
    context = (f"seed {seed}, kill points {plan}, broker killed at step {broker_kill_at}, "
               f"{len(run.apps)} app starts, {time.monotonic() - started_s:.1f}s")
    print(context)
    assert broker_kills == 1, f"{context}: the input ended before the broker kill"

    per_partition = RECORDS // PARTITIONS
    offsets_reader = new_consumer(node.bootstrap, group_id=group)
    try:
        committed = offsets_reader.committed(
            [TopicPartition(source, p) for p in range(PARTITIONS)], timeout=30)
    finally:
        offsets_reader.close()
    assert [tp.offset for tp in committed] == [per_partition] * PARTITIONS, context

    received = read_to_end(node.bootstrap, [(sink, p) for p in range(PARTITIONS)])
    counts = collections.Counter(m.value().decode() for ms in received.values() for m in ms)
    duplicates = sorted((v, n) for v, n in counts.items() if n != 1)
    missing = [v for v in inputs if v not in counts]
    assert not duplicates, f"{context}: records copied more than once: {duplicates[:10]}"
    assert not missing, f"{context}: {len(missing)} records never copied: {missing[:10]}"
    assert sorted(counts) == sorted(inputs), context
    for (topic, partition), messages in received.items():
        ids = [int(m.value().decode().split("-")[1]) for m in messages]
        assert ids == sorted(ids), f"{context}: partition {partition} out of input order"
