"""kafka-python 2.0.2 (Debian python3-kafka), default settings.

kafka-python does not negotiate per API: it infers a broker version from ApiVersions v0
and then sends fixed versions (Fetch v4, ListOffsets v1, Metadata v1 ...), so these tests
also check that Fjord advertises enough for it to use record format v2 and zstd.
Codecs need python3-lz4, python3-snappy and python3-zstandard (Debian); a missing one fails.
"""

import time

import kafka.codec
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import (InvalidConfigurationError, InvalidPartitionsError, InvalidTopicError,
                          TopicAlreadyExistsError)

from conftest import recent_timestamp_ms, unique_topic, wait_until

TIMEOUT_MS = 30_000
CONSUME_TIMEOUT_S = 60


def admin(bootstrap):
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=TIMEOUT_MS)


def create_topic(bootstrap, name, partitions=1, configs=None):
    client = admin(bootstrap)
    try:
        client.create_topics([NewTopic(name, partitions, 1, topic_configs=configs or {})],
                             timeout_ms=TIMEOUT_MS)
    finally:
        client.close()
    return name


def producer(bootstrap, **conf):
    return KafkaProducer(bootstrap_servers=bootstrap, **conf)


def consumer(bootstrap, **conf):
    return KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                         request_timeout_ms=TIMEOUT_MS + 5000, **conf)


def send_all(bootstrap, topic, messages, **conf):
    """Sends dicts of KafkaProducer.send kwargs; returns RecordMetadata in order."""
    client = producer(bootstrap, **conf)
    try:
        futures = [client.send(topic, **message) for message in messages]
        client.flush(timeout=60)
        return [future.get(timeout=60) for future in futures]
    finally:
        client.close(timeout=10)


def read(bootstrap, topic, partition, count, start=None):
    """Reads `count` records of one partition from `start` (default: beginning)."""
    client = consumer(bootstrap)
    tp = TopicPartition(topic, partition)
    try:
        client.assign([tp])
        if start is None:
            client.seek_to_beginning(tp)
        else:
            client.seek(tp, start)
        records = []
        deadline = time.monotonic() + CONSUME_TIMEOUT_S
        while len(records) < count:
            assert time.monotonic() < deadline, f"read {len(records)} of {count} records"
            for batch in client.poll(timeout_ms=500).values():
                records.extend(batch)
        return records[:count]
    finally:
        client.close()


def topic_configs(bootstrap, topic):
    client = admin(bootstrap)
    try:
        responses = client.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        client.close()
    resource = responses[0].resources[0]
    error_code, entries = resource[0], resource[4]
    assert error_code == 0, f"DescribeConfigs error {error_code}"
    return {entry[0]: entry[1] for entry in entries}


# ------------------------------------------------------------------------ metadata / admin


def test_bootstrap_infers_a_broker_with_record_format_v2_and_zstd(broker):
    client = producer(broker.bootstrap)
    try:
        # (2, 1, 0) or newer: Produce v7/Fetch v10 are advertised, so zstd is usable.
        assert client.config["api_version"] >= (2, 1, 0)
    finally:
        client.close()


