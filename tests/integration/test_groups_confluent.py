"""Consumer groups with confluent_kafka (librdkafka 2.0.2), client defaults except what a
test names: membership changes, assignors incl. incremental cooperative rebalancing,
committed offsets across consumer and broker restarts (kill -9), static membership.

Members run in their own processes (group_consumer.py) so that a test can kill -9 one;
group_helpers.py checks that no partition is ever owned twice, by the clients'
callbacks over time and by the coordinator's DescribeGroups at the end."""

import time

import pytest
from confluent_kafka import KafkaError, TopicPartition

import kafka_raw as raw
from conftest import unique_topic, wait_until
from fjord_helpers import create_topic, new_consumer, read_messages
from group_helpers import (assert_no_overlapping_ownership, broker_assignments, check_round,
                           fetch_offsets_when_loaded, produce_round, range_split, round_robin_split,
                           run_concurrently, scenario_assignor, scenario_join_then_leave,
                           scenario_killed_member, start_member, stop_all,
                           wait_for_stable_split)

CLIENT = "confluent"
PARTITIONS = 6
FENCED_INSTANCE_ID = 82
# librdkafka heartbeats every 3 s (heartbeat.interval.ms): a rebalance the coordinator
# started reaches every member within one interval. Waiting two intervals is how a test
# observes that none happened.
NO_REBALANCE_WINDOW_S = 7


def new_topic(broker, prefix, partitions=PARTITIONS):
    return create_topic(broker.bootstrap, unique_topic(prefix), partitions=partitions)


# ------------------------------------------------------------------ membership


@pytest.mark.fjord_timeout(150)
def test_members_joining_and_leaving_rebalance_with_no_partition_owned_twice(broker):
    """Default broker and client settings: 3 members, a 4th joins, one closes cleanly."""
    topic = new_topic(broker, "join")
    scenario_join_then_leave(broker.bootstrap, CLIENT, topic, unique_topic("g-join"))


@pytest.mark.fjord_timeout(150)
def test_killed_member_is_replaced_after_its_session_timeout(broker):
    topic = new_topic(broker, "kill")
    scenario_killed_member(broker.bootstrap, CLIENT, topic, unique_topic("g-kill"),
                           session_timeout_ms=6000)


# ------------------------------------------------------------------ assignors


def test_eager_assignors_split_the_partitions_their_way(broker):
    """range and roundrobin, each in its own group (run side by side): the coordinator
    selects the protocol and the split is the assignor's."""
    def scenario(assignor):
        topic = new_topic(broker, f"{assignor}")
        members, owners = scenario_assignor(broker.bootstrap, CLIENT, topic,
                                            unique_topic(f"g-{assignor}"),
                                            assignor, assignor)
        stop_all(members)
        return owners

    owners = run_concurrently({a: lambda a=a: scenario(a) for a in ("range", "roundrobin")})
    for assignor, split in owners.items():
        assert all(len(owned) == 2 for owned in split.values()), (assignor, split)
    assert range_split(owners["range"]), f"not a range split: {owners['range']}"
    assert round_robin_split(owners["roundrobin"], 3), \
        f"not a round-robin split: {owners['roundrobin']}"


@pytest.mark.fjord_timeout(150)
def test_cooperative_sticky_members_keep_their_partitions_while_a_member_joins(broker):
    """Incremental cooperative rebalancing: when a 4th member joins, the others revoke
    only the partitions that move and never lose the ones they keep."""
    topic = new_topic(broker, "coop")
    group = unique_topic("g-coop")
    members, before = scenario_assignor(broker.bootstrap, CLIENT, topic, group,
                                        "cooperative-sticky", "cooperative-sticky")
    try:
        marks = {m.name: len(m.snapshot()) for m in members}
        members.append(start_member("m3", CLIENT, broker.bootstrap, group, topic,
                                    assignor="cooperative-sticky"))
        after = wait_for_stable_split(broker.bootstrap, group, topic, PARTITIONS, members)
        assert after["m3"], f"the new member got nothing: {after}"
        for member in members[:3]:
            later = member.snapshot()[marks[member.name]:]
            revoked = {p for e in later if e["e"] == "revoke" for p in e["parts"]}
            lost = [e for e in later if e["e"] == "lost"]
            assigned = {p for e in later if e["e"] == "assign" for p in e["parts"]}
            kept = before[member.name] & after[member.name]
            assert not lost, f"{member.name} lost partitions: {lost}"
            assert revoked == before[member.name] - after[member.name], (
                f"{member.name} revoked {revoked}, owned {before[member.name]} before and "
                f"{after[member.name]} after: a cooperative rebalance revokes only what moves")
            assert kept and after[member.name] == kept, (
                f"{member.name} owned {before[member.name]}, now {after[member.name]}")
            assert not assigned, f"{member.name} was assigned {assigned} again"
        moved = set().union(*(before[n] - after[n] for n in before))
        assert moved == after["m3"]
        check_round(broker.bootstrap, topic, PARTITIONS, members, after, "coop-four")
        assert_no_overlapping_ownership(members)
    finally:
        stop_all(members)


