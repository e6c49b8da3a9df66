"""Consumer groups with KafkaJS 2.2.4: membership, rebalances, assignors, committed offsets, admin.

Every member is its own node process (js/group_consumer.js) printing one JSON line per event,
so a test can stop it gracefully (SIGTERM: KafkaJS disconnect sends LeaveGroup) or kill -9 it.
Members of one test run concurrently. Client settings are KafkaJS defaults except where a
test says why it sets one. Group admin goes through the KafkaJS admin client (js/group_admin.js).

Static membership is not tested here: KafkaJS 2.2.4 has no `groupInstanceId` consumer option
(its JoinGroup v5 encoder has the field, but neither the consumer nor Broker.joinGroup pass it).
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import unique_topic
from fjord_helpers import create_topic, produce_sync
from test_kafkajs import run_js

HERE = os.path.dirname(os.path.abspath(__file__))
ROUND_ROBIN = "RoundRobinAssigner"  # the protocol name of KafkaJS's default assigner
JOIN_TIMEOUT_S = 45  # a rebalance waits for every member's next heartbeat (after a fetch of up to 5 s)
SESSION_EXPIRY_TIMEOUT_S = 60  # session timeout (6 s) plus the rebalance that follows
CONSUME_TIMEOUT_S = 45
EXIT_TIMEOUT_S = 30
# The broker's minimum session timeout, for members the test kills so that the coordinator
# notices soon. KafkaJS heartbeats between fetches, and an idle fetch waits up to 5 s by
# default: shorter fetch waits keep its heartbeats well inside 6 s.
SHORT_SESSION = {"sessionTimeout": 6000, "maxWaitTimeInMs": 1000}
# Kafka error codes the admin calls must report.
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69


class GroupMember:
    """One KafkaJS consumer process; its events are collected by a reader thread."""

    def __init__(self, name, log_dir, **args):
        self.name = name
        self.events = []
        self._lock = threading.Lock()
        self.stderr_path = os.path.join(str(log_dir), f"member-{name}.stderr")
        node = shutil.which("node")
        assert node, "node is not installed (Debian/NodeSource package nodejs)"
        env = dict(os.environ, KAFKAJS_NO_PARTITIONER_WARNING="1")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [node, os.path.join(HERE, "js", "group_consumer.js"), json.dumps(args)],
                cwd=HERE, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "garbage", "line": line.decode(errors="replace")}
            with self._lock:
                self.events.append(event)

    def of_kind(self, kind):
        with self._lock:
            return [e for e in self.events if e["event"] == kind]

    def joins(self):
        return self.of_kind("join")

    def last_join(self):
        joins = self.joins()
        return joins[-1] if joins else None

    @property
    def member_id(self):
        return self.last_join()["memberId"]

    def owned(self):
        """(topic, partition) pairs of this member's latest assignment."""
        join = self.last_join()
        if join is None:
            return set()
        return {(topic, p) for topic, parts in join["assignment"].items() for p in parts}

    def received(self):
        return {(m["partition"], m["offset"]): m["value"] for m in self.of_kind("message")}

    def committed(self):
        """Latest committed offset per (topic, partition) from this member's commit events."""
        latest = {}
        for commit in self.of_kind("commit"):
            for entry in commit["offsets"]:
                latest[(entry["topic"], entry["partition"])] = entry["offset"]
        return latest

    def stop(self):
        """SIGTERM: KafkaJS disconnects, which leaves the group. Must exit 0."""
        self.proc.send_signal(signal.SIGTERM)
        code = self._wait_exit()
        assert code == 0, f"member {self.name} exited {code} on SIGTERM\n{self.stderr_tail()}"
        assert self.of_kind("stopped"), f"member {self.name} did not report leaving"

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self._wait_exit()

    def _wait_exit(self):
        try:
            code = self.proc.wait(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            pytest.fail(f"member {self.name} did not exit within {EXIT_TIMEOUT_S}s\n"
                        f"{self.stderr_tail()}")
        self._reader.join(timeout=10)
        return code

    def stderr_tail(self, lines=30):
        with open(self.stderr_path, "r", errors="replace") as err:
            tail = err.readlines()[-lines:]
        return f"--- member {self.name} stderr ---\n" + "".join(tail)

    def summary(self):
        join = self.last_join()
        return (f"{self.name}: running={self.proc.poll() is None} joins={len(self.joins())} "
                f"member={join and join['memberId']} protocol={join and join['protocol']} "
                f"owns={sorted(self.owned())} received={len(self.received())} "
                f"crashes={self.of_kind('crash')}")


@pytest.fixture
def members(tmp_path):
    """Starts group members; kills whatever is still running after the test."""
    started = []

    def start(name, bootstrap, group, topics, **args):
        member = GroupMember(name, tmp_path, bootstrap=bootstrap, groupId=group,
                             topics=list(topics), **args)
        started.append(member)
        return member

    yield start
    for member in started:
        member.kill()


def wait_for(predicate, timeout_s, what, describe):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout_s}s waiting for {what}:\n{describe()}")


