"""Voters of the metadata quorum are added and removed while the cluster keeps
serving (issue 5): a fourth node started outside controller.quorum.voters follows
the metadata log, `fjord cluster add-voter` makes it a voter, `fjord cluster
remove-voter` retires one, the controller included, while topics are created
throughout.
"""

import json
import threading
import time

import pytest
from confluent_kafka import KafkaException

from cluster_helpers import cluster, create_topics, topic_ids, wait_for_topic_ids  # noqa: F401
from test_cli_cluster import fjord

pytestmark = pytest.mark.fjord_timeout(400)

CREATE_RETRY_S = 30


class TopicCreator(threading.Thread):
    """Creates topics one after another through the live nodes until stopped;
    each one is retried (a client sees NOT_CONTROLLER while the controller
    moves) until it is acknowledged."""

    def __init__(self, cluster, bootstrap):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.bootstrap = bootstrap
        self.acknowledged = []
        self.failed = []
        self.stopping = threading.Event()

    def run(self):
        n = 0
        while not self.stopping.is_set():
            name = f"during-{n}"
            deadline = time.monotonic() + CREATE_RETRY_S
            while True:
                try:
                    create_topics(self.bootstrap, [name], partitions=1)
                    self.acknowledged.append(name)
                    break
                except KafkaException as error:
                    if "already exists" in str(error):  # an earlier try was applied
                        self.acknowledged.append(name)
                        break
                    if time.monotonic() > deadline:
                        self.failed.append((name, str(error)))
                        break
                    time.sleep(0.1)
                except Exception as error:  # the client's own timeout
                    if time.monotonic() > deadline:
                        self.failed.append((name, repr(error)))
                        break
            n += 1

    def stop(self):
        self.stopping.set()
        self.join(timeout=CREATE_RETRY_S + 30)


def quorum_of(cluster, node_id):
    out = fjord("cluster", "status", "--output", "json", "-b", cluster.bootstrap(node_id))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["quorum"]


def voters_of(quorum):
    return sorted(m["node_id"] for m in quorum["members"] if m["role"] in ("leader", "follower"))


def wait_for_voters(cluster, node_id, expected, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    quorum = None
    while time.monotonic() < deadline:
        # A status during the election that follows a change may fail: retry.
        out = fjord("cluster", "status", "--output", "json", "-b", cluster.bootstrap(node_id))
        if out.returncode == 0:
            quorum = json.loads(out.stdout)["quorum"]
            if voters_of(quorum) == sorted(expected):
                return quorum
        time.sleep(0.3)
    pytest.fail(f"voters are not {sorted(expected)}: {quorum}, last error: {out.stderr}")


def test_a_voter_is_added_and_the_controller_removed_while_topics_are_created(cluster):
    newcomer = cluster.add_joining_node()
    initial_bootstrap = cluster.bootstrap()
    cluster.start(newcomer)
    assert voters_of(quorum_of(cluster, 1)) == [1, 2, 3]

    # Through the first three nodes: the newcomer knows nothing of the cluster
    # until it is added (the leader pushes the log to members only).
    creator = TopicCreator(cluster, initial_bootstrap)
    creator.start()
    try:
        added = fjord("cluster", "add-voter", "--id", str(newcomer), "--endpoint",
                      cluster.raft_address(newcomer), "-b", cluster.bootstrap(1))
        assert added.returncode == 0, added.stderr
        wait_for_voters(cluster, 1, [1, 2, 3, newcomer])
        cluster.wait_formed()  # its broker registered: every node lists four brokers

        controller = cluster.controller_of(newcomer)
        removed = fjord("cluster", "remove-voter", "--id", str(controller), "-b",
                        cluster.bootstrap())
        assert removed.returncode == 0, removed.stderr
        remaining = [n for n in cluster.nodes if n != controller]
        wait_for_voters(cluster, remaining[0], remaining)
        cluster.nodes[controller].stop_ok()  # the retired node is decommissioned
        cluster.wait_formed(expected_brokers=remaining)
        time.sleep(1)  # a few more topics under the new controller
    finally:
        creator.stop()
    assert not creator.failed, creator.failed
    assert len(creator.acknowledged) > 0
    print(f"{len(creator.acknowledged)} topics created during the changes")

    # Every acknowledged topic is on every remaining node, once, with one id.
    ids = {n: wait_for_topic_ids(cluster, n, creator.acknowledged) for n in remaining}
    assert len({tuple(sorted(v.items())) for v in ids.values()}) == 1

    # The new voter restarts as a voter (its configuration is in its log, not
    # in controller.quorum.voters) and with everything it had.
    cluster.nodes[newcomer].stop_ok()
    cluster.start(newcomer)
    cluster.wait_formed(expected_brokers=remaining)
    assert voters_of(quorum_of(cluster, newcomer)) == remaining
    assert topic_ids(cluster, newcomer) == ids[remaining[0]]
