"""A three-node Fjord cluster on loopback for the integration tests.

Each node is a real `fjord serve` process with its own data directory and Kafka
listener, and the same `controller.quorum.voters` (the Raft transport of node N
listens on its own entry). Nodes print their ready line once they listen, before
the quorum has formed, so the cluster is started node by node and then waited for.
"""

import random
import socket
import threading
import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_raw
from conftest import Broker
from fjord_helpers import admin_client

CLUSTER_FORM_TIMEOUT_S = 60


def free_ports(count):
    """Ports the kernel just handed out and released; good enough on a test box."""
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Cluster:
    def __init__(self, tmp_path, size=3, settings=None):
        raft_ports = free_ports(size)
        kafka_ports = free_ports(size)
        voters = ",".join(f"{i + 1}@127.0.0.1:{port}" for i, port in enumerate(raft_ports))
        self.tmp_path = tmp_path
        self.kafka_ports = kafka_ports
        self.raft_ports = raft_ports
        self.nodes = {}
        self.common_settings = {
            "controller.quorum.voters": voters,
            "cluster.id": "fjord-test-cluster-0001",
            "broker.heartbeat.interval.ms": 200,
            "broker.session.timeout.ms": 2000,
            **(settings or {}),
        }
        for i in range(size):
            self._add(i + 1, {})

    def _add(self, node_id, extra):
        node_settings = {"node.id": node_id, **self.common_settings, **extra}
        directory = self.tmp_path / f"node-{node_id}"
        self.nodes[node_id] = Broker(directory / "data", directory / "logs", node_settings)
        return self.nodes[node_id]

    def add_joining_node(self):
        """A node outside controller.quorum.voters (same voters value as the
        others), with a Raft address of its own: it follows the metadata log
        until `fjord cluster add-voter` makes it a voter. Not started."""
        node_id = len(self.nodes) + 1
        raft_port, kafka_port = free_ports(2)
        self.kafka_ports.append(kafka_port)
        self.raft_ports.append(raft_port)
        self._add(node_id, {"listeners": f"PLAINTEXT://127.0.0.1:{kafka_port},"
                                         f"CONTROLLER://127.0.0.1:{raft_port}"})
        return node_id

    def raft_address(self, node_id):
        return f"127.0.0.1:{self.raft_ports[node_id - 1]}"

    def listen(self, node_id):
        return f"127.0.0.1:{self.kafka_ports[node_id - 1]}"

    def start(self, node_id):
        # A fixed Kafka port per node, so clients' bootstrap lists stay valid across restarts.
        return self.nodes[node_id].start(listen=self.listen(node_id))

    def start_all(self):
        for node_id in self.nodes:
            self.start(node_id)
        self.wait_formed()
        return self

    def bootstrap(self, node_id=None):
        if node_id is not None:
            return self.listen(node_id)
        return ",".join(self.listen(n) for n, node in self.nodes.items() if node.running())

    def metadata(self, node_id, topic=None, timeout_s=10):
        """Cluster metadata as this one node answers it (no other node is contacted)."""
        admin = AdminClient({"bootstrap.servers": self.listen(node_id),
                             "topic.metadata.refresh.interval.ms": -1})
        return admin.list_topics(topic=topic, timeout=timeout_s)

    def controller_of(self, node_id):
        return self.metadata(node_id).controller_id

    def wait_formed(self, expected_brokers=None, timeout_s=CLUSTER_FORM_TIMEOUT_S):
        """Until every running node lists the same live brokers and the same controller."""
        expected = set(expected_brokers or [n for n, node in self.nodes.items() if node.running()])
        deadline = time.monotonic() + timeout_s
        views = {}
        while time.monotonic() < deadline:
            views = {}
            for node_id in expected:
                try:
                    md = self.metadata(node_id, timeout_s=5)
                    views[node_id] = (set(md.brokers), md.controller_id)
                except Exception as error:  # not answering yet
                    views[node_id] = repr(error)
            controllers = {v[1] for v in views.values() if isinstance(v, tuple)}
            if (all(isinstance(v, tuple) and v[0] == expected for v in views.values())
                    and len(controllers) == 1 and controllers.pop() in expected):
                return self.controller_of(min(expected))
            time.sleep(0.2)
        pytest.fail(f"cluster did not form within {timeout_s}s: {views}\n"
                    + "\n".join(node.stderr_tail(30) for node in self.nodes.values()))

    def stop_all(self):
        for node in self.nodes.values():
            if node.running():
                node.stop_ok()


@pytest.fixture
def cluster(tmp_path):
    """Three nodes, started and formed; import it into a test module to use it."""
    c = Cluster(tmp_path)
    c.start_all()
    yield c
    c.stop_all()


def create_topics(bootstrap, names, partitions):
    admin = admin_client(bootstrap)
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names],
        operation_timeout=30, request_timeout=30)
    for name in names:
        futures[name].result(timeout=30)