def describe_all(group_members):
    return lambda: "\n".join(m.summary() for m in group_members) + "\n" + "".join(
        m.stderr_tail(8) for m in group_members)


def all_partitions(topic, count):
    return {(topic, p) for p in range(count)}


def settled(group_members, partitions, joins_before=None):
    """True once every member joined since joins_before and their latest assignments split
    `partitions` among them with no partition owned twice."""
    joins_before = joins_before or {}
    owned = []
    for member in group_members:
        if len(member.joins()) <= joins_before.get(member.name, 0):
            return False
        owned.append(member.owned())
    union = set().union(*owned)
    return union == partitions and sum(len(o) for o in owned) == len(partitions)


def wait_settled(group_members, partitions, timeout_s=JOIN_TIMEOUT_S, joins_before=None,
                 what="a rebalance"):
    wait_for(lambda: settled(group_members, partitions, joins_before), timeout_s,
             f"{what}: {len(group_members)} members owning {len(partitions)} partitions once",
             describe_all(group_members))
    ids = [m.member_id for m in group_members]
    assert len(set(ids)) == len(ids), f"members share an id: {ids}"
    for member in group_members:
        assert not member.of_kind("crash"), member.summary()


def join_counts(group_members):
    return {m.name: len(m.joins()) for m in group_members}


def produce_round(bootstrap, topic, partitions, per_partition, tag):
    """Produces per_partition messages to each partition; returns {(partition, offset): value}."""
    messages = [{"value": f"{tag}-{i}".encode(), "partition": i % partitions}
                for i in range(partitions * per_partition)]
    reports = produce_sync(bootstrap, topic, messages)
    return {(r.partition(), r.offset()): r.value().decode() for r in reports}


def wait_consumed(group_members, expected, timeout_s=CONSUME_TIMEOUT_S):
    """Every produced message was delivered to some member (duplicates across a rebalance
    are allowed: delivery is at least once), with the value that was produced."""
    def received():
        merged = {}
        for member in group_members:
            merged.update(member.received())
        return merged

    def missing():
        got = received()
        return [k for k in expected if k not in got]

    wait_for(lambda: not missing(), timeout_s, "every produced message to be consumed",
             lambda: f"missing {len(missing())}, e.g. {sorted(missing())[:10]}\n"
             + describe_all(group_members)())
    got = received()
    wrong = {k: (v, got[k]) for k, v in expected.items() if got[k] != v}
    assert not wrong, f"consumed values differ from produced: {list(wrong.items())[:5]}"


def group_admin(bootstrap, *ops):
    """Runs KafkaJS admin calls in order; returns [{op, ok, value | error}] for each."""
    return run_js("group_admin.js", bootstrap=bootstrap, ops=list(ops))


