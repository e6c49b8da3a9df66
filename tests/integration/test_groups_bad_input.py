"""Bad input to the group coordinator on raw frames (kafka_raw.py), plus the errors real
clients surface. Every case gets Kafka's error code; after each one the broker still
serves and offsets committed before are intact, and at the end a restart (graceful and
kill -9) loads __consumer_offsets and still has them."""

import threading

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

import kafka_raw as raw
from conftest import Broker, unique_topic, wait_until
from fjord_helpers import create_topic, new_consumer
from group_helpers import (commit, delete_groups, describe_group, fetch_offsets,
                           fetch_offsets_when_loaded, find_coordinator, form_single_member_group,
                           heartbeat, join, join_with_member_id, leave, sync)

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
OFFSET_METADATA_TOO_LARGE = 12
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79
GROUP_MAX_SIZE_REACHED = 81

MAX_GROUP_SIZE = 2
SETTINGS = {"group.initial.rebalance.delay.ms": 0, "group.max.size": MAX_GROUP_SIZE}
PARTITIONS = 2
BASELINE = {0: (7, "keep-0"), 1: (11, None)}


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """One broker for the module: no initial rebalance delay, groups of at most 2."""
    root = tmp_path_factory.mktemp("fjord-groups-bad")
    broker = Broker(root / "data", root / "logs", SETTINGS)
    broker.start()
    yield broker
    if broker.proc is not None:
        broker.stop_ok()


@pytest.fixture(scope="module")
def topic(node):
    return create_topic(node.bootstrap, unique_topic("gbad"), partitions=PARTITIONS)


@pytest.fixture(scope="module")
def baseline_group(node, topic):
    """A group whose offsets were committed by a real member that then left."""
    group = unique_topic("baseline")
    connection = raw.Connection(node.bootstrap)
    try:
        generation, member_id = form_single_member_group(connection, group, topic, PARTITIONS)
        offsets = {(topic, p): value for p, value in BASELINE.items()}
        assert commit(connection, group, generation, member_id, offsets) == {
            (topic, p): NONE for p in BASELINE}
        assert leave(connection, group, member_id)[0] == NONE
    finally:
        connection.close()
    return group


def assert_baseline_intact(node, topic, group):
    connection = raw.Connection(node.bootstrap)
    try:
        error, offsets = fetch_offsets_when_loaded(connection, group, {topic: list(BASELINE)})
    finally:
        connection.close()
    assert error == NONE
    # Kafka stores a null commit metadata as "" (OffsetAndMetadata.NoMetadata).
    expected = {p: (offset, metadata or "") for p, (offset, metadata) in BASELINE.items()}
    assert {p: (offsets[(topic, p)][0], offsets[(topic, p)][2]) for p in BASELINE} == expected


@pytest.fixture(autouse=True)
def offsets_stay_intact(node, topic, baseline_group):
    yield
    assert node.running(), f"fjord died\n{node.stderr_tail()}"
    assert_baseline_intact(node, topic, baseline_group)


@pytest.fixture
def conn(node):
    connection = raw.Connection(node.bootstrap)
    yield connection
    connection.close()


@pytest.fixture
def member(node, topic, conn):
    """(group, generation, member_id) of a fresh single-member Stable group on conn."""
    group = unique_topic("g")
    generation, member_id = form_single_member_group(conn, group, topic, PARTITIONS)
    return group, generation, member_id


# ------------------------------------------------------------------ OffsetCommit


def test_commit_for_unknown_topic_or_partition(conn, topic, member):
    group, generation, member_id = member
    errors = commit(conn, group, generation, member_id, {
        ("no-such-topic-" + group, 0): (1, None),
        (topic, 99): (1, None),
        (topic, -1): (1, None),
        (topic, 0): (5, None)})
    assert errors == {("no-such-topic-" + group, 0): UNKNOWN_TOPIC_OR_PARTITION,
                      (topic, 99): UNKNOWN_TOPIC_OR_PARTITION,
                      (topic, -1): UNKNOWN_TOPIC_OR_PARTITION,
                      (topic, 0): NONE}
    error, offsets = fetch_offsets(conn, group, {topic: [0, 1]})
    assert error == NONE
    assert offsets[(topic, 0)][0] == 5 and offsets[(topic, 1)][0] == -1


def test_commit_with_a_wrong_generation(conn, topic, member):
    group, generation, member_id = member
    for wrong in (generation + 1, generation - 1):
        errors = commit(conn, group, wrong, member_id, {(topic, 0): (3, None)})
        assert errors == {(topic, 0): ILLEGAL_GENERATION}, f"generation {wrong}"
    error, offsets = fetch_offsets(conn, group, {topic: [0]})
    assert offsets[(topic, 0)][0] == -1, "a rejected commit was stored"


def test_commit_from_an_unknown_member(conn, topic, member):
    group, generation, _ = member
    errors = commit(conn, group, generation, "not-a-member", {(topic, 0): (3, None)})
    assert errors == {(topic, 0): UNKNOWN_MEMBER_ID}
    assert heartbeat(conn, group, generation, "not-a-member") == UNKNOWN_MEMBER_ID


