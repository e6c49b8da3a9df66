"""Crash safety: kill -9 during acks=all produce, restart on the same data directory, and
check that every acknowledged message is still there at its offset with its bytes.

Also: graceful shutdown (SIGTERM/SIGINT exit 0 and keep data) and the time to restart
with many partitions (printed, not asserted).
"""

import random
import signal
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from conftest import Broker, unique_topic
from fjord_helpers import (admin_client, consume, create_topic, new_consumer, new_producer,
                           produce_sync, read_messages, wait_for_leaders, watermarks)

PARTITIONS = 4
PRODUCERS = 2
MAX_PRODUCE_S = 60  # per round, until the kill threshold is reached
RECOVERY_DRAIN_S = 3  # after the kill, time to collect acks already on the wire


@pytest.fixture
def node(tmp_path):
    broker = Broker(tmp_path / "data", tmp_path / "logs")
    broker.start()
    yield broker
    if broker.proc is not None:
        broker.stop_ok()


def report(capsys, text):
    """Timings go to the terminal even under -q: informative, never asserted."""
    with capsys.disabled():
        print(f"\n[durability] {text}")


class AckLog:
    """Every successful delivery report: (partition, offset) -> value bytes."""

    def __init__(self):
        self.acked = {}
        self.failures = 0

    def callback(self, error, message):
        if error is not None:
            self.failures += 1
            return
        key = (message.partition(), message.offset())
        assert key not in self.acked, f"offset {key} acknowledged twice"
        self.acked[key] = message.value()


def produce_until_killed(node, topic, round_index, kill_after_acks, acks):
    """Runs PRODUCERS acks=all producers until `kill_after_acks` acknowledgements, then
    kill -9s the broker while they are still sending."""
    rng = random.Random(round_index)
    producers = [new_producer(node.bootstrap, acks="all") for _ in range(PRODUCERS)]
    deadline = time.monotonic() + MAX_PRODUCE_S
    sequence = 0
    start_count = len(acks.acked)
    while len(acks.acked) - start_count < kill_after_acks:
        assert time.monotonic() < deadline, (
            f"only {len(acks.acked) - start_count} acks in {MAX_PRODUCE_S}s")
        producer = producers[sequence % PRODUCERS]
        value = f"r{round_index}-{sequence}-".encode() + rng.randbytes(rng.randint(0, 1500))
        try:
            producer.produce(topic, value=value, partition=sequence % PARTITIONS,
                             on_delivery=acks.callback)
            sequence += 1
        except BufferError:
            pass
        producer.poll(0)
    node.kill()
    # Acks the broker sent before dying may still sit in the clients' queues.
    drain_deadline = time.monotonic() + RECOVERY_DRAIN_S
    while time.monotonic() < drain_deadline:
        for producer in producers:
            producer.poll(0.05)
    for producer in producers:
        producer.purge()
        producer.flush(0)
    return sequence


def verify_everything_acknowledged(node, topic, acks):
    """Reads every partition from the start: acked messages at their offsets with their
    bytes, offsets consecutive from the log start, no consumer errors."""
    for partition in range(PARTITIONS):
        low, high = watermarks(node.bootstrap, topic, partition)
        assert low == 0
        messages = consume(node.bootstrap, topic, partition, offset=OFFSET_BEGINNING,
                           until_offset=high, timeout_s=90) if high > 0 else []
        offsets = [m.offset() for m in messages]
        assert offsets == list(range(high)), f"partition {partition}: gaps or duplicates"
        stored = {m.offset(): m.value() for m in messages}
        acked_here = {o: v for (p, o), v in acks.acked.items() if p == partition}
        missing = [o for o in acked_here if o not in stored]
        assert not missing, f"partition {partition}: acknowledged offsets lost: {missing[:10]}"
        changed = [o for o, v in acked_here.items() if stored[o] != v]
        assert not changed, f"partition {partition}: bytes differ at offsets {changed[:10]}"


@pytest.mark.fjord_timeout(420)
def test_kill_during_acks_all_produce_loses_no_acknowledged_message(node, capsys):
    topic = create_topic(node.bootstrap, unique_topic("dur"), partitions=PARTITIONS)
    acks = AckLog()
    # Kill points: right at the first acks, mid-stream, and after a longer run.
    for round_index, kill_after in enumerate([1, 700, 4000]):
        sent = produce_until_killed(node, topic, round_index, kill_after, acks)
        restart_began = time.monotonic()
        node.start()
        report(capsys, f"kill round {round_index}: {sent} sent, {len(acks.acked)} acked so far, "
                       f"ready {time.monotonic() - restart_began:.2f}s after restart")
        wait_for_leaders(node.bootstrap, topic, PARTITIONS)
        verify_everything_acknowledged(node, topic, acks)
    # After all that the log still takes new writes at the next offsets.
    _, high = watermarks(node.bootstrap, topic, 0)
    delivery = produce_sync(node.bootstrap, topic, [{"value": b"after", "partition": 0}])[0]
    assert delivery.offset() == high


@pytest.mark.fjord_timeout(180)
def test_kill_right_after_topic_creation_keeps_the_topic(node):
    topic = create_topic(node.bootstrap, unique_topic("dur-new"), partitions=3,
                         config={"retention.ms": "123456"})
    node.kill()
    node.start()
    wait_for_leaders(node.bootstrap, topic, 3)
    assert watermarks(node.bootstrap, topic, 2) == (0, 0)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_graceful_shutdown_exits_zero_and_keeps_data(node, sig):
    topic = create_topic(node.bootstrap, unique_topic("dur-stop"), partitions=2)
    sent = [{"value": f"g{i}".encode(), "key": f"{i}".encode(), "partition": i % 2}
            for i in range(500)]
    produce_sync(node.bootstrap, topic, sent, acks="1")
    node.stop_ok(sig)
    node.start()
    for partition in (0, 1):
        got = consume(node.bootstrap, topic, partition, count=250)
        assert [m.value() for m in got] == [m["value"] for m in sent if m["partition"] == partition]


@pytest.mark.fjord_timeout(480)
def test_restart_with_many_partitions(node, capsys):
    partition_count = 2000
    topic = unique_topic("dur-many")
    created_at = time.monotonic()
    create_topic(node.bootstrap, topic, partitions=partition_count)
    report(capsys, f"created {partition_count} partitions in "
                   f"{time.monotonic() - created_at:.2f}s")
    produce_sync(node.bootstrap, topic, [{"value": f"p{p}".encode(), "partition": p}
                                         for p in range(partition_count)], timeout_s=120)
    node.stop_ok()
    node.start(timeout_s=300)
    report(capsys, f"ready {node.last_ready_s:.2f}s after restart, {partition_count} partitions")
    metadata = admin_client(node.bootstrap).list_topics(topic=topic, timeout=30)
    assert len(metadata.topics[topic].partitions) == partition_count
    consumer = new_consumer(node.bootstrap)
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING)
                         for p in range(partition_count)])
        got = read_messages(consumer, count=partition_count, timeout_s=180)
    finally:
        consumer.close()
    assert sorted((m.partition(), m.offset(), m.value()) for m in got) == \
        [(p, 0, f"p{p}".encode()) for p in range(partition_count)]
    # The same after a kill -9 restart.
    node.kill()
    node.start(timeout_s=300)
    report(capsys, f"ready {node.last_ready_s:.2f}s after kill -9, {partition_count} partitions")
    assert watermarks(node.bootstrap, topic, partition_count - 1) == (0, 1)
