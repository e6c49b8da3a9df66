"""Hostile and malformed input on raw sockets. After each case the broker must still be
alive and a normal client on another connection must still produce and consume."""

import os
import random
import struct

import pytest
from confluent_kafka import OFFSET_BEGINNING
from kafka import KafkaConsumer, TopicPartition

import kafka_raw as raw
from conftest import recent_timestamp_ms, unique_topic
from fjord_helpers import consume, create_topic, produce_sync, watermarks

ERROR_NONE = 0
ERROR_CORRUPT_MESSAGE = 2
ERROR_MESSAGE_TOO_LARGE = 10
ERROR_RECORD_LIST_TOO_LARGE = 18
ERROR_UNSUPPORTED_VERSION = 35


@pytest.fixture(scope="module")
def topic(broker):
    return create_topic(broker.bootstrap, unique_topic("bad"), partitions=1)


@pytest.fixture(autouse=True)
def still_serves_clients(request, broker):
    """After every case: the process is alive and a fresh client round-trips a message."""
    yield
    assert broker.running(), f"fjord died\n{broker.stderr_tail()}"
    check_topic = request.getfixturevalue("topic")
    marker = os.urandom(16)
    report = produce_sync(broker.bootstrap, check_topic, [{"value": marker, "partition": 0}])[0]
    got = consume(broker.bootstrap, check_topic, 0, offset=report.offset(), count=1)
    assert got[0].value() == marker


def test_garbage_bytes(broker):
    connection = raw.Connection(broker.bootstrap)
    try:
        connection.send(random.Random(7).randbytes(8192))
    except (BrokenPipeError, ConnectionResetError):
        pass  # closing early on garbage is fine
    connection.close()


def test_negative_frame_size_is_refused(broker):
    connection = raw.Connection(broker.bootstrap)
    connection.send(struct.pack(">i", -5) + b"\x00" * 16)
    assert connection.closed_by_peer(), "broker kept a connection with a negative frame size"
    connection.close()


def test_two_gigabyte_frame_size_is_refused(broker):
    """A size above socket.request.max.bytes must close the connection, not allocate 2 GB."""
    connection = raw.Connection(broker.bootstrap)
    connection.send(struct.pack(">i", 0x7FFFFFFF) + raw.request_header_v1(18, 0, 1))
    assert connection.closed_by_peer(), "broker waited for a 2 GB request"
    connection.close()


def test_truncated_frame_then_close(broker):
    connection = raw.Connection(broker.bootstrap)
    full = raw.api_versions_request(1)
    connection.send(struct.pack(">i", 500) + full[4:])  # promises 500 bytes, sends ~20
    connection.close()


def test_truncated_header_then_close(broker):
    connection = raw.Connection(broker.bootstrap)
    connection.send(b"\x00\x00")  # half of a size prefix
    connection.close()


def test_unknown_api_key_closes_the_connection(broker):
    """Kafka closes the connection on an unknown API key. Never a crash, never a hang:
    a silent broker (socket timeout) fails this test."""
    connection = raw.Connection(broker.bootstrap)
    connection.send(raw.unknown_api_request(77, api_key=9999))
    try:
        with pytest.raises(ConnectionError):
            connection.recv_response()
    finally:
        connection.close()


def test_api_versions_v99_gets_v0_error_response_listing_supported_range(broker):
    connection = raw.Connection(broker.bootstrap)
    try:
        body = connection.call(raw.api_versions_request, version=99)
        error_code, ranges = raw.parse_api_versions_v0(body)
        assert error_code == ERROR_UNSUPPORTED_VERSION
        assert raw.API_API_VERSIONS in ranges
        low, high = ranges[raw.API_API_VERSIONS]
        assert low == 0 and 3 <= high < 99
        # The connection stays usable: the client retries with a supported version.
        error_code, ranges = raw.parse_api_versions_v0(
            connection.call(raw.api_versions_request, version=0))
        assert error_code == ERROR_NONE
        assert ranges[raw.API_PRODUCE][0] <= 3 <= 7 <= ranges[raw.API_PRODUCE][1]
        assert ranges[raw.API_LIST_OFFSETS][0] <= 1
    finally:
        connection.close()


def produce_raw(broker, topic, batch):
    connection = raw.Connection(broker.bootstrap)
    try:
        body = connection.call(raw.produce_request_v7, topic=topic, partition=0, batch=batch)
    finally:
        connection.close()
    return raw.parse_produce_v7(body)[(topic, 0)]


