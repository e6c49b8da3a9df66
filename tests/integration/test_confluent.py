"""confluent_kafka (Debian python3-confluent-kafka 1.7 on librdkafka 2.0.2), default settings.

Covers metadata, the admin API (create/describe/alter/delete topics, create partitions,
error codes), produce variants (keys, headers, timestamps, acks, codecs), consuming from
earliest/latest/an offset/a timestamp, ListOffsets via watermarks and offsets_for_times,
long-poll fetches, and topic auto-creation. This client version has no admin
list_offsets or delete_records; those are covered with KafkaJS and raw frames.
"""

import random
import time

import pytest
from confluent_kafka import (OFFSET_BEGINNING, OFFSET_END, TIMESTAMP_CREATE_TIME, KafkaError,
                             KafkaException, TopicPartition)
from confluent_kafka.admin import ConfigResource, NewPartitions, NewTopic

from conftest import recent_timestamp_ms, unique_topic, wait_until
from fjord_helpers import (ADMIN_TIMEOUT_S, admin_client, consume, create_topic, kafka_error_code,
                           new_consumer, new_producer, produce_sync, read_messages,
                           wait_for_leaders, watermarks)

TOPIC_CONFIGS = {
    "retention.ms": "3600000",
    "retention.bytes": "104857600",
    "segment.bytes": "1048576",
    "cleanup.policy": "delete",
    "max.message.bytes": "65536",
    "min.insync.replicas": "1",
}


def describe_topic_configs(bootstrap, topic):
    resource = ConfigResource("topic", topic)
    admin = admin_client(bootstrap)  # must outlive its futures
    futures = admin.describe_configs([resource],
                                                       request_timeout=ADMIN_TIMEOUT_S)
    entries = futures[resource].result(timeout=ADMIN_TIMEOUT_S)
    return {name: entry.value for name, entry in entries.items()}


def create_topic_error(bootstrap, new_topic):
    admin = admin_client(bootstrap)  # must outlive its futures
    futures = admin.create_topics([new_topic], request_timeout=ADMIN_TIMEOUT_S)
    with pytest.raises(KafkaException) as raised:
        futures[new_topic.topic].result(timeout=ADMIN_TIMEOUT_S)
    return kafka_error_code(raised.value)


# ------------------------------------------------------------------------ metadata


def test_metadata_lists_broker_controller_and_topics(broker):
    topic = create_topic(broker.bootstrap, unique_topic("meta"), partitions=3)
    metadata = admin_client(broker.bootstrap).list_topics(timeout=10)
    assert list(metadata.brokers) == [broker.node_id]
    only = metadata.brokers[broker.node_id]
    assert (only.host, only.port) == ("127.0.0.1", broker.port)
    assert metadata.controller_id in metadata.brokers
    assert topic in metadata.topics
    partitions = metadata.topics[topic].partitions
    assert sorted(partitions) == [0, 1, 2]
    for partition in partitions.values():
        assert partition.leader == broker.node_id
        assert partition.replicas == [broker.node_id]
        assert partition.isrs == [broker.node_id]


def test_metadata_advertises_the_configured_listener_port(broker_factory):
    # A broker behind a proxy or NAT: clients must be told the advertised port,
    # not the one it listens on (Kafka's advertised.listeners).
    node = broker_factory({"advertised.listeners": "PLAINTEXT://127.0.0.1:39092"})
    metadata = admin_client(node.bootstrap).list_topics(timeout=10)
    advertised = metadata.brokers[node.node_id]
    assert (advertised.host, advertised.port) == ("127.0.0.1", 39092)
    assert node.port != 39092


# ------------------------------------------------------------------------ admin


def test_create_topic_with_configs_shows_them_in_describe_configs(broker):
    topic = create_topic(broker.bootstrap, unique_topic("cfg"), partitions=2, config=TOPIC_CONFIGS)
    described = describe_topic_configs(broker.bootstrap, topic)
    for name, value in TOPIC_CONFIGS.items():
        assert described.get(name) == value, f"{name}: {described.get(name)!r}"


