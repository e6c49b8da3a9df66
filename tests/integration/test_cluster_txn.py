"""A transaction whose partitions are led by different brokers of a three-node
cluster (issue 5): the coordinator writes the markers of its own partitions and
sends WriteTxnMarkers to the leaders of the others, so every partition ends the
transaction (commit or abort) and read_committed consumers get past it.
Checked with confluent-kafka (librdkafka) as producer and consumer.
"""

import time

import pytest

import kafka_raw
from cluster_helpers import (cluster, create_topics,  # noqa: F401 (cluster: a fixture)
                             partition_leaders)
from fjord_helpers import wait_for_leaders
from test_txn_confluent import produce_in_transaction, tagged, transactional_producer
from txn_helpers import high_watermark, last_stable_offset, read_to_end, values_by_partition

pytestmark = pytest.mark.fjord_timeout(300)

PARTITIONS = 6


def test_a_transaction_across_brokers_ends_on_every_partition(cluster):
    topic = "txn-across"
    create_topics(cluster.bootstrap(), [topic], partitions=PARTITIONS)
    leaders = partition_leaders(cluster, 1, topic, PARTITIONS)
    assert set(leaders.values()) == {1, 2, 3}, "the partitions are led by all three brokers"

    partitions = [(topic, p) for p in range(PARTITIONS)]
    producer = transactional_producer(cluster.bootstrap())
    committed_first = tagged("c1", partitions, 5)
    aborted = tagged("ab", partitions, 5)
    committed_second = tagged("c2", partitions, 5)
    produce_in_transaction(producer, committed_first, commit=True)
    produce_in_transaction(producer, aborted, commit=False)
    produce_in_transaction(producer, committed_second, commit=True)

    for partition, leader in leaders.items():
        # 15 records and a marker per transaction, asked of the partition's leader.
        bootstrap = cluster.bootstrap(leader)
        assert high_watermark(bootstrap, topic, partition) == 18, f"partition {partition}"
        assert last_stable_offset(bootstrap, topic, partition) == 18, f"partition {partition}"
    committed = values_by_partition(read_to_end(cluster.bootstrap(), partitions))
    assert committed == {tp: committed_first[tp] + committed_second[tp] for tp in partitions}
    uncommitted = values_by_partition(
        read_to_end(cluster.bootstrap(), partitions, isolation="read_uncommitted"))
    assert uncommitted == {tp: committed_first[tp] + aborted[tp] + committed_second[tp]
                           for tp in partitions}


def test_every_node_hands_out_producer_ids_from_the_controller(cluster):
    """An idempotent producer's InitProducerId may reach any node; the nodes that
    are not the controller take blocks of ids from it (AllocateProducerIds), so
    no two nodes ever hand out the same id."""
    controller = cluster.controller_of(1)
    ids = {}
    for node_id in cluster.nodes:
        conn = kafka_raw.Connection(cluster.bootstrap(node_id))
        try:
            body = conn.call(kafka_raw.init_producer_id_request, transactional_id=None,
                             transaction_timeout_ms=60000)
        finally:
            conn.close()
        error_code, producer_id, epoch = kafka_raw.parse_init_producer_id(body)
        assert error_code == 0, f"node {node_id} (controller {controller}): error {error_code}"
        assert producer_id >= 0 and epoch == 0
        ids[node_id] = producer_id
    assert len(set(ids.values())) == len(ids), ids


def transaction_coordinator(cluster, transactional_id):
    conn = kafka_raw.Connection(cluster.bootstrap(1))
    try:
        body = conn.call(kafka_raw.find_coordinator_request_v2, key=transactional_id,
                         key_type=kafka_raw.COORDINATOR_TRANSACTION)
    finally:
        conn.close()
    error_code, node_id, _host, _port = kafka_raw.parse_find_coordinator_v2(body)
    assert error_code == 0, f"FindCoordinator: error {error_code}"
    return node_id


def stable_offset_or_none(bootstrap, topic, partition):
    """The LSO, or None while the (restarting) leader answers with an error."""
    try:
        return last_stable_offset(bootstrap, topic, partition)
    except AssertionError:
        return None


def test_markers_for_a_broker_that_is_down_are_written_once_it_is_back(cluster):
    """The commit is decided while one partition leader is down: its markers are
    retried until it is back, and then the transaction completes there too."""
    topic = "txn-retry"
    create_topics(cluster.bootstrap(), [topic], partitions=PARTITIONS)
    partitions = [(topic, p) for p in range(PARTITIONS)]
    transactional_id = "txn-retry-id"
    producer = transactional_producer(cluster.bootstrap(), transactional_id)
    coordinator = transaction_coordinator(cluster, transactional_id)
    leaders = partition_leaders(cluster, 1, topic, PARTITIONS)
    victim = next(n for n in (1, 2, 3) if n != coordinator and n in leaders.values())

    values = tagged("late", partitions, 3)
    producer.begin_transaction()
    for (t, p), batch in values.items():
        for value in batch:
            producer.produce(t, partition=p, value=value)
    assert producer.flush(60) == 0
    cluster.nodes[victim].stop_ok()
    # Decided (PrepareCommit is durable): answered although one leader is down.
    producer.commit_transaction(60)
    cluster.start(victim)
    cluster.wait_formed()
    wait_for_leaders(cluster.bootstrap(), topic, PARTITIONS)
    for partition, leader in leaders.items():
        # 3 records and the COMMIT marker, on every leader, the restarted one too.
        bootstrap = cluster.bootstrap(leader)
        deadline = time.monotonic() + 60
        while stable_offset_or_none(bootstrap, topic, partition) != 4 and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        assert last_stable_offset(bootstrap, topic, partition) == 4, (
            f"partition {partition} on node {leader} (restarted: node {victim})")
    committed = values_by_partition(read_to_end(cluster.bootstrap(), partitions))
    assert committed == values
