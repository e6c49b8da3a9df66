"""`fjord group list|describe|delete|reset-offsets` against a real broker, checked against
what real clients see: confluent-kafka (librdkafka) consumers commit and read offsets,
kafka-python's KafkaAdminClient and confluent's AdminClient list and describe the same groups.

The CLI binary is FJORD_BIN. The module's broker sets group.initial.rebalance.delay.ms=0 so that
a group forms as soon as its first member joins.
"""

import os
import subprocess
import time
import uuid
from datetime import datetime, timezone

import pytest
from confluent_kafka import OFFSET_INVALID, Consumer, TopicPartition
from kafka.admin import KafkaAdminClient

from conftest import Broker, broker_binary, recent_timestamp_ms, unique_topic, wait_until
from fjord_helpers import admin_client, create_topic, produce_sync

CLI_TIMEOUT_S = 60
GROUP_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def group_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("fjord-groups")
    node = Broker(root / "data", root / "logs", {"group.initial.rebalance.delay.ms": "0"})
    node.start()
    yield node
    if node.proc is not None:
        node.stop_ok()


def fjord(*args, timeout_s=CLI_TIMEOUT_S):
    env = dict(os.environ)
    env.pop("FJORD_BOOTSTRAP", None)
    return subprocess.run([broker_binary(), *args], capture_output=True, text=True, env=env,
                          timeout=timeout_s)


def group_cli(broker, *args):
    return fjord("group", *args, "-b", broker.bootstrap)


def group_ok(broker, *args):
    result = group_cli(broker, *args)
    assert result.returncode == 0, (
        f"fjord group {' '.join(args)} exited with {result.returncode}\n"
        f"stdout: {result.stdout}\nstderr: {result.stderr}")
    return result


def error_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {result.stderr!r}"
    assert lines[0].startswith("fjord: "), lines[0]
    return lines[0]


def table_after(text, header_start):
    """The rows (lists of cells) of the table whose header line starts with header_start."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(header_start):
            rows = []
            for row in lines[index + 1:]:
                if not row.strip():
                    break
                rows.append(row.split())
            return rows
    pytest.fail(f"no table starting with {header_start!r} in:\n{text}")


def optional_int(cell):
    return None if cell == "-" else int(cell)


def describe_partitions(broker, group):
    """{(topic, partition): (committed, log_end, lag, member)} from `fjord group describe`."""
    out = group_ok(broker, "describe", group).stdout
    if "(no committed offsets and no assigned partitions)" in out:
        return {}
    rows = table_after(out, "TOPIC ")
    return {(r[0], int(r[1])): (optional_int(r[2]), optional_int(r[3]), optional_int(r[4]),
                                None if r[5] == "-" else r[5]) for r in rows}


def describe_header(broker, group):
    """{"State": ..., "Members": ..., ...} from the first line of `fjord group describe`."""
    first = group_ok(broker, "describe", group).stdout.splitlines()[0]
    fields = {}
    for part in first.split("  "):
        key, _, value = part.partition(": ")
        fields[key.strip()] = value.strip()
    return fields


def listed_groups(broker, *args):
    out = group_ok(broker, "list", *args).stdout
    return {row[0]: row[1:] for row in table_after(out, "GROUP ")}


def unique_group(prefix="g"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def group_consumer(broker, group, **conf):
    settings = {"bootstrap.servers": broker.bootstrap, "group.id": group,
                "enable.auto.commit": False, "auto.offset.reset": "earliest"}
    settings.update(conf)
    return Consumer(settings)


def join(consumer, topic, timeout_s=GROUP_TIMEOUT_S):
    """Subscribes and polls until the group has given this member its partitions."""
    consumer.subscribe([topic])
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        consumer.poll(0.2)
        if consumer.assignment():
            return consumer.assignment()
    pytest.fail(f"no assignment for topic {topic} within {timeout_s}s")


def commit(consumer, topic, offsets):
    """Commits {partition: offset} synchronously."""
    consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()],
                    asynchronous=False)


def committed(broker, group, topic, partitions):
    """The group's committed offsets as confluent Consumer.committed() reports them."""
    consumer = group_consumer(broker, group)
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return {tp.partition: (None if tp.offset == OFFSET_INVALID else tp.offset)
                for tp in found}
    finally:
        consumer.close()


def commit_as_gone_consumer(broker, group, topic, offsets):
    """Commits offsets from a member that then leaves, so the group is Empty."""
    consumer = group_consumer(broker, group)
    try:
        join(consumer, topic)
        commit(consumer, topic, offsets)
    finally:
        consumer.close()