def test_corrupt_crc_is_rejected_and_nothing_is_stored(broker, topic):
    _, end_before = watermarks(broker.bootstrap, topic, 0)
    batch = raw.corrupt_payload(raw.record_batch([b"poison-1", b"poison-2"]))
    error_code, _, _ = produce_raw(broker, topic, batch)
    assert error_code == ERROR_CORRUPT_MESSAGE
    assert watermarks(broker.bootstrap, topic, 0)[1] == end_before
    # A good batch on a new connection lands exactly at the old end offset.
    error_code, base_offset, _ = produce_raw(broker, topic, raw.record_batch([b"good"]))
    assert (error_code, base_offset) == (ERROR_NONE, end_before)
    got = consume(broker.bootstrap, topic, 0, offset=end_before, count=1)
    assert got[0].value() == b"good"


def test_batch_over_max_message_bytes_is_rejected(broker):
    small = create_topic(broker.bootstrap, unique_topic("bad-small"),
                         config={"max.message.bytes": "1024"})
    error_code, _, _ = produce_raw(broker, small, raw.record_batch([bytes(4096)]))
    assert error_code in (ERROR_MESSAGE_TOO_LARGE, ERROR_RECORD_LIST_TOO_LARGE)
    assert watermarks(broker.bootstrap, small, 0) == (0, 0)


def test_raw_batch_with_null_header_value_round_trips(broker):
    """The only way to send a null header value: none of our clients can produce one."""
    topic = create_topic(broker.bootstrap, unique_topic("bad-hdr"))
    header_record = raw.record(0, b"k", None, headers=[(b"nullv", None), (b"e", b"")])
    timestamp_ms = recent_timestamp_ms()
    batch = raw.batch_of_records([header_record], timestamp_ms, timestamp_ms)
    error_code, base_offset, _ = produce_raw(broker, topic, batch)
    assert (error_code, base_offset) == (ERROR_NONE, 0)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        records = []
        for _ in range(40):
            for batch_records in consumer.poll(timeout_ms=500).values():
                records.extend(batch_records)
            if records:
                break
        assert [(r.key, r.value, r.headers) for r in records] == \
            [(b"k", None, [("nullv", None), ("e", b"")])]
    finally:
        consumer.close()


def test_list_offsets_v7_max_timestamp(broker):
    """ListOffsets timestamp -3 (KIP-734, v7+): the offset of the record with the largest
    timestamp. No client we test sends v7, so this uses raw frames."""
    topic = create_topic(broker.bootstrap, unique_topic("bad-maxts"))
    base_ms = recent_timestamp_ms()
    # One batch, so that the answer must come from inside it (KIP-734, KAFKA-16310):
    # the record with the largest timestamp is the middle one, not the batch's last.
    batch = raw.record_batch([b"a", b"b", b"c"],
                             timestamps_ms=[base_ms + 10, base_ms + 50, base_ms + 20])
    assert produce_raw(broker, topic, batch)[:2] == (ERROR_NONE, 0)
    connection = raw.Connection(broker.bootstrap)
    try:
        _, ranges = raw.parse_api_versions_v0(connection.call(raw.api_versions_request))
        assert ranges[raw.API_LIST_OFFSETS][1] >= 7, "ListOffsets v7 (max timestamp) missing"
        results = {}
        for name, timestamp in (("earliest", -2), ("latest", -1), ("max", -3)):
            body = connection.call(raw.list_offsets_request_v7, flexible_header=True,
                                   topic=topic, partition=0, timestamp=timestamp)
            results[name] = raw.parse_list_offsets_v7(body)[(topic, 0)]
    finally:
        connection.close()
    assert results["earliest"][0::2] == (ERROR_NONE, 0)
    assert results["latest"][0::2] == (ERROR_NONE, 3)
    assert results["max"] == (ERROR_NONE, base_ms + 50, 1)


def test_many_bad_connections_in_a_row(broker, topic):
    for seed in range(20):
        connection = raw.Connection(broker.bootstrap)
        try:
            connection.send(struct.pack(">i", 64) + random.Random(seed).randbytes(64))
        except (BrokenPipeError, ConnectionResetError):
            pass
        connection.close()
    assert consume(broker.bootstrap, topic, 0, offset=OFFSET_BEGINNING, count=1)
