"""Helpers shared by the idempotence and transaction tests (test_txn_*.py).

Reading "everything" of a partition: a consumer with `enable.partition.eof` reads until
librdkafka reports the end of every assigned partition. The end is the high watermark for
read_uncommitted and the last stable offset for read_committed, so a read_committed read
stops at an open transaction instead of waiting for it.
"""

import collections
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

import kafka_raw
from fjord_helpers import new_consumer

READ_TIMEOUT_S = 60
READ_COMMITTED = 1
READ_UNCOMMITTED = 0


def read_to_end(bootstrap, partitions, isolation="read_committed", timeout_s=READ_TIMEOUT_S):
    """partitions: [(topic, partition)]. Returns {(topic, partition): [Message]} read from
    the beginning to the end librdkafka reports for the isolation level."""
    consumer = new_consumer(bootstrap, isolation_level=isolation, enable_partition_eof=True)
    received = {tp: [] for tp in partitions}
    at_end = set()
    try:
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in partitions])
        deadline = time.monotonic() + timeout_s
        while len(at_end) < len(partitions):
            if time.monotonic() > deadline:
                counts = {tp: len(m) for tp, m in received.items()}
                pytest.fail(f"{isolation} read did not reach the end of "
                            f"{sorted(set(partitions) - at_end)} in {timeout_s}s; read {counts}")
            for message in consumer.consume(num_messages=500, timeout=0.5):
                tp = (message.topic(), message.partition())
                error = message.error()
                if error is not None and error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(tp)
                    continue
                assert error is None, f"consumer error: {error}"
                at_end.discard(tp)  # more data after an end seen earlier
                received[tp].append(message)
    finally:
        consumer.close()
    return received


def values_by_partition(received):
    return {tp: [m.value().decode() for m in messages] for tp, messages in received.items()}


def assert_exactly_once_in_order(sent, consumed_by_partition, context=""):
    """sent: values in the order the producer sent them. consumed_by_partition: values read
    per partition. Every sent value must be read exactly once, and within each partition in
    the order it was sent."""
    position = {value: index for index, value in enumerate(sent)}
    assert len(position) == len(sent), "the test must send distinct values"
    counts = collections.Counter(v for values in consumed_by_partition.values() for v in values)
    duplicates = {v: n for v, n in counts.items() if n > 1}
    unknown = sorted(set(counts) - set(position))
    missing = [v for v in sent if v not in counts]
    assert not duplicates, f"{context}: {len(duplicates)} values read more than once, " \
                           f"e.g. {sorted(duplicates.items())[:5]}"
    assert not unknown, f"{context}: values never sent: {unknown[:5]}"
    assert not missing, f"{context}: {len(missing)} sent values never read, e.g. {missing[:5]}"
    for tp, values in consumed_by_partition.items():
        indexes = [position[v] for v in values]
        for before, after in zip(indexes, indexes[1:]):
            assert before < after, (f"{context}: partition {tp} has {sent[after]!r} after "
                                    f"{sent[before]!r}, sent in the opposite order")


def list_offset(bootstrap, topic, partition, isolation_level, timestamp=-1):
    """ListOffsets v7 latest offset for an isolation level: the high watermark for
    READ_UNCOMMITTED, the last stable offset for READ_COMMITTED."""
    connection = kafka_raw.Connection(bootstrap)
    try:
        body = connection.call(kafka_raw.list_offsets_request_v7, flexible_header=True,
                               topic=topic, partition=partition, timestamp=timestamp,
                               isolation_level=isolation_level)
    finally:
        connection.close()
    error_code, _timestamp, offset = kafka_raw.parse_list_offsets_v7(body)[(topic, partition)]
    assert error_code == 0, f"ListOffsets {topic}-{partition}: error {error_code}"
    return offset


def last_stable_offset(bootstrap, topic, partition=0):
    return list_offset(bootstrap, topic, partition, READ_COMMITTED)


def high_watermark(bootstrap, topic, partition=0):
    return list_offset(bootstrap, topic, partition, READ_UNCOMMITTED)