# ------------------------------------------------------------------ committed offsets


def committed_offsets(bootstrap, group, topic, partitions=PARTITIONS):
    consumer = new_consumer(bootstrap, group_id=group)
    try:
        got = consumer.committed([TopicPartition(topic, p) for p in range(partitions)],
                                 timeout=15)
    finally:
        consumer.close()
    for tp in got:
        assert tp.error is None, f"committed() error for {tp}: {tp.error}"
    return {tp.partition: tp.offset for tp in got}


def raw_committed_offsets(bootstrap, group, topic, partitions=PARTITIONS):
    connection = raw.Connection(bootstrap)
    try:
        error, offsets = fetch_offsets_when_loaded(connection, group,
                                                   {topic: list(range(partitions))})
    finally:
        connection.close()
    assert error == 0, f"OffsetFetch error {error}"
    assert all(entry[3] == 0 for entry in offsets.values()), offsets
    return {p: offsets[(topic, p)][0] for p in range(partitions)}


def test_new_consumer_resumes_exactly_at_the_committed_offsets(broker):
    """Consumer restart: what the first consumer committed is what the second one gets
    from committed() and OffsetFetch, and it reads exactly the records after it."""
    topic = new_topic(broker, "resume", partitions=3)
    produced = set(produce_round(broker.bootstrap, topic, 3, 20, "r"))
    group = unique_topic("g-resume")
    first = new_consumer(broker.bootstrap, group_id=group, auto_offset_reset="earliest")
    try:
        first.subscribe([topic])
        got_first = read_messages(first, count=25)
        first.commit(asynchronous=False)
    finally:
        first.close()
    expected = {p: 0 for p in range(3)}
    for message in got_first:
        expected[message.partition()] = max(expected[message.partition()],
                                            message.offset() + 1)
    assert committed_offsets(broker.bootstrap, group, topic, 3) == expected
    assert raw_committed_offsets(broker.bootstrap, group, topic, 3) == expected

    second = new_consumer(broker.bootstrap, group_id=group, auto_offset_reset="earliest")
    try:
        second.subscribe([topic])
        rest = len(produced) - sum(expected.values())
        got_second = read_messages(second, count=rest)
        time.sleep(1)  # anything re-delivered beyond the commit would arrive now
        got_second += second.consume(num_messages=100, timeout=1)
    finally:
        second.close()
    first_positions = {(m.partition(), m.offset()) for m in got_first}
    second_positions = [(m.partition(), m.offset()) for m in got_second]
    assert len(second_positions) == len(set(second_positions)), "second read duplicates"
    assert first_positions.isdisjoint(second_positions), "records re-delivered after commit"
    assert first_positions | set(second_positions) == produced, "records lost"
    for p in range(3):
        firsts = [o for q, o in second_positions if q == p]
        assert not firsts or min(firsts) == expected[p], (p, expected[p], firsts[:3])


@pytest.mark.fjord_timeout(150)
def test_commit_acknowledged_just_before_broker_kill_survives(broker_factory):
    """The member commits synchronously after each batch; the moment a commit covering
    every record is acknowledged, the broker is killed with kill -9. After restart the
    offsets are there (committed() and OffsetFetch) and the group resumes exactly there."""
    node = broker_factory()
    topic = new_topic(node, "durable", partitions=3)
    produced = produce_round(node.bootstrap, topic, 3, 10, "d")
    ends = {p: 1 + max(o for q, o in produced if q == p) for p in range(3)}
    group = unique_topic("g-durable")
    # The killed member stays in the restored group until its session expires; a short
    # session keeps the successor's wait short.
    member = start_member("m0", CLIENT, node.bootstrap, group, topic, commit="sync",
                          session_timeout_ms=6000)
    try:
        def committed_all():
            acked = {}
            for event in member.of_kind("commit"):
                for p, o in event["offsets"].items():
                    acked[int(p)] = max(acked.get(int(p), 0), o)
            return acked == ends

        wait_until(committed_all, 60, f"a commit of {ends} ({member.describe()})",
                   interval_s=0.01)
        node.kill()
    finally:
        member.kill()
    node.start()
    assert raw_committed_offsets(node.bootstrap, group, topic, 3) == ends
    assert committed_offsets(node.bootstrap, group, topic, 3) == ends

    more = produce_round(node.bootstrap, topic, 3, 2, "after")
    successor = new_consumer(node.bootstrap, group_id=group, auto_offset_reset="earliest")
    try:
        successor.subscribe([topic])
        got = read_messages(successor, count=len(more))
        time.sleep(1)
        got += successor.consume(num_messages=100, timeout=1)
    finally:
        successor.close()
    assert sorted((m.partition(), m.offset()) for m in got) == sorted(more)


