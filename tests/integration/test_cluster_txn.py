"""A transaction whose partitions are led by different brokers of a three-node
cluster (issue 5): the coordinator writes the markers of its own partitions and
sends WriteTxnMarkers to the leaders of the others, so every partition ends the
transaction (commit or abort) and read_committed consumers get past it.
Checked with confluent-kafka (librdkafka) as producer and consumer.
"""

import pytest

import kafka_raw
from cluster_helpers import cluster, create_topics  # noqa: F401 (cluster: a fixture)
from fjord_helpers import wait_for_leaders
from test_txn_confluent import produce_in_transaction, tagged, transactional_producer
from txn_helpers import high_watermark, last_stable_offset, read_to_end, values_by_partition

pytestmark = pytest.mark.fjord_timeout(300)

PARTITIONS = 6


def test_a_transaction_across_brokers_ends_on_every_partition(cluster):
    topic = "txn-across"
    create_topics(cluster.bootstrap(), [topic], partitions=PARTITIONS)
    wait_for_leaders(cluster.bootstrap(), topic, PARTITIONS)
    leaders = {p.id: p.leader for p in cluster.metadata(1, topic).topics[topic].partitions.values()}
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