def test_commit_with_metadata_over_offset_metadata_max_bytes(conn, topic, member):
    group, generation, member_id = member
    errors = commit(conn, group, generation, member_id, {
        (topic, 0): (4, "x" * 4097), (topic, 1): (6, "y" * 4096)})
    assert errors == {(topic, 0): OFFSET_METADATA_TOO_LARGE, (topic, 1): NONE}
    error, offsets = fetch_offsets(conn, group, {topic: [0, 1]})
    assert offsets[(topic, 0)][0] == -1
    assert offsets[(topic, 1)][0] == 6 and offsets[(topic, 1)][2] == "y" * 4096


# ------------------------------------------------------------------ JoinGroup


@pytest.mark.parametrize("session_timeout_ms", [5999, 1800001, 0, -1])
def test_join_with_session_timeout_outside_the_allowed_range(conn, session_timeout_ms):
    group = unique_topic("g-session")
    find_coordinator(conn, group)
    answer = join(conn, group, session_timeout_ms=session_timeout_ms)
    assert answer["error"] == INVALID_SESSION_TIMEOUT, answer


def test_join_with_an_empty_group_id(conn):
    answer = join(conn, "")
    assert answer["error"] == INVALID_GROUP_ID, answer


@pytest.mark.parametrize("version", [4, 5])
def test_join_without_member_id_needs_a_second_join_with_the_assigned_id(conn, version):
    group = unique_topic("g-memberid")
    find_coordinator(conn, group)
    first = join(conn, group, version=version)
    assert first["error"] == MEMBER_ID_REQUIRED, first
    assert first["member_id"], "MEMBER_ID_REQUIRED must carry the member id to use"
    second = join(conn, group, member_id=first["member_id"], version=version)
    assert second["error"] == NONE, second
    assert second["member_id"] == first["member_id"] == second["leader"]
    assert second["generation"] >= 1
    assert [m[0] for m in second["members"]] == [first["member_id"]]
    leave(conn, group, first["member_id"])


def test_join_v3_gets_a_member_id_at_once(conn):
    group = unique_topic("g-v3")
    find_coordinator(conn, group)
    answer = join(conn, group, version=3)
    assert answer["error"] == NONE and answer["member_id"], answer
    leave(conn, group, answer["member_id"])


def test_join_with_an_inconsistent_protocol(conn, node, topic, member):
    group, _, _ = member
    other = raw.Connection(node.bootstrap)
    try:
        wrong_type = join_with_member_id(other, group, protocol_type="connect")
        assert wrong_type["error"] == INCONSISTENT_GROUP_PROTOCOL, wrong_type
        no_common = join_with_member_id(
            other, group, protocols=[("no-such-assignor", raw.consumer_subscription([topic]))])
        assert no_common["error"] == INCONSISTENT_GROUP_PROTOCOL, no_common
    finally:
        other.close()


# ------------------------------------------------------------------ rebalances


def form_two_member_group(node, conn, topic, member):
    """A second member joins `member`'s Stable group. While its JoinGroup waits, the first
    member's heartbeat gets REBALANCE_IN_PROGRESS; it rejoins and both complete the new
    generation. Returns (group, generation, leader id, second id, second connection)."""
    group, generation, first_id = member
    second_conn = raw.Connection(node.bootstrap, timeout_s=60)
    result = {}

    def second_joins():
        result["join"] = join_with_member_id(second_conn, group, topics=[topic])

    thread = threading.Thread(target=second_joins, daemon=True)
    thread.start()
    seen = wait_until(lambda: heartbeat(conn, group, generation, first_id) ==
                      REBALANCE_IN_PROGRESS, 30, "REBALANCE_IN_PROGRESS on the heartbeat",
                      interval_s=0.05)
    assert seen
    rejoined = join(conn, group, member_id=first_id, topics=[topic])
    thread.join(timeout=30)
    assert rejoined["error"] == NONE, rejoined
    assert result["join"]["error"] == NONE, result
    new_generation = rejoined["generation"]
    assert new_generation == result["join"]["generation"] > generation
    assert rejoined["leader"] == first_id and len(rejoined["members"]) == 2
    second_id = result["join"]["member_id"]
    assignments = [(first_id, raw.consumer_assignment({topic: [0]})),
                   (second_id, raw.consumer_assignment({topic: [1]}))]
    sync_result = {}
    sync_thread = threading.Thread(
        target=lambda: sync_result.update(second=sync(second_conn, group, new_generation,
                                                      second_id)), daemon=True)
    sync_thread.start()
    error, assignment = sync(conn, group, new_generation, first_id, assignments)
    sync_thread.join(timeout=30)
    assert error == NONE and raw.parse_consumer_assignment(assignment) == {(topic, 0)}
    second_error, second_assignment = sync_result["second"]
    assert second_error == NONE
    assert raw.parse_consumer_assignment(second_assignment) == {(topic, 1)}
    return group, new_generation, first_id, second_id, second_conn