def topic_ids(cluster, node_id):
    """{name: topic id} of every topic but the internal ones, as the node
    answers Metadata v12 (no other node is contacted)."""
    conn = kafka_raw.Connection(cluster.bootstrap(node_id))
    try:
        body = conn.call(kafka_raw.metadata_request_v12, flexible_header=True, topics=None)
    finally:
        conn.close()
    topics = kafka_raw.parse_metadata_v12(body)["topics"]
    return {name: t["topic_id"] for name, t in topics.items() if not name.startswith("__")}


def partition_leaders(cluster, node_id, topic, partitions, timeout_s=30):
    """{partition: leader} as the node answers Metadata v12, once it lists
    `partitions` partitions of the topic, each with a leader."""
    deadline = time.monotonic() + timeout_s
    leaders = {}
    while time.monotonic() < deadline:
        conn = kafka_raw.Connection(cluster.bootstrap(node_id))
        try:
            body = conn.call(kafka_raw.metadata_request_v12, flexible_header=True, topics=[topic])
        finally:
            conn.close()
        found = kafka_raw.parse_metadata_v12(body)["topics"].get(topic)
        leaders = found["partitions"] if found and found["error_code"] == 0 else {}
        if len(leaders) == partitions and all(leader >= 0 for leader in leaders.values()):
            return leaders
        time.sleep(0.1)
    pytest.fail(f"node {node_id} has no leaders for {partitions} partitions of {topic}: {leaders}")


def wait_for_topic_ids(cluster, node_id, names, timeout_s=30):
    """topic_ids() once the node lists every one of `names`."""
    deadline = time.monotonic() + timeout_s
    seen = {}
    while time.monotonic() < deadline:
        seen = topic_ids(cluster, node_id)
        if set(names) <= set(seen):
            return seen
        time.sleep(0.2)
    pytest.fail(f"node {node_id} lists {sorted(seen)}, not {sorted(names)}\n"
                + cluster.nodes[node_id].stderr_tail(30))


def kill_controllers_during_topic_creation(cluster, rounds=3, seed=5):
    """kill -9 the active controller `rounds` times while a client creates topics,
    restarting it each time; then checks that every acknowledged topic is on every
    node exactly once, with one id. Returns the acknowledged names."""
    acknowledged = {}
    errors = []
    stop = threading.Event()

    def creator():
        i = 0
        while not stop.is_set():
            name = f"t{i:04d}"
            try:
                create_topics(cluster.bootstrap(), [name], partitions=2)
                acknowledged[name] = True
            except Exception as error:  # controller gone: this one may or may not exist
                errors.append((name, repr(error)))
            i += 1

    worker = threading.Thread(target=creator, daemon=True)
    worker.start()
    rng = random.Random(seed)
    failovers_s = []
    try:
        for _ in range(rounds):
            time.sleep(rng.uniform(0.5, 2.0))
            victim = cluster.controller_of(next(n for n, node in cluster.nodes.items()
                                                if node.running()))
            killed_at = time.monotonic()
            cluster.nodes[victim].kill()
            survivors = [n for n in cluster.nodes if n != victim]
            new_controller = wait_for_new_controller(cluster, survivors, victim)
            failovers_s.append(time.monotonic() - killed_at)
            assert new_controller in survivors
            cluster.start(victim)
            cluster.wait_formed()
    finally:
        stop.set()
        worker.join(timeout=120)
    print(f"failover times (s): {[round(f, 2) for f in failovers_s]}; "
          f"{len(acknowledged)} topics acknowledged, {len(errors)} attempts failed")
    assert len(acknowledged) >= 5, f"too few creations went through: {errors[-5:]}"

    ids = {}
    for node_id in cluster.nodes:
        topics = wait_for_topics(cluster, node_id, set(acknowledged))
        for name in acknowledged:
            meta = topics[name]
            assert len(meta.partitions) == 2, f"{name} on node {node_id}: {meta.partitions}"
            ids.setdefault(name, set()).add(topic_id(cluster, node_id, name))
    for name, seen in ids.items():
        assert len(seen) == 1, f"{name} has different ids on different nodes: {seen}"
    return set(acknowledged)


def wait_for_new_controller(cluster, survivors, old, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            seen = {cluster.controller_of(n) for n in survivors}
            if len(seen) == 1 and old not in seen and -1 not in seen:
                return seen.pop()
        except Exception:
            pass
        time.sleep(0.05)
    pytest.fail(f"no new controller within {timeout_s}s after node {old} was killed")


def wait_for_topics(cluster, node_id, names, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    topics = {}
    while time.monotonic() < deadline:
        topics = cluster.metadata(node_id).topics
        if names <= set(topics):
            return topics
        time.sleep(0.2)
    pytest.fail(f"node {node_id} lacks acknowledged topics {sorted(names - set(topics))}")


def topic_id(cluster, node_id, name):
    conn = kafka_raw.Connection(cluster.bootstrap(node_id))
    try:
        body = conn.call(kafka_raw.metadata_request_v12, flexible_header=True, topics=[name])
    finally:
        conn.close()
    return kafka_raw.parse_metadata_v12(body)["topics"][name]["topic_id"]
