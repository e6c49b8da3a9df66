"""Three real `fjord` processes on loopback form one cluster (issue 5).

The cluster metadata is a Raft log replicated by the three nodes; the Raft leader
is the active controller. Checked with real clients: librdkafka (confluent-kafka),
kafka-python and kcat.
"""

import re
import subprocess
import time

import pytest

import kafka_raw
from cluster_helpers import (cluster, create_topics,  # noqa: F401 (cluster: a fixture)
                             kill_controllers_during_topic_creation, partition_leaders)
from conftest import broker_binary
from fjord_helpers import consume, produce_sync, wait_for_leaders

pytestmark = pytest.mark.fjord_timeout(300)


def test_every_node_lists_all_brokers_and_the_same_controller(cluster):
    controllers = set()
    for node_id in cluster.nodes:
        md = cluster.metadata(node_id)
        assert set(md.brokers) == {1, 2, 3}
        for broker in md.brokers.values():
            assert broker.host == "127.0.0.1"
            assert broker.port == cluster.kafka_ports[broker.id - 1]
        controllers.add(md.controller_id)
    assert len(controllers) == 1
    assert controllers.pop() in {1, 2, 3}


def test_topic_created_through_any_node_is_spread_and_usable_through_any_node(cluster):
    topic = "spread"
    # Node 2's bootstrap: the admin client is routed to the controller, wherever it is.
    create_topics(cluster.bootstrap(2), [topic], partitions=6)
    for node_id in cluster.nodes:
        wait_for_leaders(cluster.bootstrap(node_id), topic, 6)
    leaders = {p.leader for p in cluster.metadata(1, topic).topics[topic].partitions.values()}
    assert leaders == {1, 2, 3}, "six partitions should be placed on all three brokers"

    messages = [{"value": f"m{i}".encode(), "partition": i % 6} for i in range(60)]
    produce_sync(cluster.bootstrap(3), topic, messages)
    for partition in range(6):
        got = consume(cluster.bootstrap(1), topic, partition=partition, count=10)
        assert [m.value() for m in got] == [f"m{i}".encode() for i in range(partition, 60, 6)]

    # kcat through another bootstrap node sees the same.
    out = subprocess.run(["kcat", "-b", cluster.bootstrap(2), "-C", "-t", topic, "-p", "0",
                          "-o", "beginning", "-e", "-q", "-f", "%s\n"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == [f"m{i}" for i in range(0, 60, 6)]


def test_kafka_python_through_a_non_controller_node(cluster):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic as KNewTopic

    controller = cluster.controller_of(1)
    other = next(n for n in cluster.nodes if n != controller)
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap(other), request_timeout_ms=30000)
    admin.create_topics([KNewTopic("kp", num_partitions=3, replication_factor=1)])
    admin.close()
    wait_for_leaders(cluster.bootstrap(other), "kp", 3)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap(other), acks="all")
    for i in range(30):
        producer.send("kp", value=f"v{i}".encode(), partition=i % 3).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap(other),
                             auto_offset_reset="earliest", consumer_timeout_ms=10000)
    consumer.assign([TopicPartition("kp", p) for p in range(3)])
    values = sorted(int(m.value[1:]) for m in consumer)
    consumer.close()
    assert values == list(range(30))


def test_a_node_that_does_not_lead_the_partition_answers_not_leader(cluster):
    topic = "routing"
    create_topics(cluster.bootstrap(1), [topic], partitions=3)
    md = wait_for_leaders(cluster.bootstrap(1), topic, 3)
    leader = md.partitions[0].leader
    wrong = next(n for n in cluster.nodes if n != leader)
    # Followers learn of the topic one heartbeat after the controller: wait
    # until the wrong node knows it, or it rightly answers UNKNOWN_TOPIC.
    partition_leaders(cluster, wrong, topic, 3)
    conn = kafka_raw.Connection(cluster.bootstrap(wrong))
    try:
        body = conn.call(kafka_raw.produce_request_v7, topic=topic, partition=0,
                         batch=kafka_raw.record_batch([b"x"]))
    finally:
        conn.close()
    assert kafka_raw.parse_produce_v7(body)[(topic, 0)][0] == 6  # NOT_LEADER_OR_FOLLOWER


def test_killing_the_controller_during_topic_creation_loses_and_repeats_nothing(cluster):
    """kill -9 the active controller again and again while a client creates topics;
    every acknowledged topic is then on every node exactly once, with one id."""
    kill_controllers_during_topic_creation(cluster)


def test_a_node_that_stops_heartbeating_is_fenced_until_it_is_back(cluster):
    topic = "fenced"
    create_topics(cluster.bootstrap(1), [topic], partitions=6)
    wait_for_leaders(cluster.bootstrap(1), topic, 6)
    controller = cluster.controller_of(1)
    victim = next(n for n in cluster.nodes if n != controller)
    led = {p.id for p in cluster.metadata(controller, topic).topics[topic].partitions.values()
           if p.leader == victim}
    assert led, "the striped placement gives every broker partitions"
    cluster.nodes[victim].kill()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        md = cluster.metadata(controller, topic)
        leaders = {p.id: p.leader for p in md.topics[topic].partitions.values()}
        if victim not in md.brokers and all(leaders[p] == -1 for p in led):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"node {victim} was not fenced: brokers {list(md.brokers)}, leaders {leaders}")
    assert all(leader != -1 for p, leader in leaders.items() if p not in led)

    cluster.start(victim)
    cluster.wait_formed()
    wait_for_leaders(cluster.bootstrap(controller), topic, 6)


def test_cluster_status_shows_the_quorum(cluster):
    out = subprocess.run([broker_binary(), "cluster", "status", "--bootstrap-server",
                          cluster.bootstrap(1)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    controller = cluster.controller_of(1)
    assert re.search(rf"quorum leader:\s+node {controller}\b", out.stdout.lower()), out.stdout
    for node_id in cluster.nodes:
        assert str(node_id) in out.stdout