def test_heartbeat_during_a_rebalance_gets_rebalance_in_progress(node, conn, topic, member):
    group, generation, first_id, second_id, second_conn = form_two_member_group(
        node, conn, topic, member)
    try:
        assert heartbeat(conn, group, generation, first_id) == NONE
        assert heartbeat(second_conn, group, generation, second_id) == NONE
        stale = commit(conn, group, member[1], first_id, {(topic, 0): (1, None)})
        assert stale == {(topic, 0): ILLEGAL_GENERATION}, "old generation's commit accepted"
    finally:
        second_conn.close()


def test_join_beyond_group_max_size(node, conn, topic, member):
    group, _, _, _, second_conn = form_two_member_group(node, conn, topic, member)
    third = raw.Connection(node.bootstrap)
    try:
        answer = join_with_member_id(third, group, topics=[topic])
        assert answer["error"] == GROUP_MAX_SIZE_REACHED, answer
    finally:
        third.close()
        second_conn.close()


# ------------------------------------------------------------------ DeleteGroups


def test_delete_groups_refuses_groups_with_members_and_unknown_groups(conn, topic, member):
    group, generation, member_id = member
    unknown = unique_topic("never-existed")
    assert delete_groups(conn, [group, unknown]) == {group: NON_EMPTY_GROUP,
                                                     unknown: GROUP_ID_NOT_FOUND}
    assert commit(conn, group, generation, member_id, {(topic, 0): (9, None)}) == {
        (topic, 0): NONE}, "a refused delete must leave the group working"
    error, offsets = fetch_offsets(conn, group, {topic: [0]})
    assert error == NONE and offsets[(topic, 0)][0] == 9


def test_delete_groups_removes_an_empty_group_and_its_offsets(node, conn, topic, member):
    group, generation, member_id = member
    assert commit(conn, group, generation, member_id, {(topic, 0): (9, None)}) == {
        (topic, 0): NONE}
    assert leave(conn, group, member_id)[0] == NONE
    wait_until(lambda: describe_group(node.bootstrap, group)["state"] == "Empty", 30,
               "the group to be Empty after its last member left")
    assert delete_groups(conn, [group]) == {group: NONE}
    error, offsets = fetch_offsets(conn, group, {topic: [0]})
    assert error == NONE and offsets[(topic, 0)][0] == -1, "offsets of a deleted group"
    assert delete_groups(conn, [group]) == {group: GROUP_ID_NOT_FOUND}


def test_group_is_empty_as_soon_as_its_last_member_leaves(node, conn, topic, member):
    """Kafka completes the rebalance the last member's leave starts at once (nobody left
    to wait for): the group is Empty and deletable right after the LeaveGroup answer."""
    group, generation, member_id = member
    assert commit(conn, group, generation, member_id, {(topic, 0): (2, None)}) == {
        (topic, 0): NONE}
    assert leave(conn, group, member_id)[0] == NONE
    assert describe_group(node.bootstrap, group)["state"] == "Empty"
    assert delete_groups(conn, [group]) == {group: NONE}


# ------------------------------------------------------------------ real clients


def test_librdkafka_reports_an_invalid_session_timeout(node, topic):
    """librdkafka accepts session.timeout.ms=1000 locally; the broker refuses it."""
    consumer = new_consumer(node.bootstrap, group_id=unique_topic("g-rdk-session"),
                            session_timeout_ms=1000)
    errors = []
    try:
        consumer.subscribe([topic])

        def refused():
            message = consumer.poll(0.5)
            if message is not None and message.error() is not None:
                errors.append(message.error())
            return any(e.code() == KafkaError.INVALID_SESSION_TIMEOUT for e in errors)

        wait_until(refused, 30, f"INVALID_SESSION_TIMEOUT from the consumer (got {errors})")
    finally:
        consumer.close()


def test_librdkafka_commit_to_an_unknown_topic_fails(node, topic):
    consumer = new_consumer(node.bootstrap, group_id=unique_topic("g-rdk-commit"))
    try:
        try:
            result = consumer.commit(offsets=[TopicPartition("no-such-" + topic, 0, 5)],
                                     asynchronous=False)
            codes = [tp.error.code() for tp in result if tp.error is not None]
        except KafkaException as raised:
            codes = [raised.args[0].code()]
    finally:
        consumer.close()
    assert codes == [KafkaError.UNKNOWN_TOPIC_OR_PART], codes


# ------------------------------------------------------------------ restart last


def test_zz_restart_loads_the_offsets_topic_with_the_offsets_intact(node, topic,
                                                                    baseline_group):
    """Runs last in this module: a graceful restart and then a kill -9 restart both load
    __consumer_offsets (after every bad input above) with the baseline offsets intact."""
    node.restart()
    assert_baseline_intact(node, topic, baseline_group)
    node.restart(kill=True)
    assert_baseline_intact(node, topic, baseline_group)
    consumer = new_consumer(node.bootstrap, group_id=baseline_group)
    try:
        got = consumer.committed([TopicPartition(topic, p) for p in BASELINE], timeout=15)
    finally:
        consumer.close()
    assert {tp.partition: tp.offset for tp in got} == {p: o for p, (o, _) in BASELINE.items()}