def test_alter_configs_replaces_topic_configs(broker):
    topic = create_topic(broker.bootstrap, unique_topic("alter"))
    resource = ConfigResource("topic", topic,
                              set_config={"retention.ms": "7200000", "cleanup.policy": "compact"})
    admin = admin_client(broker.bootstrap)  # must outlive its futures
    futures = admin.alter_configs([resource],
                                                           request_timeout=ADMIN_TIMEOUT_S)
    futures[resource].result(timeout=ADMIN_TIMEOUT_S)
    described = describe_topic_configs(broker.bootstrap, topic)
    assert described["retention.ms"] == "7200000"
    assert described["cleanup.policy"] == "compact"


@pytest.mark.parametrize("name,value", [
    ("retention.ms", "not-a-number"),
    ("cleanup.policy", "shred"),
    ("segment.bytes", "1"),
    ("min.insync.replicas", "0"),
    ("max.message.bytes", "-5"),
    ("no.such.config", "1"),
])
def test_create_topic_with_invalid_config_fails_with_invalid_config(broker, name, value):
    topic = unique_topic("badcfg")
    code = create_topic_error(broker.bootstrap,
                              NewTopic(topic, 1, replication_factor=1, config={name: value}))
    assert code == KafkaError.INVALID_CONFIG
    assert topic not in admin_client(broker.bootstrap).list_topics(timeout=10).topics


def test_alter_configs_with_invalid_value_fails_with_invalid_config(broker):
    topic = create_topic(broker.bootstrap, unique_topic("badalter"))
    resource = ConfigResource("topic", topic, set_config={"retention.ms": "soon"})
    admin = admin_client(broker.bootstrap)  # must outlive its futures
    futures = admin.alter_configs([resource],
                                                           request_timeout=ADMIN_TIMEOUT_S)
    with pytest.raises(KafkaException) as raised:
        futures[resource].result(timeout=ADMIN_TIMEOUT_S)
    assert kafka_error_code(raised.value) == KafkaError.INVALID_CONFIG


@pytest.mark.parametrize("name", ["has space", "a" * 250, ".", "..", "slash/name", "star*"])
def test_create_topic_with_invalid_name_fails_with_invalid_topic(broker, name):
    code = create_topic_error(broker.bootstrap, NewTopic(name, 1, replication_factor=1))
    assert code == KafkaError.TOPIC_EXCEPTION  # INVALID_TOPIC_EXCEPTION, 17


def test_create_existing_topic_fails_with_topic_already_exists(broker):
    topic = create_topic(broker.bootstrap, unique_topic("dup"))
    code = create_topic_error(broker.bootstrap, NewTopic(topic, 1, replication_factor=1))
    assert code == KafkaError.TOPIC_ALREADY_EXISTS


def test_delete_topic_removes_it_and_name_can_be_reused(broker):
    topic = create_topic(broker.bootstrap, unique_topic("del"), partitions=2)
    produce_sync(broker.bootstrap, topic, [{"value": b"old", "partition": 0}])
    admin = admin_client(broker.bootstrap)
    admin.delete_topics([topic], operation_timeout=ADMIN_TIMEOUT_S)[topic].result(
        timeout=ADMIN_TIMEOUT_S)
    wait_until(lambda: topic not in admin.list_topics(timeout=10).topics, 30, "topic deletion")
    create_topic(broker.bootstrap, topic, partitions=1)
    assert watermarks(broker.bootstrap, topic, 0) == (0, 0)


def test_delete_unknown_topic_fails_with_unknown_topic(broker):
    topic = unique_topic("ghost")
    admin = admin_client(broker.bootstrap)  # must outlive its futures
    futures = admin.delete_topics([topic],
                                                           request_timeout=ADMIN_TIMEOUT_S)
    with pytest.raises(KafkaException) as raised:
        futures[topic].result(timeout=ADMIN_TIMEOUT_S)
    assert kafka_error_code(raised.value) == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_create_partitions_adds_partitions_that_accept_messages(broker):
    topic = create_topic(broker.bootstrap, unique_topic("grow"), partitions=1)
    admin = admin_client(broker.bootstrap)
    admin.create_partitions([NewPartitions(topic, 4)], request_timeout=ADMIN_TIMEOUT_S)[
        topic].result(timeout=ADMIN_TIMEOUT_S)
    wait_for_leaders(broker.bootstrap, topic, 4)
    reports = produce_sync(broker.bootstrap, topic, [{"value": b"new", "partition": 3}])
    assert (reports[0].partition(), reports[0].offset()) == (3, 0)
    assert consume(broker.bootstrap, topic, 3, count=1)[0].value() == b"new"