def first_offset_read(broker, group, topic, partition):
    """The offset of the first message a new member of the group gets from `partition`."""
    consumer = group_consumer(broker, group)
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + GROUP_TIMEOUT_S
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                continue
            assert message.error() is None, message.error()
            if message.partition() == partition:
                return message.offset()
        pytest.fail(f"group {group} read nothing from {topic}:{partition}")
    finally:
        consumer.close()


def topic_with_messages(broker, counts, prefix="cg"):
    """A topic with counts[p] messages in partition p."""
    topic = create_topic(broker.bootstrap, unique_topic(prefix), partitions=len(counts))
    messages = [{"value": f"{p}-{i}".encode(), "partition": p}
                for p, count in enumerate(counts) for i in range(count)]
    if messages:
        produce_sync(broker.bootstrap, topic, messages)
    return topic


# ------------------------------------------------------------------ no server needed


@pytest.mark.parametrize("command,option", [
    (["group", "list"], "--state"),
    (["group", "describe"], "--bootstrap-server"),
    (["group", "delete"], "--timeout-ms"),
    (["group", "reset-offsets"], "--to-timestamp"),
])
def test_group_command_help(command, option):
    result = fjord(*command, "--help")
    assert result.returncode == 0
    assert option in result.stdout


@pytest.mark.parametrize("args,mentions", [
    (["reset-offsets", "g", "--topic", "t"], "exactly one of"),
    (["reset-offsets", "g", "--topic", "t", "--to-earliest", "--to-latest"], "exactly one of"),
    (["reset-offsets", "g", "--to-earliest"], "--all-topics"),
    (["reset-offsets", "g", "--topic", "t", "--all-topics", "--to-earliest"], "--all-topics"),
    (["reset-offsets", "g", "--topic", "t:1,x", "--to-earliest"], "'x' is not a partition"),
    (["reset-offsets", "g", "--topic", "t", "--to-offset", "-3"], "--to-offset"),
    (["reset-offsets", "g", "--topic", "t", "--to-timestamp", "yesterday"], "ISO 8601"),
    (["list", "--state", "Sleeping"], "Stable, Empty"),
])
def test_group_argument_errors_exit_2_before_connecting(args, mentions):
    result = fjord("group", *args, "-b", "127.0.0.1:1")  # nothing listens there
    assert result.returncode == 2
    assert mentions in error_line(result)


# ------------------------------------------------------------------ against a broker


def test_describe_shows_members_committed_offsets_and_lag(group_broker):
    topic = topic_with_messages(group_broker, [10, 6, 0])
    group = unique_group("describe")
    consumer = group_consumer(group_broker, group, **{"client.id": "lag-reader"})
    try:
        assert len(join(consumer, topic)) == 3
        commit(consumer, topic, {0: 7, 1: 6})
        header = describe_header(group_broker, group)
        assert header["State"] == "Stable"
        assert header["Members"] == "1"
        assert header["Protocol"].startswith("consumer/")
        assert header["Total lag"] == "3"
        out = group_ok(group_broker, "describe", group).stdout
        members = table_after(out, "MEMBER-ID ")
        assert len(members) == 1
        member_id, instance_id, client_id, host, assigned = members[0]
        assert (instance_id, client_id) == ("-", "lag-reader")
        assert "127.0.0.1" in host
        assert assigned == f"{topic}:0,1,2"
        assert describe_partitions(group_broker, group) == {
            (topic, 0): (7, 10, 3, member_id),
            (topic, 1): (6, 6, 0, member_id),
            (topic, 2): (None, 0, None, member_id),
        }
    finally:
        consumer.close()
    # The member left: the offsets stay, nobody owns the partitions.
    assert describe_header(group_broker, group)["State"] == "Empty"
    assert describe_partitions(group_broker, group) == {
        (topic, 0): (7, 10, 3, None),
        (topic, 1): (6, 6, 0, None),
    }


def test_lag_follows_new_messages(group_broker):
    topic = topic_with_messages(group_broker, [4])
    group = unique_group("lag")
    commit_as_gone_consumer(group_broker, group, topic, {0: 4})
    assert describe_partitions(group_broker, group)[(topic, 0)][:3] == (4, 4, 0)
    produce_sync(group_broker.bootstrap, topic, [{"value": b"late", "partition": 0}] * 5)
    assert describe_partitions(group_broker, group)[(topic, 0)][:3] == (4, 9, 5)


def test_describe_several_groups_and_an_unknown_one(group_broker):
    topic = topic_with_messages(group_broker, [3])
    first, second, missing = unique_group("a"), unique_group("b"), unique_group("missing")
    commit_as_gone_consumer(group_broker, first, topic, {0: 1})
    commit_as_gone_consumer(group_broker, second, topic, {0: 2})
    result = group_cli(group_broker, "describe", first, missing, second)
    assert result.returncode == 1
    assert f"group '{missing}' does not exist" in error_line(result)
    assert f"Group: {first} " in result.stdout
    assert f"Group: {second} " in result.stdout
    twice = group_ok(group_broker, "describe", first, first)  # librdkafka refuses repeats
    assert twice.stdout.count(f"Group: {first} ") == 1