def admin_ok(bootstrap, *ops):
    results = group_admin(bootstrap, *ops)
    failed = [r for r in results if not r["ok"]]
    assert not failed, f"admin calls failed: {failed}"
    return [r.get("value") for r in results]  # calls that return nothing have no value


def describe_group(bootstrap, group):
    (groups,) = admin_ok(bootstrap, {"op": "describeGroups", "groupIds": [group]})
    assert len(groups) == 1 and groups[0]["groupId"] == group, groups
    return groups[0]


def described_assignments(description):
    """{memberId: {(topic, partition)}} from a DescribeGroups answer."""
    result = {}
    for member in description["members"]:
        assignment = member["assignment"] or {"assignment": {}}
        result[member["memberId"]] = {(topic, p) for topic, parts in
                                      assignment["assignment"].items() for p in parts}
    return result


def assert_broker_view_matches(bootstrap, group, group_members, protocol):
    """DescribeGroups agrees with what the members were told in SyncGroup."""
    description = describe_group(bootstrap, group)
    assert description["errorCode"] == 0
    assert description["state"] == "Stable", description
    assert description["protocolType"] == "consumer"
    assert description["protocol"] == protocol
    assert described_assignments(description) == {m.member_id: m.owned() for m in group_members}
    assert {m["clientId"] for m in description["members"]} == {"fjord-itest"}
    return description


def round_robin_layout(topic, partitions, member_ids):
    """KafkaJS's RoundRobinAssigner: partition i goes to the i-th member id in sorted order."""
    ordered = sorted(member_ids)
    layout = {m: set() for m in ordered}
    for p in range(partitions):
        layout[ordered[p % len(ordered)]].add((topic, p))
    return layout


# ------------------------------------------------------------------- membership


@pytest.mark.fjord_timeout(180)
def test_members_join_leave_and_die_and_every_partition_has_one_owner(broker, members):
    """3 members split 6 partitions round-robin; a 4th joins; one leaves; one is killed and
    its partitions move once its session (6 s) expires. Every message is consumed."""
    bootstrap = broker.bootstrap
    topic = create_topic(bootstrap, unique_topic("js-grp"), partitions=6)
    partitions = all_partitions(topic, 6)
    group = unique_topic("js-group")
    produced = produce_round(bootstrap, topic, 6, 20, "first")

    first_three = [members(name, bootstrap, group, [topic]) for name in ("a", "b", "c")]
    wait_settled(first_three, partitions, what="the first generation")
    layout = round_robin_layout(topic, 6, [m.member_id for m in first_three])
    assert {m.member_id: m.owned() for m in first_three} == layout
    assert {m.last_join()["protocol"] for m in first_three} == {ROUND_ROBIN}
    leaders = {m.last_join()["leaderId"] for m in first_three}
    assert len(leaders) == 1 and leaders <= {m.member_id for m in first_three}, leaders
    assert [m.last_join()["isLeader"] for m in first_three].count(True) == 1
    wait_consumed(first_three, produced)
    assert_broker_view_matches(bootstrap, group, first_three, ROUND_ROBIN)

    # A 4th member; only it is killed later, so only it has the broker's minimum session timeout.
    before = join_counts(first_three)
    fourth = members("d", bootstrap, group, [topic], consumer=SHORT_SESSION)
    four = first_three + [fourth]
    wait_settled(four, partitions, joins_before=before, what="the 4th member's rebalance")
    assert {m.member_id: m.owned() for m in four} == \
        round_robin_layout(topic, 6, [m.member_id for m in four])
    produced.update(produce_round(bootstrap, topic, 6, 10, "second"))
    wait_consumed(four, produced)
    assert_broker_view_matches(bootstrap, group, four, ROUND_ROBIN)

    # b leaves gracefully (LeaveGroup): the others rebalance without waiting for a timeout.
    leaver = four[1]
    remaining = [m for m in four if m is not leaver]
    before = join_counts(remaining)
    leaver.stop()
    wait_settled(remaining, partitions, joins_before=before, what="the rebalance after a leave")
    produced.update(produce_round(bootstrap, topic, 6, 10, "third"))
    wait_consumed(four, produced)
    assert_broker_view_matches(bootstrap, group, remaining, ROUND_ROBIN)

    # d is killed: no LeaveGroup; the coordinator notices when d's session expires.
    survivors = [m for m in remaining if m is not fourth]
    before = join_counts(survivors)
    fourth.kill()
    wait_settled(survivors, partitions, timeout_s=SESSION_EXPIRY_TIMEOUT_S, joins_before=before,
                 what="the rebalance after a member was killed")
    produced.update(produce_round(bootstrap, topic, 6, 10, "fourth"))
    wait_consumed(four, produced)
    assert_broker_view_matches(bootstrap, group, survivors, ROUND_ROBIN)


