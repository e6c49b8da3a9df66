"""`fjord cluster status|add-voter|remove-voter` and DescribeQuorum against the real
binary. A node started alone is a metadata quorum of its own: the only voter and the
leader. (The three-node cluster tests come with the wiring of the Raft quorum.)

The CLI binary is FJORD_BIN.
"""

import json
import os
import socket
import subprocess

from conftest import unique_topic

CLI_TIMEOUT_S = 60


def fjord(*args, timeout_s=CLI_TIMEOUT_S):
    from conftest import broker_binary
    env = dict(os.environ)
    env.pop("FJORD_BOOTSTRAP", None)
    return subprocess.run([broker_binary(), *args], capture_output=True, text=True, env=env,
                          timeout=timeout_s)


def cluster_ok(broker, *args):
    result = fjord("cluster", *args, "-b", broker.bootstrap)
    assert result.returncode == 0, (
        f"fjord cluster {' '.join(args)} exited with {result.returncode}\n"
        f"stdout: {result.stdout}\nstderr: {result.stderr}")
    return result.stdout


def error_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {result.stderr!r}"
    assert lines[0].startswith("fjord: "), lines[0]
    return lines[0]


def status_json(broker):
    return json.loads(cluster_ok(broker, "status", "--output", "json"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_status_shows_the_single_node_as_leader_and_controller(broker):
    text = cluster_ok(broker, "status")
    assert f"Controller:     node {broker.node_id}" in text, text
    assert f"Quorum leader:  node {broker.node_id}, epoch 0" in text, text
    voters = [line.split() for line in text.splitlines() if line.startswith(f"{broker.node_id} ")]
    assert voters and voters[0][1] == "leader", text
    assert voters[0][3] == "0", f"the leader's lag is 0: {text}"
    assert broker.bootstrap in text, text


def test_status_json_matches_describe_quorum_and_moves_with_metadata(broker):
    before = status_json(broker)
    assert before["controller_id"] == broker.node_id
    quorum = before["quorum"]
    assert quorum["leader_id"] == broker.node_id
    assert [m["node_id"] for m in quorum["members"]] == [broker.node_id]
    leader = quorum["members"][0]
    assert leader["role"] == "leader"
    assert leader["log_end_offset"] == quorum["high_watermark"]
    assert leader["lag"] == 0
    assert [b["address"] for b in before["brokers"]] == [broker.bootstrap]
    assert before["cluster_id"]

    created = fjord("topic", "create", unique_topic("quorum"), "-b", broker.bootstrap)
    assert created.returncode == 0, created.stderr
    after = status_json(broker)
    assert after["quorum"]["high_watermark"] > quorum["high_watermark"], (before, after)


def test_voters_of_a_single_node_quorum_cannot_change(broker):
    add = fjord("cluster", "add-voter", "--id", "7", "--endpoint", "127.0.0.1:19099",
                "-b", broker.bootstrap)
    assert add.returncode == 1, add
    line = error_line(add)
    assert "UNSUPPORTED_VERSION" in line and "single-node" in line, line

    remove_other = fjord("cluster", "remove-voter", "--id", "7", "-b", broker.bootstrap)
    assert remove_other.returncode == 1
    assert "VOTER_NOT_FOUND" in error_line(remove_other)

    remove_self = fjord("cluster", "remove-voter", "--id", str(broker.node_id),
                        "-b", broker.bootstrap)
    assert remove_self.returncode == 1
    assert "its last voter" in error_line(remove_self)


def test_add_voter_needs_a_raft_endpoint(broker):
    result = fjord("cluster", "add-voter", "--id", "7", "--endpoint", "nowhere",
                   "-b", broker.bootstrap)
    assert result.returncode == 2, result
    assert "--endpoint 'nowhere'" in error_line(result)


def test_unreachable_bootstrap_is_one_actionable_line():
    result = fjord("cluster", "status", "-b", f"127.0.0.1:{free_port()}", "--timeout-ms", "2000")
    assert result.returncode == 1, result
    assert "connection refused" in error_line(result)


def test_configured_voter_address_is_reported(broker_factory):
    raft_port = free_port()
    node = broker_factory({"node.id": "3",
                           "controller.quorum.voters": f"3@127.0.0.1:{raft_port}"})
    quorum = status_json(node)["quorum"]
    assert quorum["leader_id"] == 3
    assert quorum["members"][0]["raft_address"] == f"127.0.0.1:{raft_port}"


def test_bad_voters_setting_stops_start_up_naming_the_key(tmp_path):
    result = fjord("serve", "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0",
                   "--node-id", "4", "--set",
                   "controller.quorum.voters=1@127.0.0.1:19092,2@127.0.0.1:19093",
                   timeout_s=30)
    assert result.returncode == 2, result
    line = error_line(result)
    assert "node.id 4 is not among controller.quorum.voters" in line, line