def test_list_shows_state_and_filters_by_state(group_broker):
    topic = topic_with_messages(group_broker, [2])
    active, idle = unique_group("active"), unique_group("idle")
    commit_as_gone_consumer(group_broker, idle, topic, {0: 1})
    consumer = group_consumer(group_broker, active)
    try:
        join(consumer, topic)
        groups = listed_groups(group_broker)
        assert groups[active] == ["Stable", "consumer"]
        assert groups[idle][0] == "Empty"
        stable = listed_groups(group_broker, "--state", "stable")
        assert active in stable and idle not in stable
        empty = listed_groups(group_broker, "--state", "Empty")
        assert idle in empty and active not in empty
        both = listed_groups(group_broker, "--state", "Empty", "--state", "Stable")
        assert active in both and idle in both
    finally:
        consumer.close()


def test_other_admin_clients_see_the_same_groups_and_offsets(group_broker):
    topic = topic_with_messages(group_broker, [8, 5])
    group = unique_group("same")
    consumer = group_consumer(group_broker, group, **{"client.id": "same-numbers"})
    try:
        join(consumer, topic)
        commit(consumer, topic, {0: 3, 1: 5})
        cli_partitions = describe_partitions(group_broker, group)

        # confluent's AdminClient (ListGroups + DescribeGroups through librdkafka).
        confluent_groups = admin_client(group_broker.bootstrap).list_groups(group, timeout=10)
        assert len(confluent_groups) == 1
        info = confluent_groups[0]
        assert (info.state, info.protocol_type) == ("Stable", "consumer")
        assert [m.client_id for m in info.members] == ["same-numbers"]
        assert [m.id for m in info.members] == [cli_partitions[(topic, 0)][3]]

        # kafka-python's KafkaAdminClient (its own protocol code).
        admin = KafkaAdminClient(bootstrap_servers=group_broker.bootstrap,
                                 request_timeout_ms=10000)
        try:
            assert (group, "consumer") in admin.list_consumer_groups()
            offsets = admin.list_consumer_group_offsets(group)
            assert {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()} == {
                key: value[0] for key, value in cli_partitions.items()}
            described = admin.describe_consumer_groups([group])[0]
            assert described.state == "Stable"
            assert [m.member_id for m in described.members] == [cli_partitions[(topic, 0)][3]]
        finally:
            admin.close()
    finally:
        consumer.close()


def test_reset_offsets_dry_run_changes_nothing(group_broker):
    topic = topic_with_messages(group_broker, [10, 10])
    group = unique_group("dry")
    commit_as_gone_consumer(group_broker, group, topic, {0: 5, 1: 6})
    result = group_ok(group_broker, "reset-offsets", group, "--topic", topic, "--to-earliest")
    assert "dry run" in result.stderr and "--execute" in result.stderr
    plan = table_after(result.stdout, "TOPIC ")
    assert [row[:4] for row in plan] == [[topic, "0", "5", "0"], [topic, "1", "6", "0"]]
    assert committed(group_broker, group, topic, [0, 1]) == {0: 5, 1: 6}


@pytest.mark.parametrize("target,expected", [
    (["--to-earliest"], {0: 0, 1: 0}),
    (["--to-latest"], {0: 10, 1: 4}),
    (["--to-offset", "7"], {0: 7, 1: 4}),  # partition 1 ends at 4: clamped
])
def test_reset_offsets_execute_commits_what_consumers_then_see(group_broker, target, expected):
    topic = topic_with_messages(group_broker, [10, 4])
    group = unique_group("exec")
    commit_as_gone_consumer(group_broker, group, topic, {0: 5, 1: 2})
    result = group_ok(group_broker, "reset-offsets", group, "--topic", topic, *target,
                      "--execute")
    assert f"committed new offsets of 2 partition(s) for group '{group}'" in result.stdout
    assert committed(group_broker, group, topic, [0, 1]) == expected
    assert {key[1]: value[0] for key, value in describe_partitions(group_broker, group).items()} \
        == expected
    if expected[0] < 10:  # a consumer of the group resumes at the new offset
        assert first_offset_read(group_broker, group, topic, partition=0) == expected[0]


def test_reset_offsets_clamps_and_says_so(group_broker):
    topic = topic_with_messages(group_broker, [3])
    group = unique_group("clamp")
    result = group_ok(group_broker, "reset-offsets", group, "--topic", f"{topic}:0",
                      "--to-offset", "99")
    assert "99 is beyond the log end: clamped to 3" in result.stdout