def test_create_partitions_cannot_shrink(broker):
    topic = create_topic(broker.bootstrap, unique_topic("shrink"), partitions=3)
    admin = admin_client(broker.bootstrap)  # must outlive its futures
    futures = admin.create_partitions([NewPartitions(topic, 2)],
                                                               request_timeout=ADMIN_TIMEOUT_S)
    with pytest.raises(KafkaException) as raised:
        futures[topic].result(timeout=ADMIN_TIMEOUT_S)
    assert kafka_error_code(raised.value) == KafkaError.INVALID_PARTITIONS


# ------------------------------------------------------------------------ produce / consume


def varied_messages(count, seed):
    """Keys, binary/empty/null values and headers, in a reproducible mix."""
    rng = random.Random(seed)
    messages = []
    for i in range(count):
        kind = i % 5
        value = {0: rng.randbytes(rng.randint(1, 3000)), 1: b"", 2: None,
                 3: f"text-{i}".encode(), 4: bytes(range(256))}[kind]
        key = None if i % 3 == 0 else rng.randbytes(rng.randint(0, 40))
        # No None header values: confluent-kafka 1.7's Message.headers() decrefs None once
        # too often and the interpreter aborts at exit; kafka-python and KafkaJS cover them.
        headers = [("h", rng.randbytes(8)), ("h", b"again"), ("empty", b"")] if i % 2 else []
        messages.append({"key": key, "value": value, "headers": headers, "partition": 0})
    return messages


def assert_same_message(got, sent):
    assert got.key() == sent.get("key")
    assert got.value() == sent["value"]
    assert (got.headers() or []) == [tuple(h) for h in sent.get("headers", [])]


def test_round_trip_is_byte_exact_and_in_order(broker):
    topic = create_topic(broker.bootstrap, unique_topic("rt"))
    sent = varied_messages(300, seed=1)
    reports = produce_sync(broker.bootstrap, topic, sent)
    assert [r.offset() for r in reports] == list(range(len(sent)))
    got = consume(broker.bootstrap, topic, 0, count=len(sent))
    assert [m.offset() for m in got] == list(range(len(sent)))
    for message, expected in zip(got, sent):
        assert_same_message(message, expected)


def test_offsets_are_consecutive_per_partition(broker):
    topic = create_topic(broker.bootstrap, unique_topic("parts"), partitions=3)
    sent = [{"key": f"k{i}".encode(), "value": f"v{i}".encode()} for i in range(600)]
    reports = produce_sync(broker.bootstrap, topic, sent)
    for partition in range(3):
        offsets = [r.offset() for r in reports if r.partition() == partition]
        assert sorted(offsets) == list(range(len(offsets)))
        got = consume(broker.bootstrap, topic, partition, count=len(offsets))
        by_offset = {r.offset(): r.value() for r in reports if r.partition() == partition}
        assert [m.value() for m in got] == [by_offset[o] for o in range(len(offsets))]


def test_explicit_create_timestamps_round_trip(broker):
    topic = create_topic(broker.bootstrap, unique_topic("ts"))
    base_ms = recent_timestamp_ms()
    sent = [{"value": f"t{i}".encode(), "timestamp": base_ms + i * 1000, "partition": 0}
            for i in range(10)]
    produce_sync(broker.bootstrap, topic, sent)
    got = consume(broker.bootstrap, topic, 0, count=10)
    assert [m.timestamp() for m in got] == [(TIMESTAMP_CREATE_TIME, base_ms + i * 1000)
                                            for i in range(10)]


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_produce_with_acks(broker, acks):
    topic = create_topic(broker.bootstrap, unique_topic(f"acks{acks}"))
    sent = [{"value": f"a{i}".encode(), "partition": 0} for i in range(200)]
    produce_sync(broker.bootstrap, topic, sent, acks=acks)
    # acks=0 gets no response; the data must still arrive, in order.
    got = consume(broker.bootstrap, topic, 0, count=len(sent))
    assert [m.value() for m in got] == [m["value"] for m in sent]
    assert [m.offset() for m in got] == list(range(len(sent)))


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compressed_batches_round_trip(broker, codec):
    topic = create_topic(broker.bootstrap, unique_topic(codec))
    sent = varied_messages(500, seed=2)
    reports = produce_sync(broker.bootstrap, topic, sent, compression_type=codec)
    assert [r.offset() for r in reports] == list(range(len(sent)))
    got = consume(broker.bootstrap, topic, 0, count=len(sent))
    assert [m.offset() for m in got] == list(range(len(sent)))
    for message, expected in zip(got, sent):
        assert_same_message(message, expected)


