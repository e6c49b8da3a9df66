"""Snapshots of the cluster metadata (issue 5): every node snapshots the
replicated metadata log, restarts from its newest snapshot instead of replaying
the whole log, and a node that fell behind the leader's log start is sent the
leader's snapshot.
"""

import pathlib
import re
import time

import pytest

from cluster_helpers import (Cluster, create_topics, kill_controllers_during_topic_creation,
                             topic_ids, wait_for_topic_ids)

pytestmark = pytest.mark.fjord_timeout(300)

LOADED = re.compile(r"metadata: loaded the snapshot ending at offset (\d+) \((\d+) topics")
CHECKPOINT = re.compile(r"^(\d{20})-(\d{10})\.checkpoint$")


@pytest.fixture
def cluster(tmp_path):
    # A snapshot after every change, so each one moves the log start.
    c = Cluster(tmp_path, settings={"metadata.log.max.record.bytes.between.snapshots": 1})
    c.start_all()
    yield c
    c.stop_all()


def snapshot_ends(node):
    """End offsets of the node's metadata snapshots, newest last."""
    directory = pathlib.Path(node.data_dir) / "__cluster_metadata-0"
    ends = [int(m.group(1)) for m in (CHECKPOINT.match(p.name) for p in directory.iterdir()) if m]
    return sorted(ends)


def loaded_snapshots(node):
    with open(node.stderr_path, errors="replace") as err:
        return [(int(m.group(1)), int(m.group(2))) for m in LOADED.finditer(err.read())]


def test_nodes_snapshot_the_metadata_and_restart_from_it(cluster):
    names = [f"snap-{i}" for i in range(5)]
    for name in names:
        create_topics(cluster.bootstrap(), [name], partitions=2)
    ids = {n: wait_for_topic_ids(cluster, n, names) for n in cluster.nodes}
    assert len({tuple(sorted(v.items())) for v in ids.values()}) == 1, ids
    for node_id, node in cluster.nodes.items():
        assert snapshot_ends(node)[-1] > 0, f"node {node_id} took no snapshot"

    cluster.stop_all()
    cluster.start_all()
    for node_id, node in cluster.nodes.items():
        loaded = loaded_snapshots(node)
        assert loaded, f"node {node_id} did not start from a snapshot\n{node.stderr_tail(30)}"
        end, topics = loaded[0]
        assert end > 0 and topics >= len(names)
        assert wait_for_topic_ids(cluster, node_id, names) == ids[node_id]


def test_a_node_behind_the_log_start_is_sent_the_leaders_snapshot(cluster):
    controller = cluster.wait_formed()
    laggard = next(n for n in cluster.nodes if n != controller)
    cluster.nodes[laggard].stop_ok()
    names = [f"behind-{i}" for i in range(4)]
    for name in names:
        create_topics(cluster.bootstrap(controller), [name], partitions=1)
    # The leader's transport keeps what it sent the stopped node and would
    # deliver it on reconnection; restarting the leader drops that, so the
    # laggard must be brought up to date from the leader's log, whose start is
    # now past the laggard's end.
    cluster.nodes[controller].stop_ok()
    cluster.start(controller)
    survivors = [n for n in cluster.nodes if n != laggard]
    cluster.wait_formed(expected_brokers=survivors)
    ends_before = snapshot_ends(cluster.nodes[laggard])
    assert all(snapshot_ends(cluster.nodes[n])[-1] > ends_before[-1] for n in survivors)

    cluster.start(laggard)
    cluster.wait_formed()
    seen = wait_for_topic_ids(cluster, laggard, names)
    assert seen == topic_ids(cluster, controller)
    node = cluster.nodes[laggard]
    assert any(end > ends_before[-1] and topics >= len(names)
               for end, topics in loaded_snapshots(node)), node.stderr_tail(30)


def test_killing_controllers_while_every_change_is_snapshotted_loses_nothing(cluster):
    """The crash windows of snapshots (a snapshot written, the log start moved,
    a node restarting from it) under kill -9 of the controller during topic
    creation: every acknowledged topic is on every node once, with one id, also
    after all nodes restart from their snapshots."""
    acknowledged = kill_controllers_during_topic_creation(cluster, rounds=3, seed=11)
    ids = {n: wait_for_topic_ids(cluster, n, acknowledged) for n in cluster.nodes}
    cluster.stop_all()
    cluster.start_all()
    for node_id in cluster.nodes:
        assert wait_for_topic_ids(cluster, node_id, acknowledged) == ids[node_id]