def test_metadata_lists_broker_and_topics(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kp-meta"), partitions=2)
    client = admin(broker.bootstrap)
    try:
        assert topic in client.list_topics()
        described = client.describe_topics([topic])
        assert described[0]["error_code"] == 0
        assert sorted(p["partition"] for p in described[0]["partitions"]) == [0, 1]
        assert all(p["leader"] == broker.node_id for p in described[0]["partitions"])
        cluster = client.describe_cluster()
        assert [b["node_id"] for b in cluster["brokers"]] == [broker.node_id]
        assert cluster["controller_id"] == broker.node_id
    finally:
        client.close()


def test_create_topic_configs_shown_by_describe_configs(broker):
    configs = {"retention.ms": "86400000", "retention.bytes": "1073741824",
               "segment.bytes": "2097152", "cleanup.policy": "compact",
               "max.message.bytes": "100000", "min.insync.replicas": "1"}
    topic = create_topic(broker.bootstrap, unique_topic("kp-cfg"), configs=configs)
    described = topic_configs(broker.bootstrap, topic)
    for name, value in configs.items():
        assert described.get(name) == value, name


def test_alter_configs_then_describe(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kp-alter"))
    client = admin(broker.bootstrap)
    try:
        response = client.alter_configs([ConfigResource(
            ConfigResourceType.TOPIC, topic, configs={"retention.bytes": "5000000"})])
        assert [r[0] for r in response.resources] == [0]
    finally:
        client.close()
    assert topic_configs(broker.bootstrap, topic)["retention.bytes"] == "5000000"


def test_invalid_config_rejected(broker):
    with pytest.raises(InvalidConfigurationError):
        create_topic(broker.bootstrap, unique_topic("kp-bad"), configs={"retention.ms": "x"})


def test_invalid_topic_name_rejected(broker):
    with pytest.raises(InvalidTopicError):
        create_topic(broker.bootstrap, "bad name!")


def test_existing_topic_rejected(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kp-dup"))
    with pytest.raises(TopicAlreadyExistsError):
        create_topic(broker.bootstrap, topic)


def test_create_partitions_and_delete_topic(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kp-grow"), partitions=2)
    client = admin(broker.bootstrap)
    try:
        client.create_partitions({topic: NewPartitions(total_count=5)}, timeout_ms=TIMEOUT_MS)
        with pytest.raises(InvalidPartitionsError):
            client.create_partitions({topic: NewPartitions(total_count=3)},
                                     timeout_ms=TIMEOUT_MS)
        described = client.describe_topics([topic])
        assert len(described[0]["partitions"]) == 5
        client.delete_topics([topic], timeout_ms=TIMEOUT_MS)
        wait_until(lambda: topic not in client.list_topics(), 30, "topic deletion")
    finally:
        client.close()


# ------------------------------------------------------------------------ produce / consume


def messages_with_everything(count):
    base_ms = recent_timestamp_ms()
    messages = []
    for i in range(count):
        value = [bytes(range(256)) * 3, b"", None, f"v{i}".encode()][i % 4]
        key = None if value is None and i % 8 else f"k{i}".encode() if i % 2 else None
        if key is None and value is None:
            key = b""  # kafka-python refuses a record with neither
        headers = [("trace", f"{i}".encode()), ("trace", b""), ("bin", b"\x00\xff")] \
            if i % 3 == 0 else []
        messages.append({"key": key, "value": value, "headers": headers, "partition": 0,
                         "timestamp_ms": base_ms + i})
    return messages


def assert_record_matches(record, sent):
    assert record.key == sent["key"]
    assert record.value == sent["value"]
    assert record.headers == sent["headers"]
    assert record.timestamp == sent["timestamp_ms"]
    assert record.timestamp_type == 0  # CreateTime


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_round_trip_with_acks(broker, acks):
    topic = create_topic(broker.bootstrap, unique_topic(f"kp-acks{acks}"))
    sent = messages_with_everything(120)
    metadata = send_all(broker.bootstrap, topic, sent, acks=acks)
    if acks != 0:
        assert [m.offset for m in metadata] == list(range(len(sent)))
    records = read(broker.bootstrap, topic, 0, len(sent))
    assert [r.offset for r in records] == list(range(len(sent)))
    for record, expected in zip(records, sent):
        assert_record_matches(record, expected)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compressed_round_trip(broker, codec):
    available = {"gzip": kafka.codec.has_gzip, "snappy": kafka.codec.has_snappy,
                 "lz4": kafka.codec.has_lz4, "zstd": kafka.codec.has_zstd}[codec]()
    assert available, f"kafka-python cannot use {codec}: install its Debian python3 module"
    topic = create_topic(broker.bootstrap, unique_topic(f"kp-{codec}"))
    sent = messages_with_everything(400)
    metadata = send_all(broker.bootstrap, topic, sent, compression_type=codec)
    assert [m.offset for m in metadata] == list(range(len(sent)))
    records = read(broker.bootstrap, topic, 0, len(sent))
    for record, expected in zip(records, sent):
        assert_record_matches(record, expected)


def test_consume_from_given_offset(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kp-seek"))
    send_all(broker.bootstrap, topic, [{"value": f"m{i}".encode()} for i in range(30)])
    records = read(broker.bootstrap, topic, 0, 5, start=25)
    assert [(r.offset, r.value) for r in records] == [(25 + i, f"m{25 + i}".encode())
                                                      for i in range(5)]


def test_list_offsets_earliest_latest_and_by_time(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kp-offsets"), partitions=2)
    base_ms = recent_timestamp_ms()
    send_all(broker.bootstrap, topic, [
        {"value": b"x", "partition": 1, "timestamp_ms": base_ms + i * 10} for i in range(20)])
    client = consumer(broker.bootstrap)
    p0, p1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    try:
        assert client.beginning_offsets([p0, p1]) == {p0: 0, p1: 0}
        assert client.end_offsets([p0, p1]) == {p0: 0, p1: 20}
        found = client.offsets_for_times({p1: base_ms + 55})
        assert (found[p1].offset, found[p1].timestamp) == (6, base_ms + 60)
        assert client.offsets_for_times({p1: base_ms + 10_000})[p1] is None
        assert client.offsets_for_times({p0: base_ms})[p0] is None
    finally:
        client.close()


def test_consume_from_latest_with_auto_offset_reset(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kp-latest"))
    send_all(broker.bootstrap, topic, [{"value": b"old"}] * 10)
    client = consumer(broker.bootstrap, auto_offset_reset="latest")
    sender = producer(broker.bootstrap)
    tp = TopicPartition(topic, 0)
    try:
        client.assign([tp])
        assert client.position(tp) == 10  # resolves the reset with ListOffsets latest
        sender.send(topic, value=b"new", partition=0).get(timeout=30)
        records = []
        deadline = time.monotonic() + CONSUME_TIMEOUT_S
        while not records and time.monotonic() < deadline:
            for batch in client.poll(timeout_ms=500).values():
                records.extend(batch)
        assert [(r.offset, r.value) for r in records] == [(10, b"new")]
    finally:
        sender.close(timeout=10)
        client.close()


def test_metadata_request_auto_creates_topic(broker_factory):
    node = broker_factory({"auto.create.topics.enable": "true", "num.partitions": "2"})
    topic = unique_topic("kp-auto")
    client = producer(node.bootstrap)
    try:
        # partitions_for sends Metadata for the topic, which creates it (auto-create on).
        assert client.partitions_for(topic) == {0, 1}
        assert client.send(topic, value=b"v", partition=1).get(timeout=30).offset == 0
    finally:
        client.close(timeout=10)
