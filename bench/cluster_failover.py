#!/usr/bin/python3
"""Controller failover on a three-node Fjord cluster on loopback.

Starts three `fjord serve` nodes (one metadata quorum), then, ROUNDS times:
kill -9 the active controller, and measure
  * election: until both survivors name the same new controller in Metadata;
  * first write: until a CreateTopics through the survivors succeeds;
then restart the killed node and wait until all three list each other again.
Prints one Markdown table (medians, min-max) and the raw figures.

Usage: bench/cluster_failover.py FJORD_BINARY [ROUNDS] [ELECTION_TIMEOUT_MS] [JSON_OUT]
(JSON_OUT: the raw figures for bench/cluster_report.py.)
"""

import json

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from confluent_kafka.admin import AdminClient, NewTopic

POLL_S = 0.01


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Node:
    def __init__(self, binary, node_id, kafka_port, voters, root, election_timeout_ms):
        self.binary, self.node_id, self.kafka_port = binary, node_id, kafka_port
        self.data = os.path.join(root, f"node-{node_id}")
        self.log = os.path.join(root, f"node-{node_id}.log")
        self.settings = [f"node.id={node_id}", f"controller.quorum.voters={voters}",
                         f"controller.quorum.election.timeout.ms={election_timeout_ms}",
                         "broker.heartbeat.interval.ms=500", "broker.session.timeout.ms=3000"]
        self.proc = None

    def start(self):
        cmd = [self.binary, "serve", "--data-dir", self.data,
               "--listen", f"127.0.0.1:{self.kafka_port}"]
        for setting in self.settings:
            cmd += ["--set", setting]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def controller_seen_by(node):
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{node.kafka_port}",
                         "topic.metadata.refresh.interval.ms": -1})
    try:
        md = admin.list_topics(timeout=1)
        return md.controller_id, set(md.brokers)
    except Exception:
        return -1, set()


def wait_until(predicate, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(POLL_S)
    raise SystemExit("timed out: the cluster did not recover")


def create_topic(bootstrap, name):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)],
                            request_timeout=5, operation_timeout=5)[name].result(timeout=6)
        return True
    except Exception:
        return False


def summary(values_ms):
    return (f"{statistics.median(values_ms):.0f} ms "
            f"({min(values_ms):.0f}-{max(values_ms):.0f})")


def main():
    binary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    election_timeout_ms = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    root = tempfile.mkdtemp(prefix="fjord-failover-")
    raft_ports, kafka_ports = free_ports(3), free_ports(3)
    voters = ",".join(f"{i + 1}@127.0.0.1:{p}" for i, p in enumerate(raft_ports))
    nodes = {i + 1: Node(binary, i + 1, kafka_ports[i], voters, root, election_timeout_ms)
             for i in range(3)}
    for node in nodes.values():
        node.start()
    try:
        everyone = set(nodes)
        wait_until(lambda: all(controller_seen_by(n)[1] == everyone for n in nodes.values()))
        elections, writes = [], []
        for round_index in range(rounds):
            victim = controller_seen_by(nodes[1])[0]
            survivors = [n for i, n in nodes.items() if i != victim]
            killed_at = time.monotonic()
            nodes[victim].kill()

            def new_controller():
                seen = {controller_seen_by(n)[0] for n in survivors}
                return len(seen) == 1 and seen.pop() not in (-1, victim)

            wait_until(new_controller)
            elections.append((time.monotonic() - killed_at) * 1000)
            bootstrap = ",".join(f"127.0.0.1:{n.kafka_port}" for n in survivors)
            wait_until(lambda: create_topic(bootstrap, f"after-failover-{round_index}"))
            writes.append((time.monotonic() - killed_at) * 1000)
            nodes[victim].start()
            wait_until(lambda: all(controller_seen_by(n)[1] == everyone for n in nodes.values()))
        print(f"| controller.quorum.election.timeout.ms | rounds | new controller named by both "
              f"survivors | first CreateTopics acknowledged |")
        print("| --- | --- | --- | --- |")
        print(f"| {election_timeout_ms} | {rounds} | {summary(elections)} | {summary(writes)} |")
        print(f"raw election ms: {[round(v) for v in elections]}")
        print(f"raw first-write ms: {[round(v) for v in writes]}")
        if len(sys.argv) > 4:
            with open(sys.argv[4], "w") as out:
                json.dump({"binary": binary, "election_timeout_ms": election_timeout_ms, "rounds": rounds,
                           "elections_ms": elections, "first_writes_ms": writes}, out)
    finally:
        for node in nodes.values():
            node.stop()


if __name__ == "__main__":
    main()
