"""Retention and compaction end to end: the broker's maintenance loop deletes old
segments by time and by size and compacts `cleanup.policy=compact` topics, and a
real consumer (confluent_kafka) sees the result."""
import time

from conftest import unique_topic, wait_until
from fjord_helpers import consume, create_topic, produce_sync, watermarks

# Maintenance every 200 ms instead of minutes, so the tests see it act.
FAST_MAINTENANCE = {"log.retention.check.interval.ms": "200", "log.cleaner.backoff.ms": "200"}
# Small segments so that data leaves the active segment (which is never deleted
# by time while being written, nor compacted).
SMALL_SEGMENTS = {"segment.bytes": "2048"}


def produce_in_batches(bootstrap, topic, messages, per_batch=5):
    """One produce (so one record batch) per `per_batch` messages: a segment rolls only
    between batches, and the client would otherwise send everything as one batch."""
    for start in range(0, len(messages), per_batch):
        produce_sync(bootstrap, topic, messages[start:start + per_batch])


def test_time_retention_deletes_expired_segments(broker_factory):
    node = broker_factory(FAST_MAINTENANCE)
    topic = create_topic(node.bootstrap, unique_topic("rtime"),
                         config={**SMALL_SEGMENTS, "retention.ms": "60000"})
    hour_ago_ms = int(time.time() * 1000) - 3_600_000
    produce_sync(node.bootstrap, topic,
                 [{"value": b"x" * 200, "timestamp": hour_ago_ms} for _ in range(40)])
    # Every record is an hour old: retention removes all of them.
    wait_until(lambda: watermarks(node.bootstrap, topic) == (40, 40), 30,
               "expired segments to be deleted")
    produce_sync(node.bootstrap, topic, [{"value": b"fresh"}])
    got = consume(node.bootstrap, topic, count=1)
    assert got[0].offset() == 40 and got[0].value() == b"fresh"


def test_size_retention_keeps_the_newest_bytes(broker_factory):
    node = broker_factory(FAST_MAINTENANCE)
    topic = create_topic(node.bootstrap, unique_topic("rsize"),
                         config={**SMALL_SEGMENTS, "retention.bytes": "4096"})
    produce_in_batches(node.bootstrap, topic,
                       [{"value": b"%03d" % i + b"y" * 200} for i in range(60)])
    # Retention runs every 200 ms and may start while the batches still arrive:
    # wait until it has deleted segments and then stays put for five checks.
    def settled():
        before = watermarks(node.bootstrap, topic)
        time.sleep(1.0)
        return before[0] > 0 and before == watermarks(node.bootstrap, topic)

    wait_until(settled, 30, "size retention to delete the oldest segments and settle")
    low, high = watermarks(node.bootstrap, topic)
    assert high == 60 and low < 60
    got = consume(node.bootstrap, topic, count=high - low)
    assert [m.offset() for m in got] == list(range(low, high))
    assert got[-1].value().startswith(b"059")


def test_compaction_keeps_the_latest_value_per_key(broker_factory):
    node = broker_factory(FAST_MAINTENANCE)
    topic = create_topic(node.bootstrap, unique_topic("compact"), config={
        **SMALL_SEGMENTS, "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": "0"})
    keys = [b"k%d" % k for k in range(5)]
    messages = [{"key": keys[i % 5], "value": b"v%03d" % i + b"z" * 100} for i in range(200)]
    messages.append({"key": b"k0", "value": None})  # tombstone for k0
    # Filler with other keys rolls the tombstone out of the active segment.
    messages += [{"key": b"filler%d" % i, "value": b"f" * 100} for i in range(40)]
    produce_in_batches(node.bootstrap, topic, messages)
    total = len(messages)

    def surviving():
        return consume(node.bootstrap, topic, until_offset=total)

    wait_until(lambda: len(surviving()) < total // 2, 60, "compaction to remove old values")
    got = surviving()
    offsets = [m.offset() for m in got]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    latest = {}
    for m in got:
        latest[m.key()] = m.value()
    # The newest value of every key survives, with its original offset.
    for k in range(1, 5):
        newest = max(i for i in range(200) if i % 5 == k)
        assert latest[keys[k]] == b"v%03d" % newest + b"z" * 100
        assert newest in offsets
    # k0's values before its tombstone are gone.
    assert all(m.key() != b"k0" or m.value() is None for m in got)