# ------------------------------------------------------------------ static membership


def assign_revoke_count(member):
    return sum(1 for e in member.snapshot() if e["e"] in ("assign", "revoke", "lost"))


@pytest.mark.fjord_timeout(150)
def test_static_member_restarting_within_session_timeout_gets_its_partitions_back(broker):
    """3 static members; one is killed (kill -9) and one closed (librdkafka sends no
    LeaveGroup for static members) and each comes back with its group.instance.id: it gets
    its partitions back, and the others see no rebalance."""
    topic = new_topic(broker, "static")
    group = unique_topic("g-static")
    ids = {f"s{i}": f"{group}-instance-{i}" for i in range(3)}
    members = [start_member(name, CLIENT, broker.bootstrap, group, topic, instance_id=iid)
               for name, iid in ids.items()]
    try:
        owners = wait_for_stable_split(broker.bootstrap, group, topic, PARTITIONS, members)
        watcher = members[0]
        quiet = assign_revoke_count(watcher)
        for name, stop in (("s2", "kill"), ("s1", "close")):
            old = next(m for m in members if m.name == name and m.alive())
            if stop == "kill":
                old.kill()
            else:
                assert old.terminate() == 0, old.describe()
            again = start_member(name, CLIENT, broker.bootstrap, group, topic,
                                 instance_id=ids[name])
            members.append(again)
            wait_until(lambda: again.assignment() == owners[name], 40,
                       f"restarted static member {name} ({stop}) to get {owners[name]} back: "
                       f"{again.describe()}")
        time.sleep(NO_REBALANCE_WINDOW_S)
        assert assign_revoke_count(watcher) == quiet, (
            f"s0 saw a rebalance: {watcher.snapshot()[-5:]}")
        state, _, broker_view = broker_assignments(broker.bootstrap, group)
        assert state == "Stable"
        assert sorted(map(sorted, broker_view)) == sorted(
            sorted((topic, p) for p in owned) for owned in owners.values())
        live = [m for m in members if m.alive()]
        check_round(broker.bootstrap, topic, PARTITIONS, members,
                    {m.name: m.assignment() for m in live}, "static")
    finally:
        stop_all(members)


def test_second_process_with_the_same_instance_id_fences_the_first(broker):
    """librdkafka reports FENCED_INSTANCE_ID as a fatal error to the older member, which
    stops; the newer one owns the partitions."""
    topic = new_topic(broker, "fence", partitions=2)
    group = unique_topic("g-fence")
    instance = f"{group}-instance"
    first = start_member("first", CLIENT, broker.bootstrap, group, topic, instance_id=instance)
    members = [first]
    try:
        wait_for_stable_split(broker.bootstrap, group, topic, 2, members)
        second = start_member("second", CLIENT, broker.bootstrap, group, topic,
                              instance_id=instance)
        members.append(second)

        def fenced():
            return [e for e in first.errors() if e["fatal"]]

        errors = wait_until(fenced, 40, f"a fatal error in the first member: "
                                        f"{first.describe()}")
        text = " ".join(e["str"] for e in first.errors()).lower()
        assert "fenced" in text or any(e["code"] == FENCED_INSTANCE_ID for e in first.errors()), \
            f"fatal error does not name the fencing: {errors}"
        assert errors[0]["code"] in (KafkaError._FATAL, FENCED_INSTANCE_ID), errors
        wait_until(lambda: not first.alive(), 30, "the fenced member to stop")
        assert first.proc.returncode == 3, first.describe()
        owners = wait_for_stable_split(broker.bootstrap, group, topic, 2, members)
        assert owners == {"second": {0, 1}}
        assert not [e for e in second.errors() if e["fatal"]], second.describe()
    finally:
        stop_all(members)
