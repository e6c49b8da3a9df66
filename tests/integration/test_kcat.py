"""kcat 1.7.1 (librdkafka 2.0.2): -L metadata, -P produce, -C -o offsets, -e exit at end."""

import json
import shutil
import subprocess

import pytest

from conftest import recent_timestamp_ms, unique_topic
from fjord_helpers import consume, create_topic, produce_sync

KCAT_TIMEOUT_S = 60


def kcat(broker, *args, stdin=None):
    path = shutil.which("kcat")
    assert path, "kcat is not installed (Debian package kcat)"
    result = subprocess.run([path, "-b", broker.bootstrap, *args], input=stdin,
                            capture_output=True, timeout=KCAT_TIMEOUT_S)
    assert result.returncode == 0, (f"kcat {' '.join(args)} exited {result.returncode}: "
                                    f"{result.stderr.decode(errors='replace')[-2000:]}")
    return result.stdout


def consume_json(broker, topic, *offset_args):
    """kcat -C ... -e -J: one JSON object per message, until the end of the partition."""
    out = kcat(broker, "-C", "-t", topic, "-p", "0", *offset_args, "-e", "-J")
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def test_list_metadata(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kc-meta"), partitions=3)
    metadata = json.loads(kcat(broker, "-L", "-J"))
    assert [b["id"] for b in metadata["brokers"]] == [broker.node_id]
    assert metadata["brokers"][0]["name"] == broker.bootstrap
    topics = {t["topic"]: t for t in metadata["topics"]}
    assert topic in topics
    assert sorted(p["partition"] for p in topics[topic]["partitions"]) == [0, 1, 2]
    assert all(p["leader"] == broker.node_id for p in topics[topic]["partitions"])


def test_produce_keys_and_headers_then_consume_from_beginning(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kc-p"))
    lines = b"".join(f"key{i}:value {i}\n".encode() for i in range(50))
    kcat(broker, "-P", "-t", topic, "-p", "0", "-K:", "-H", "origin=kcat", stdin=lines)
    got = consume_json(broker, topic, "-o", "beginning")
    assert [m["offset"] for m in got] == list(range(50))
    assert [(m["key"], m["payload"]) for m in got] == [(f"key{i}", f"value {i}")
                                                       for i in range(50)]
    assert got[0]["headers"] == ["origin", "kcat"]


def test_consumed_bytes_match_produced_ones(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kc-bytes"))
    payload = bytes(b for b in range(256) if b != 0x0A) * 4  # newline is the delimiter
    kcat(broker, "-P", "-t", topic, "-p", "0", stdin=payload + b"\n")
    out = kcat(broker, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%s")
    assert out == payload


def test_consume_from_absolute_and_relative_offsets(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kc-o"))
    produce_sync(broker.bootstrap, topic, [{"value": f"m{i}".encode()} for i in range(20)])
    assert [m["offset"] for m in consume_json(broker, topic, "-o", "15")] == [15, 16, 17, 18, 19]
    assert [m["payload"] for m in consume_json(broker, topic, "-o", "-3")] == ["m17", "m18", "m19"]
    assert consume_json(broker, topic, "-o", "end") == []


def test_consume_from_timestamp(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kc-ts"))
    base_ms = recent_timestamp_ms()
    produce_sync(broker.bootstrap, topic, [
        {"value": f"t{i}".encode(), "timestamp": base_ms + i * 100} for i in range(10)])
    got = consume_json(broker, topic, "-o", f"s@{base_ms + 450}")
    assert [m["offset"] for m in got] == [5, 6, 7, 8, 9]
    assert got[0]["ts"] == base_ms + 500


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_produce_compressed(broker, codec):
    topic = create_topic(broker.bootstrap, unique_topic(f"kc-{codec}"))
    lines = b"".join(f"{codec} line {i} ".encode() * 20 + b"\n" for i in range(200))
    kcat(broker, "-P", "-t", topic, "-p", "0", "-z", codec, stdin=lines)
    got = consume(broker.bootstrap, topic, 0, count=200)
    assert [m.value() + b"\n" for m in got] == lines.splitlines(keepends=True)