# -------------------------------------------------------------------- assignors


def by_label(name, label, want):
    return {"type": "byLabel", "name": name, "label": label, "want": want}


def test_custom_assignor_protocol_and_metadata_pass_through(broker, members):
    """A custom assigner (a function with its own protocol name): its member metadata reaches
    the leader intact, and the leader's assignment (with user data) reaches every member."""
    bootstrap = broker.bootstrap
    topic = create_topic(bootstrap, unique_topic("js-assign"), partitions=6)
    group = unique_topic("js-group")
    produced = produce_round(bootstrap, topic, 6, 5, "custom")
    protocol = "fjord-by-label-v1"
    big = members("big", bootstrap, group, [topic], assigners=[by_label(protocol, "a", 4)])
    small = members("small", bootstrap, group, [topic], assigners=[by_label(protocol, "b", 2)])
    wait_settled([big, small], all_partitions(topic, 6))
    assert big.owned() == {(topic, p) for p in (0, 1, 2, 3)}
    assert small.owned() == {(topic, p) for p in (4, 5)}
    assert {big.last_join()["protocol"], small.last_join()["protocol"]} == {protocol}
    wait_consumed([big, small], produced)

    description = assert_broker_view_matches(bootstrap, group, [big, small], protocol)
    by_member = {m["memberId"]: m for m in description["members"]}
    leader = big if big.last_join()["isLeader"] else small
    leader_label = "a" if leader is big else "b"
    for member, label, want in ((big, "a", 4), (small, "b", 2)):
        described = by_member[member.member_id]
        assert described["metadata"]["topics"] == [topic]
        assert json.loads(described["metadata"]["userData"]) == {"label": label, "want": want}
        assert described["assignment"]["userData"] == f"assigned-by:{leader_label}"


def test_group_picks_the_protocol_every_member_supports(broker, members):
    """Members offering different protocol lists get the one they share; a member sharing
    none with the group is refused with INCONSISTENT_GROUP_PROTOCOL."""
    bootstrap = broker.bootstrap
    topic = create_topic(bootstrap, unique_topic("js-proto"), partitions=4)
    group = unique_topic("js-group")
    common = "fjord-common"
    alpha = members("alpha", bootstrap, group, [topic], assigners=[
        by_label("fjord-alpha-only", "a", 4), by_label(common, "a", 1)])
    beta = members("beta", bootstrap, group, [topic], assigners=[
        by_label("fjord-beta-only", "b", 4), by_label(common, "b", 1)])
    wait_settled([alpha, beta], all_partitions(topic, 4))
    assert {alpha.last_join()["protocol"], beta.last_join()["protocol"]} == {common}
    assert alpha.owned() == {(topic, 0)}  # label a wants 1 under the common protocol
    assert beta.owned() == {(topic, p) for p in (1, 2, 3)}
    assert_broker_view_matches(bootstrap, group, [alpha, beta], common)

    stranger = members("gamma", bootstrap, group, [topic],
                       assigners=[by_label("fjord-gamma-only", "c", 1)])
    wait_for(lambda: stranger.proc.poll() is not None, JOIN_TIMEOUT_S,
             "the member without a common protocol to give up", describe_all([stranger]))
    crashes = stranger.of_kind("crash")
    assert stranger.proc.returncode == 4 and crashes, stranger.summary()
    assert crashes[-1]["error"]["type"] == "INCONSISTENT_GROUP_PROTOCOL", crashes
    assert not stranger.joins()
    assert_broker_view_matches(bootstrap, group, [alpha, beta], common)


