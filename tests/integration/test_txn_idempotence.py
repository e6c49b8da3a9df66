"""Idempotent producers (KIP-98) with real clients: every message exactly once and in order
per partition, through lost responses, a broker kill -9 and restart, and from KafkaJS; and
the broker's answers to raw batches with gaps, retries and stale epochs.

Client settings: librdkafka defaults plus what idempotence needs (`enable.idempotence`, which
implies acks=all and at most 5 requests in flight; set explicitly to say what is tested).
"""

import os
import random
import threading

import pytest

import kafka_raw as raw
from conftest import unique_topic, wait_until
from fjord_helpers import create_topic, new_producer
from kafka_proxy import ResponseDroppingProxy
from test_kafkajs import run_js
from txn_helpers import (assert_exactly_once_in_order, high_watermark, read_to_end,
                         values_by_partition)

PARTITIONS = 6
IDEMPOTENT = {"enable.idempotence": True, "acks": "all",
              "max.in.flight.requests.per.connection": 5}
DELIVERY_TIMEOUT_S = 90

NONE = 0
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
PRODUCER_FENCED = 90


class Deliveries:
    """Counts delivery reports; any delivery error fails the test at the end."""

    def __init__(self):
        self.delivered = 0
        self.errors = []
        self._lock = threading.Lock()

    def callback(self, error, _message):
        with self._lock:
            if error is None:
                self.delivered += 1
            else:
                self.errors.append(error)


def produce_numbered(producer, topic, count, deliveries, prefix, pause_every=0, pause_s=0.0):
    """Produces `count` keyed messages with distinct values, in order; returns the values."""
    sent = []
    for i in range(count):
        value = f"{prefix}-{i}"
        while True:
            try:
                producer.produce(topic, key=f"key-{i % 97}", value=value,
                                 on_delivery=deliveries.callback)
                break
            except BufferError:
                producer.poll(0.1)
        sent.append(value)
        producer.poll(0)
        if pause_every and i % pause_every == pause_every - 1:
            producer.poll(pause_s)
    return sent


def flush_all(producer, deliveries, expected, context):
    remaining = producer.flush(DELIVERY_TIMEOUT_S)
    assert remaining == 0, f"{context}: {remaining} undelivered after {DELIVERY_TIMEOUT_S}s"
    assert not deliveries.errors, f"{context}: delivery errors {deliveries.errors[:5]}"
    assert deliveries.delivered == expected


def read_topic(bootstrap, topic, partitions=PARTITIONS):
    received = read_to_end(bootstrap, [(topic, p) for p in range(partitions)],
                           isolation="read_uncommitted")
    return values_by_partition(received)


def test_idempotent_stream_exactly_once_in_order(broker):
    topic = create_topic(broker.bootstrap, unique_topic("idem"), partitions=PARTITIONS)
    producer = new_producer(broker.bootstrap, linger_ms=5, **IDEMPOTENT)
    deliveries = Deliveries()
    sent = produce_numbered(producer, topic, 5000, deliveries, "m")
    flush_all(producer, deliveries, len(sent), "idempotent stream")
    consumed = read_topic(broker.bootstrap, topic)
    assert all(consumed.values()), f"keys spread over every partition: {consumed.keys()}"
    assert_exactly_once_in_order(sent, consumed, "idempotent stream")


@pytest.mark.fjord_timeout(180)
def test_lost_produce_responses_are_retried_without_duplicates(broker_factory):
    seed = int.from_bytes(os.urandom(4), "big")
    proxy = ResponseDroppingProxy(seed=seed, drops=6, window=30)
    context = f"seed {seed}"
    try:
        # Clients reach the broker only through the proxy, the address the broker advertises.
        node = broker_factory({"advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy.port}"})
        proxy.forward_to("127.0.0.1", node.port)
        topic = create_topic(proxy.bootstrap, unique_topic("idem-proxy"), partitions=PARTITIONS)
        producer = new_producer(proxy.bootstrap, linger_ms=2, batch_num_messages=50,
                                **IDEMPOTENT)
        deliveries = Deliveries()
        sent = produce_numbered(producer, topic, 4000, deliveries, "p", pause_every=100,
                                pause_s=0.02)
        flush_all(producer, deliveries, len(sent), context)
        context += (f": {proxy.doomed_requests} of {proxy.produce_requests} produce "
                    f"responses lost ({proxy.dropped_responses} dropped, the others with their "
                    f"connection), {proxy.connections} connections")
        assert proxy.doomed_requests == proxy.drops and proxy.dropped_responses > 0, context
        # Through the proxy too, the only address the broker names (it drops only produces).
        consumed = read_topic(proxy.bootstrap, topic)
    finally:
        proxy.stop()
    assert_exactly_once_in_order(sent, consumed, context)


@pytest.mark.fjord_timeout(240)
def test_broker_kill_during_idempotent_stream(broker_factory):
    node = broker_factory()
    port = node.port
    topic = create_topic(node.bootstrap, unique_topic("idem-kill"), partitions=PARTITIONS)
    # Long enough for the restart of a sanitized build; retries go on until then.
    producer = new_producer(node.bootstrap, linger_ms=5, message_timeout_ms=120000,
                            **IDEMPOTENT)
    deliveries = Deliveries()
    count = 20000
    sent = []
    producing = threading.Thread(target=lambda: sent.extend(produce_numbered(
        producer, topic, count, deliveries, "k", pause_every=200, pause_s=0.01)))
    producing.start()
    try:
        wait_until(lambda: deliveries.delivered >= count // 4, 60, "a quarter delivered")
        node.kill()
        delivered_at_kill = deliveries.delivered
        node.start(listen=f"127.0.0.1:{port}")
    finally:
        producing.join(120)
    assert not producing.is_alive()
    assert delivered_at_kill < count, "the kill came after the stream ended"
    flush_all(producer, deliveries, count, f"kill after {delivered_at_kill} deliveries")
    consumed = read_topic(node.bootstrap, topic)
    assert_exactly_once_in_order(sent, consumed, f"kill after {delivered_at_kill} deliveries")


def test_kafkajs_idempotent_producer(broker):
    topic = create_topic(broker.bootstrap, unique_topic("idem-js"), partitions=PARTITIONS)
    result = run_js("idempotent_produce.js", bootstrap=broker.bootstrap, topic=topic,
                    sends=20, perSend=50)
    sent = result["sent"]
    assert len(sent) == 1000
    assert all(m["errorCode"] == 0 for m in result["metadata"]), result["metadata"][:5]
    consumed = read_topic(broker.bootstrap, topic)
    assert sum(1 for values in consumed.values() if values) > 1, "keys over several partitions"
    assert_exactly_once_in_order(sent, consumed, "KafkaJS idempotent producer")


# ------------------------------------------------------------------- raw protocol


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