def test_consume_from_given_offset(broker):
    topic = create_topic(broker.bootstrap, unique_topic("from"))
    produce_sync(broker.bootstrap, topic, [{"value": f"m{i}".encode()} for i in range(50)])
    got = consume(broker.bootstrap, topic, 0, offset=37, until_offset=50)
    assert [m.offset() for m in got] == list(range(37, 50))
    assert got[0].value() == b"m37"


def test_consume_from_latest_sees_only_new_messages(broker):
    topic = create_topic(broker.bootstrap, unique_topic("latest"))
    produce_sync(broker.bootstrap, topic, [{"value": b"old"} for _ in range(20)])
    consumer = new_consumer(broker.bootstrap)
    producer = new_producer(broker.bootstrap)
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_END)])
        received = []
        deadline = time.monotonic() + 60
        # Produce until the consumer, positioned at the end, sees something.
        while not received and time.monotonic() < deadline:
            producer.produce(topic, value=b"new", partition=0)
            producer.flush(10)
            received = [m for m in consumer.consume(num_messages=100, timeout=0.5)]
        assert received, "consumer at OFFSET_END never received new messages"
        assert all(m.error() is None for m in received)
        assert all(m.value() == b"new" for m in received)
        assert received[0].offset() >= 20
    finally:
        consumer.close()


def test_consume_from_earliest_with_auto_offset_reset(broker):
    """Needs the group coordinator: librdkafka asks OffsetFetch for the committed offset
    first and applies auto.offset.reset=earliest when there is none."""
    topic = create_topic(broker.bootstrap, unique_topic("earliest"))
    produce_sync(broker.bootstrap, topic, [{"value": f"e{i}".encode()} for i in range(5)])
    consumer = new_consumer(broker.bootstrap, auto_offset_reset="earliest")
    try:
        consumer.assign([TopicPartition(topic, 0)])  # no committed offset: reset to earliest
        got = read_messages(consumer, count=5)
        assert [m.value() for m in got] == [f"e{i}".encode() for i in range(5)]
    finally:
        consumer.close()


def test_watermarks_are_earliest_and_latest_offsets(broker):
    topic = create_topic(broker.bootstrap, unique_topic("wm"), partitions=2)
    assert watermarks(broker.bootstrap, topic, 0) == (0, 0)
    produce_sync(broker.bootstrap, topic, [{"value": b"x", "partition": 1}] * 7)
    assert watermarks(broker.bootstrap, topic, 1) == (0, 7)
    assert watermarks(broker.bootstrap, topic, 0) == (0, 0)


def test_offsets_for_times_finds_first_message_at_or_after_timestamp(broker):
    topic = create_topic(broker.bootstrap, unique_topic("oft"))
    base_ms = recent_timestamp_ms()
    produce_sync(broker.bootstrap, topic, [
        {"value": f"v{i}".encode(), "timestamp": base_ms + i * 1000} for i in range(10)])
    consumer = new_consumer(broker.bootstrap)
    try:
        queries = [TopicPartition(topic, 0, ts) for ts in
                   (base_ms - 5000, base_ms + 2500, base_ms + 9000, base_ms + 60_000)]
        results = [consumer.offsets_for_times([q], timeout=10)[0] for q in queries]
        assert [r.error for r in results] == [None] * 4
        assert [r.offset for r in results] == [0, 3, 9, -1]  # -1: no such message
        consumer.assign([TopicPartition(topic, 0, results[1].offset)])
        first = read_messages(consumer, count=1)[0]
        assert (first.offset(), first.value()) == (3, b"v3")
    finally:
        consumer.close()