# ---------------------------------------------------------------------- offsets


def offsets_by_partition(fetched, topic):
    return {e["partition"]: e["offset"] for e in fetched if e["topic"] == topic}


def first_offsets(member):
    """The first offset this member received per partition."""
    first = {}
    for message in member.of_kind("message"):
        first.setdefault(message["partition"], message["offset"])
    return first


def consume_and_commit(bootstrap, group, topic, expected, members, name, **args):
    """Starts a member that consumes `expected` and waits until it committed past it."""
    member = members(name, bootstrap, group, [topic], **args)
    wait_consumed([member], expected)
    ends = {}
    for partition, offset in expected:
        ends[(topic, partition)] = max(ends.get((topic, partition), 0), offset + 1)
    wait_for(lambda: {tp: o for tp, o in member.committed().items() if tp in ends} == ends,
             CONSUME_TIMEOUT_S, f"commits up to {ends}", describe_all([member]))
    return member


def groups_broker(broker_factory):
    # No initial rebalance delay: these tests form their group anew many times, one member each.
    return broker_factory({"group.initial.rebalance.delay.ms": "0"})


@pytest.mark.fjord_timeout(150)
def test_committed_offsets_survive_consumer_restart_and_broker_kill(broker_factory, members):
    """autoCommit (KafkaJS's default) commits after each batch; a new member resumes where
    the last one committed, also after kill -9 of the broker right after a commit was
    acknowledged; the KafkaJS admin lists, describes and fetches what the consumer did."""
    node = groups_broker(broker_factory)
    topic = create_topic(node.bootstrap, unique_topic("js-offsets"), partitions=3)
    group = unique_topic("js-group")
    tps = all_partitions(topic, 3)

    produced = produce_round(node.bootstrap, topic, 3, 10, "before")
    first = consume_and_commit(node.bootstrap, group, topic, produced, members, "first")
    listed, described, fetched, refused = group_admin(
        node.bootstrap, {"op": "listGroups"},
        {"op": "describeGroups", "groupIds": [group]},
        {"op": "fetchOffsets", "groupId": group, "topics": [topic]},
        {"op": "deleteGroups", "groupIds": [group]})
    assert {"groupId": group, "protocolType": "consumer"} in listed["value"]
    (description,) = described["value"]
    assert description["state"] == "Stable"
    assert described_assignments(description) == {first.member_id: tps}
    assert offsets_by_partition(fetched["value"], topic) == {0: 10, 1: 10, 2: 10}
    assert refused["value"] == [{"groupId": group, "errorCode": NON_EMPTY_GROUP,
                                 "type": "NON_EMPTY_GROUP"}]

    # Consumer restart: a new process in the group starts at the committed offsets.
    first.stop()
    more = produce_round(node.bootstrap, topic, 3, 1, "after-first")
    second = consume_and_commit(node.bootstrap, group, topic, more, members, "second",
                                consumer=SHORT_SESSION)
    assert first_offsets(second) == {0: 10, 1: 10, 2: 10}

    # kill -9 of the broker right after the commit was acknowledged. The member dies too
    # (the broker comes back on another port); its session (6 s) expires after the restart.
    node.kill()
    second.kill()
    node.start()
    (fetched,) = admin_ok(node.bootstrap,
                          {"op": "fetchOffsets", "groupId": group, "topics": [topic]})
    assert offsets_by_partition(fetched, topic) == {0: 11, 1: 11, 2: 11}
    more = produce_round(node.bootstrap, topic, 3, 1, "after-kill")
    third = members("third", node.bootstrap, group, [topic])
    wait_consumed([third], more, timeout_s=SESSION_EXPIRY_TIMEOUT_S)
    assert first_offsets(third) == {0: 11, 1: 11, 2: 11}
    third.stop()


