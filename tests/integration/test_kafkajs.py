"""KafkaJS 2.2.4 (tests/integration/package.json), default settings, via node scripts in js/.

Each script prints one JSON line; these tests assert on it and cross-check with the Python
clients. KafkaJS ships only the gzip codec (snappy/lz4/zstd need extra npm packages that
this project does not install), so only none and gzip are produced here.
"""

import json
import os
import shutil
import subprocess
import time

import pytest
from kafka import KafkaConsumer, TopicPartition
from confluent_kafka import OFFSET_BEGINNING

from conftest import recent_timestamp_ms, unique_topic
from fjord_helpers import consume, create_topic, produce_sync, watermarks

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_TIMEOUT_S = 100

TOPIC_CONFIGS = {
    "retention.ms": "600000",
    "retention.bytes": "33554432",
    "segment.bytes": "4194304",
    "cleanup.policy": "delete",
    "max.message.bytes": "500000",
    "min.insync.replicas": "1",
}


def run_js(script, **args):
    node = shutil.which("node")
    assert node, "node is not installed (Debian/NodeSource package nodejs)"
    assert os.path.isdir(os.path.join(HERE, "node_modules", "kafkajs")), \
        "KafkaJS missing: run `npm install` in tests/integration (scripts/install-deps.sh does)"
    env = dict(os.environ, KAFKAJS_NO_PARTITIONER_WARNING="1")
    result = subprocess.run([node, os.path.join(HERE, "js", script), json.dumps(args)],
                            cwd=HERE, env=env, capture_output=True, timeout=NODE_TIMEOUT_S)
    stderr = result.stderr.decode(errors="replace")[-4000:]
    assert result.returncode == 0, f"node js/{script} exited {result.returncode}:\n{stderr}"
    lines = result.stdout.decode().strip().splitlines()
    assert lines, f"node js/{script} printed nothing:\n{stderr}"
    return json.loads(lines[-1])


def test_admin_topics_configs_partitions(broker):
    topic = unique_topic("js-admin")
    result = run_js("admin.js", bootstrap=broker.bootstrap, topic=topic, configs=TOPIC_CONFIGS)
    cluster = result["cluster"]
    assert [b["nodeId"] for b in cluster["brokers"]] == [broker.node_id]
    assert cluster["controller"] == broker.node_id
    assert result["created"] is True
    assert result["createdAgain"] is False  # KafkaJS's answer to TOPIC_ALREADY_EXISTS
    assert not result["badName"]["ok"]
    assert [e["type"] for e in result["badName"]["error"]["inner"]] == ["INVALID_TOPIC_EXCEPTION"]
    assert not result["badConfig"]["ok"]
    assert [e["type"] for e in result["badConfig"]["error"]["inner"]] == ["INVALID_CONFIG"]
    assert result["listed"] is True
    assert sorted(p["partition"] for p in result["partitions"]) == [0, 1]
    assert all(p["leader"] == broker.node_id for p in result["partitions"])
    assert result["describedBefore"]["errorCode"] == 0
    assert result["describedBefore"]["entries"] == TOPIC_CONFIGS
    assert result["altered"]["ok"], result["altered"]
    assert result["describedAfter"]["entries"]["retention.ms"] == "1234567"
    # KafkaJS returns per-resource errors of AlterConfigs as values or throws: accept both.
    bad_alter = result["badAlter"]
    assert (not bad_alter["ok"] and bad_alter["error"]["type"] == "INVALID_CONFIG") or \
        result["badAlterCodes"] == [40], bad_alter
    assert result["grown"]["ok"], result["grown"]
    assert result["partitionsAfterGrow"] == 4
    assert result["listedAfterDelete"] is False


def records_as_json(records):
    return [{"key": r.key.hex() if r.key is not None else None,
             "value": r.value.hex() if r.value is not None else None,
             "headers": [[k, v.hex() if v is not None else None] for k, v in r.headers],
             "timestamp": r.timestamp} for r in records]


def read_with_kafka_python(bootstrap, topic, count):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    try:
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        records = []
        deadline = time.monotonic() + 60
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        assert len(records) == count, f"read {len(records)} of {count}"
        return records
    finally:
        consumer.close()


@pytest.mark.parametrize("acks,codec", [(-1, "none"), (1, "gzip"), (0, "none")])
def test_produce_round_trips_byte_exact(broker, acks, codec):
    topic = create_topic(broker.bootstrap, unique_topic("js-prod"))
    result = run_js("produce.js", bootstrap=broker.bootstrap, topic=topic, count=150, acks=acks,
                    codec=codec, baseTimestampMs=recent_timestamp_ms())
    if acks != 0:
        assert [(m["partition"], m["errorCode"], m["baseOffset"]) for m in result["metadata"]] \
            == [(0, 0, "0")]
    records = read_with_kafka_python(broker.bootstrap, topic, 150)
    assert [r.offset for r in records] == list(range(150))
    assert records_as_json(records) == result["sent"]


def test_consumer_group_reads_from_beginning(broker):
    topic = create_topic(broker.bootstrap, unique_topic("js-cons"), partitions=2)
    sent = [{"key": f"k{i}".encode(), "value": bytes([i % 256]) * i, "partition": i % 2,
             "headers": [("n", str(i).encode())]} for i in range(60)]
    produce_sync(broker.bootstrap, topic, sent)
    result = run_js("consume.js", bootstrap=broker.bootstrap, topic=topic,
                    groupId=unique_topic("js-group"), count=60)
    received = result["received"]
    assert len(received) == 60
    for partition in (0, 1):
        mine = [m for m in received if m["partition"] == partition]
        assert [m["offset"] for m in mine] == list(range(30))
        expected = [m for m in sent if m["partition"] == partition]
        assert [(m["key"], m["value"]) for m in mine] == \
            [(e["key"].hex(), e["value"].hex()) for e in expected]
        assert [m["headers"] for m in mine] == [[["n", e["headers"][0][1].hex()]] for e in expected]


def test_list_offsets_and_delete_records(broker):
    topic = create_topic(broker.bootstrap, unique_topic("js-offsets"))
    base_ms = recent_timestamp_ms()
    produce_sync(broker.bootstrap, topic, [
        {"value": f"d{i}".encode(), "timestamp": base_ms + i * 1000, "partition": 0}
        for i in range(20)])
    result = run_js("offsets.js", bootstrap=broker.bootstrap, topic=topic, deleteBefore=8,
                    timestamps=[base_ms - 1, base_ms + 4500, base_ms + 999_999])
    assert result["before"] == [{"partition": 0, "offset": "20", "high": "20", "low": "0"}]
    by_ts = result["byTimestamp"]
    assert by_ts[str(base_ms - 1)] == [{"partition": 0, "offset": "0"}]
    assert by_ts[str(base_ms + 4500)] == [{"partition": 0, "offset": "5"}]
    assert by_ts[str(base_ms + 999_999)] == [{"partition": 0, "offset": "20"}]  # none: high
    assert result["deleted"]["ok"], result["deleted"]
    assert result["after"] == [{"partition": 0, "offset": "20", "high": "20", "low": "8"}]
    assert watermarks(broker.bootstrap, topic, 0) == (8, 20)
    got = consume(broker.bootstrap, topic, 0, offset=OFFSET_BEGINNING, count=12)
    assert [(m.offset(), m.value()) for m in got] == [(i, f"d{i}".encode()) for i in range(8, 20)]