def test_reset_offsets_to_timestamp(group_broker):
    topic = create_topic(group_broker.bootstrap, unique_topic("ts"))
    base_ms = recent_timestamp_ms()
    produce_sync(group_broker.bootstrap, topic, [
        {"value": f"v{i}".encode(), "timestamp": base_ms + i * 1000} for i in range(6)])
    group = unique_group("ts")
    commit_as_gone_consumer(group_broker, group, topic, {0: 6})
    iso = datetime.fromtimestamp((base_ms + 2500) / 1000, tz=timezone.utc).isoformat()
    group_ok(group_broker, "reset-offsets", group, "--topic", topic, "--to-timestamp", iso,
             "--execute")
    assert committed(group_broker, group, topic, [0]) == {0: 3}
    group_ok(group_broker, "reset-offsets", group, "--topic", topic, "--to-timestamp",
             str(base_ms), "--execute")
    assert committed(group_broker, group, topic, [0]) == {0: 0}
    result = group_ok(group_broker, "reset-offsets", group, "--topic", topic, "--to-timestamp",
                      str(base_ms + 3_600_000), "--execute")
    assert "no message at or after the time" in result.stdout
    assert committed(group_broker, group, topic, [0]) == {0: 6}


def test_reset_offsets_only_the_named_partitions_or_all_committed(group_broker):
    topic = topic_with_messages(group_broker, [5, 5, 5])
    group = unique_group("scope")
    commit_as_gone_consumer(group_broker, group, topic, {0: 1, 1: 1})
    group_ok(group_broker, "reset-offsets", group, "--topic", f"{topic}:1,2", "--to-latest",
             "--execute")
    assert committed(group_broker, group, topic, [0, 1, 2]) == {0: 1, 1: 5, 2: 5}
    group_ok(group_broker, "reset-offsets", group, "--all-topics", "--to-earliest", "--execute")
    assert committed(group_broker, group, topic, [0, 1, 2]) == {0: 0, 1: 0, 2: 0}


def test_reset_offsets_refuses_a_group_with_members(group_broker):
    topic = topic_with_messages(group_broker, [5])
    group = unique_group("busy")
    consumer = group_consumer(group_broker, group)
    try:
        join(consumer, topic)
        commit(consumer, topic, {0: 2})
        for extra in ([], ["--execute"]):
            result = group_cli(group_broker, "reset-offsets", group, "--topic", topic,
                               "--to-latest", *extra)
            assert result.returncode == 1
            line = error_line(result)
            assert f"consumer group '{group}' is not inactive" in line
            assert "Stable" in line
        assert committed(group_broker, group, topic, [0]) == {0: 2}
    finally:
        consumer.close()


def test_reset_offsets_names_a_missing_topic_or_partition(group_broker):
    topic = topic_with_messages(group_broker, [1])
    group = unique_group("missing")
    missing = unique_topic("nope")
    result = group_cli(group_broker, "reset-offsets", group, "--topic", missing, "--to-latest")
    assert result.returncode == 1
    assert f"topic '{missing}' does not exist" in error_line(result)
    result = group_cli(group_broker, "reset-offsets", group, "--topic", f"{topic}:4",
                       "--to-latest")
    assert result.returncode == 2
    assert "has no partition 4" in error_line(result)


def test_delete_refuses_an_active_group_then_deletes_it(group_broker):
    topic = topic_with_messages(group_broker, [3])
    group = unique_group("delete")
    consumer = group_consumer(group_broker, group)
    try:
        join(consumer, topic)
        commit(consumer, topic, {0: 2})
        result = group_cli(group_broker, "delete", group)
        assert result.returncode == 1
        assert f"group '{group}' still has active members" in error_line(result)
    finally:
        consumer.close()
    assert group_ok(group_broker, "delete", group).stdout == f"deleted group '{group}'\n"
    assert group not in listed_groups(group_broker)
    assert committed(group_broker, group, topic, [0]) == {0: None}
    result = group_cli(group_broker, "describe", group)
    assert result.returncode == 1
    assert "does not exist" in error_line(result)


def test_delete_unknown_group_fails(group_broker):
    group = unique_group("never")
    result = group_cli(group_broker, "delete", group)
    assert result.returncode == 1
    assert f"group '{group}' does not exist" in error_line(result)


def test_consume_with_group_shows_up_with_no_lag(group_broker):
    """The CLI's own group consumer commits what it printed; describe shows lag 0."""
    topic = topic_with_messages(group_broker, [4, 3])
    group = unique_group("cli-consumer")
    out = fjord("consume", topic, "--group", group, "-q", "-b", group_broker.bootstrap)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 7
    wait_until(lambda: describe_partitions(group_broker, group) == {
        (topic, 0): (4, 4, 0, None), (topic, 1): (3, 3, 0, None)}, 30,
        "the CLI consumer's commits to show as lag 0")
