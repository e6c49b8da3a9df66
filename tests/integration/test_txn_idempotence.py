"""Idempotent producers (KIP-98): the broker's answers to raw batches with gaps, retries and
stale epochs.
"""

import random

import kafka_raw as raw
from conftest import unique_topic
from fjord_helpers import create_topic
from txn_helpers import high_watermark, read_to_end

NONE = 0
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
PRODUCER_FENCED = 90


def _produce(connection, topic, batch):
    body = connection.call(raw.produce_request_v7, topic=topic, partition=0, batch=batch)
    error_code, base_offset, _log_start = raw.parse_produce_v7(body)[(topic, 0)]
    return error_code, base_offset


def _batch(prefix, count, producer_id, epoch, base_sequence):
    return raw.producer_batch([f"{prefix}-{i}".encode() for i in range(count)], producer_id,
                              epoch, base_sequence, transactional=False)


def _values(prefix, count):
    return [f"{prefix}-{i}".encode() for i in range(count)]


def test_raw_sequence_gaps_retries_and_stale_epochs(broker):
    topic = create_topic(broker.bootstrap, unique_topic("idem-raw"))
    connection = raw.Connection(broker.bootstrap)
    try:
        # A producer id no coordinator handed out: the partition checks sequences and epochs
        # of whatever id a batch carries (Kafka too), and a new one starts anywhere (KIP-360).
        producer_id, epoch = random.randrange(1 << 40, 1 << 62), 3

        first = _batch("a", 3, producer_id, epoch, 0)
        second = _batch("b", 2, producer_id, epoch, 3)
        assert _produce(connection, topic, first) == (NONE, 0)
        assert _produce(connection, topic, second) == (NONE, 3)

        # Retries of the last batches (responses lost): the original offsets, no append.
        assert _produce(connection, topic, second) == (NONE, 3)
        assert _produce(connection, topic, first) == (NONE, 0)
        assert high_watermark(broker.bootstrap, topic) == 5

        # A gap: sequence 7 when 5 is next.
        gap = _batch("gap", 1, producer_id, epoch, 7)
        assert _produce(connection, topic, gap)[0] == OUT_OF_ORDER_SEQUENCE_NUMBER
        # A new epoch must start at sequence 0.
        bad_start = _batch("new", 1, producer_id, epoch + 1, 4)
        assert _produce(connection, topic, bad_start)[0] == OUT_OF_ORDER_SEQUENCE_NUMBER
        newer = _batch("c", 2, producer_id, epoch + 1, 0)
        assert _produce(connection, topic, newer) == (NONE, 5)
        # The old epoch is fenced, even with the sequence that would have been next.
        stale = _batch("stale", 1, producer_id, epoch, 5)
        assert _produce(connection, topic, stale)[0] in (INVALID_PRODUCER_EPOCH, PRODUCER_FENCED)
        # The producer goes on in its new epoch.
        after = _batch("d", 1, producer_id, epoch + 1, 2)
        assert _produce(connection, topic, after) == (NONE, 7)
    finally:
        connection.close()
    assert high_watermark(broker.bootstrap, topic) == 8
    consumed = read_to_end(broker.bootstrap, [(topic, 0)], isolation="read_uncommitted")
    assert [(m.offset(), m.value()) for m in consumed[(topic, 0)]] == list(enumerate(
        _values("a", 3) + _values("b", 2) + _values("c", 2) + _values("d", 1)))