def test_message_over_topic_max_message_bytes_is_rejected(broker):
    topic = create_topic(broker.bootstrap, unique_topic("big"),
                         config={"max.message.bytes": "2000"})
    producer = new_producer(broker.bootstrap)
    errors = []
    producer.produce(topic, value=bytes(10_000), partition=0,
                     on_delivery=lambda err, msg: errors.append(err))
    assert producer.flush(60) == 0
    assert errors and errors[0] is not None
    assert errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE
    assert watermarks(broker.bootstrap, topic, 0) == (0, 0)


def test_long_poll_fetch_returns_when_a_message_arrives(broker):
    """A fetch waiting up to 5 s must be answered as soon as data arrives."""
    topic = create_topic(broker.bootstrap, unique_topic("longpoll"))
    consumer = new_consumer(broker.bootstrap, fetch_wait_max_ms=5000)
    producer = new_producer(broker.bootstrap, linger_ms=0)
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        assert consumer.consume(num_messages=1, timeout=1.0) == []  # a fetch is now parked
        produced_at = time.monotonic()
        producer.produce(topic, value=b"wake", partition=0)
        assert producer.flush(10) == 0
        got = read_messages(consumer, count=1, timeout_s=10)
        waited_s = time.monotonic() - produced_at
        assert got[0].value() == b"wake"
        # Behaviour, not a benchmark: an answer only at the 5 s expiry would take >= ~4 s.
        assert waited_s < 3.0, f"message arrived {waited_s:.2f}s after produce"
    finally:
        consumer.close()


# ------------------------------------------------------------------------ auto-creation


def test_produce_auto_creates_topic_with_num_partitions(broker_factory):
    node = broker_factory({"auto.create.topics.enable": "true", "num.partitions": "3"})
    topic = unique_topic("auto")
    reports = produce_sync(node.bootstrap, topic, [{"value": b"hello", "partition": 2}])
    assert reports[0].partition() == 2
    wait_for_leaders(node.bootstrap, topic, 3)
    assert consume(node.bootstrap, topic, 2, count=1)[0].value() == b"hello"


def test_no_auto_creation_when_disabled(broker_factory):
    node = broker_factory({"auto.create.topics.enable": "false"})
    topic = unique_topic("noauto")
    producer = new_producer(node.bootstrap, message_timeout_ms=5000)
    errors = []
    producer.produce(topic, value=b"lost", on_delivery=lambda err, msg: errors.append(err))
    assert producer.flush(30) == 0
    assert errors[0] is not None, "produce to a missing topic succeeded"
    assert errors[0].code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC,
                                KafkaError._MSG_TIMED_OUT)
    metadata = admin_client(node.bootstrap).list_topics(topic=topic, timeout=10)
    entry = metadata.topics.get(topic)
    assert entry is None or entry.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


# ------------------------------------------------------------------------ consumer groups


def test_group_consumer_commits_and_a_successor_resumes(broker):
    """subscribe() with a group: join, sync, fetch, commit; a new member of the same group
    continues after the committed offset."""
    topic = create_topic(broker.bootstrap, unique_topic("group"), partitions=2)
    produce_sync(broker.bootstrap, topic, [{"value": f"g{i}".encode(), "partition": i % 2}
                                           for i in range(40)])
    group = unique_topic("grp")
    first = new_consumer(broker.bootstrap, group_id=group, auto_offset_reset="earliest")
    try:
        first.subscribe([topic])
        got = read_messages(first, count=40)
        assert sorted(m.value() for m in got) == sorted(f"g{i}".encode() for i in range(40))
        first.commit(asynchronous=False)
    finally:
        first.close()
    produce_sync(broker.bootstrap, topic, [{"value": b"after-commit", "partition": 1}])
    second = new_consumer(broker.bootstrap, group_id=group, auto_offset_reset="earliest")
    try:
        second.subscribe([topic])
        got = read_messages(second, count=1)
        assert [(m.partition(), m.offset(), m.value()) for m in got] == \
            [(1, 20, b"after-commit")]
        committed = second.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)],
                                     timeout=10)
        assert [(tp.partition, tp.offset) for tp in committed] == [(0, 20), (1, 20)]
    finally:
        second.close()