@pytest.mark.fjord_timeout(150)
def test_admin_moves_resets_and_deletes_offsets_of_an_empty_group(broker_factory, members):
    """KafkaJS admin setOffsets, resetOffsets, fetchOffsets(resolveOffsets) and deleteGroups
    on a group whose consumer left; a consumer then starts where the admin put the group."""
    node = groups_broker(broker_factory)
    topic = create_topic(node.bootstrap, unique_topic("js-admin"), partitions=3)
    group = unique_topic("js-group")
    produced = produce_round(node.bootstrap, topic, 3, 10, "before")
    consume_and_commit(node.bootstrap, group, topic, produced, members, "first").stop()

    described, set_result, after_set = group_admin(
        node.bootstrap, {"op": "describeGroups", "groupIds": [group]},
        {"op": "setOffsets", "groupId": group, "topic": topic,
         "partitions": [{"partition": 0, "offset": "3"}]},
        {"op": "fetchOffsets", "groupId": group, "topics": [topic]})
    (description,) = described["value"]
    assert (description["state"], description["members"]) == ("Empty", [])
    assert set_result["ok"], set_result
    assert offsets_by_partition(after_set["value"], topic) == {0: 3, 1: 10, 2: 10}

    second = members("second", node.bootstrap, group, [topic])
    wait_consumed([second], {k: v for k, v in produced.items() if k[0] == 0 and k[1] >= 3})
    assert first_offsets(second) == {0: 3}
    second.stop()

    # resetOffsets commits the earliest-offset sentinel (-2) as is, like Kafka stores it;
    # fetchOffsets with resolveOffsets turns it into the log start offset and commits that.
    # Each runs a consumer in the group that leaves at the end: the group must be Empty
    # again as soon as LeaveGroup is answered, or KafkaJS refuses the next call.
    reset, after_reset, resolved, after_resolve = admin_ok(
        node.bootstrap, {"op": "resetOffsets", "groupId": group, "topic": topic, "earliest": True},
        {"op": "fetchOffsets", "groupId": group, "topics": [topic]},
        {"op": "fetchOffsets", "groupId": group, "topics": [topic], "resolveOffsets": True},
        {"op": "fetchOffsets", "groupId": group, "topics": [topic]})
    assert offsets_by_partition(after_reset, topic) == {0: -2, 1: -2, 2: -2}
    assert offsets_by_partition(resolved, topic) == {0: 0, 1: 0, 2: 0}
    assert offsets_by_partition(after_resolve, topic) == {0: 0, 1: 0, 2: 0}

    deleted, listed, fetched, described, again = group_admin(
        node.bootstrap, {"op": "deleteGroups", "groupIds": [group]}, {"op": "listGroups"},
        {"op": "fetchOffsets", "groupId": group, "topics": [topic]},
        {"op": "describeGroups", "groupIds": [group]},
        {"op": "deleteGroups", "groupIds": [group]})
    assert deleted["value"] == [{"groupId": group, "errorCode": 0}]
    assert group not in [g["groupId"] for g in listed["value"]]
    assert offsets_by_partition(fetched["value"], topic) == {0: -1, 1: -1, 2: -1}
    assert described["value"][0]["state"] == "Dead"
    assert again["value"] == [{"groupId": group, "errorCode": GROUP_ID_NOT_FOUND,
                               "type": "GROUP_ID_NOT_FOUND"}]
