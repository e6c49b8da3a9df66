"""Helpers for consumer-group tests: member processes, the broker's view of a group, raw
group members, and checks that no partition is owned twice.

Members run `group_consumer.py` in their own process (so a test can kill -9 one) and
report assignment changes and records as JSON lines; `MemberProcess` collects them in a
reader thread. The broker's view comes from DescribeGroups (raw frames, kafka_raw.py), so
a test can compare what the clients believe with what the coordinator handed out.
Every wait has a deadline and fails with a message.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import kafka_raw as raw
from conftest import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "group_consumer.py")
STABLE_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30

ERROR_NONE = 0
ERROR_COORDINATOR_LOAD_IN_PROGRESS = 14
ERROR_COORDINATOR_NOT_AVAILABLE = 15
ERROR_NOT_COORDINATOR = 16
ERROR_REBALANCE_IN_PROGRESS = 27
ERROR_MEMBER_ID_REQUIRED = 79
RETRIABLE_COORDINATOR_ERRORS = (ERROR_COORDINATOR_LOAD_IN_PROGRESS,
                                ERROR_COORDINATOR_NOT_AVAILABLE, ERROR_NOT_COORDINATOR)


# ------------------------------------------------------------------ member processes

def runner_command(client, bootstrap, group, topic, assignor=None, session_timeout_ms=None,
                   instance_id=None, commit="auto", settings=None):
    """The command line of one group_consumer.py member (see its docstring)."""
    cmd = [sys.executable, RUNNER, client, "--bootstrap", bootstrap, "--group", group,
           "--topic", topic, "--commit", commit]
    if assignor:
        cmd += ["--assignor", assignor]
    if session_timeout_ms:
        cmd += ["--session-timeout-ms", str(session_timeout_ms)]
    if instance_id:
        cmd += ["--instance-id", instance_id]
    for key, value in (settings or {}).items():
        cmd += ["--set", f"{key}={value}"]
    return cmd


def start_member(name, client, bootstrap, group, topic, **options):
    return MemberProcess(name, runner_command(client, bootstrap, group, topic, **options))


class MemberProcess:
    """A member process and the events it printed so far. Any command that prints the
    JSON lines of group_consumer.py works (e.g. a KafkaJS runner)."""

    def __init__(self, name, cmd):
        self.name = name
        self.events = []
        self.lock = threading.Lock()
        self.end_time = None  # when the process stopped owning anything (kill or close)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        self.stderr_lines = []
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"e": "garbage", "line": line.decode(errors="replace")}
            with self.lock:
                self.events.append(event)

    def _read_stderr(self):
        for line in self.proc.stderr:
            text = line.decode(errors="replace").rstrip()
            event = self.event_from_stderr(text)
            with self.lock:
                if event is not None:
                    self.events.append(event)
                self.stderr_lines.append(text)
                del self.stderr_lines[:-200]  # bounded: only the tail matters

    def event_from_stderr(self, line):
        """Hook for clients that report rebalances on stderr (kcat)."""
        return None

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def of_kind(self, kind):
        return [e for e in self.snapshot() if e["e"] == kind]

    def alive(self):
        return self.proc.poll() is None

    def assignment(self):
        """The partitions this member owns now, by its callbacks (incremental for
        cooperative assignors; eager ones revoke everything before each assign)."""
        owned = set()
        for event in self.snapshot():
            if event["e"] == "assign":
                owned |= set(event["parts"])
            elif event["e"] in ("revoke", "lost"):
                owned -= set(event["parts"])
        return owned

    def records(self):
        return [(e["p"], e["o"], e["v"]) for e in self.of_kind("rec")]

    def errors(self):
        return self.of_kind("error")

    def terminate(self, timeout_s=STOP_TIMEOUT_S):
        """Clean close (SIGTERM: the runner closes its consumer and exits)."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"member {self.name} did not close within {timeout_s}s\n"
                            f"{self.describe()}")
        for thread in self._threads:
            thread.join(timeout=5)
        if self.end_time is None:
            self.end_time = time.time()
        return self.proc.returncode

    def kill(self):
        """kill -9: no LeaveGroup, no commit, no revoke callback."""
        if self.alive():
            self.end_time = time.time()
            self.proc.kill()
            self.proc.wait(timeout=10)
        for thread in self._threads:
            thread.join(timeout=5)

    def describe(self):
        kinds = {}
        for event in self.snapshot():
            kinds[event["e"]] = kinds.get(event["e"], 0) + 1
        with self.lock:
            tail = "\n".join(self.stderr_lines[-15:])
        return (f"member {self.name}: alive={self.alive()} owns={sorted(self.assignment())} "
                f"events={kinds} errors={self.errors()[-3:]}\n  stderr tail:\n{tail}")


def stop_all(members):
    for member in members:
        if member.alive():
            member.kill()


def describe_members(members):
    return "\n".join(member.describe() for member in members)


# ------------------------------------------------------------------ the broker's view

def describe_group(bootstrap, group):
    connection = raw.Connection(bootstrap)
    try:
        body = connection.call(raw.describe_groups_request_v4, groups=[group])
    finally:
        connection.close()
    (described,) = raw.parse_describe_groups_v4(body)
    return described


def broker_assignments(bootstrap, group):
    """(state, protocol, [set of (topic, partition) per member]) as the coordinator sees it."""
    described = describe_group(bootstrap, group)
    owned = [raw.parse_consumer_assignment(m["assignment"]) for m in described["members"]]
    return described["state"], described["protocol"], owned


def partitioning_problem(owned_sets, partitions, expected_members):
    """None if owned_sets (one set of partition numbers per member) splits range(partitions)
    among expected_members members with nothing owned twice; else what is wrong."""
    if len(owned_sets) != expected_members:
        return f"{len(owned_sets)} members, expected {expected_members}"
    counts = {}
    for owned in owned_sets:
        for partition in owned:
            counts[partition] = counts.get(partition, 0) + 1
    twice = sorted(p for p, n in counts.items() if n > 1)
    if twice:
        return f"partitions owned twice: {twice}"
    missing = sorted(set(range(partitions)) - set(counts))
    if missing:
        return f"partitions owned by nobody: {missing}"
    if expected_members <= partitions and any(not owned for owned in owned_sets):
        return "a member owns nothing although there are enough partitions"
    return None


def wait_for_stable_split(bootstrap, group, topic, partitions, members,
                          timeout_s=STABLE_TIMEOUT_S):
    """Waits until the live members' callbacks and the coordinator (DescribeGroups: Stable)
    agree on one split of the topic's partitions with nothing owned twice. Returns
    {member name: set of partitions}."""
    live = [m for m in members if m.alive()]
    last = {}

    def settled():
        client_view = [m.assignment() for m in live]
        state, protocol, broker_view = broker_assignments(bootstrap, group)
        broker_sets = [{p for t, p in owned if t == topic} for owned in broker_view]
        last.update(client=client_view, state=state, protocol=protocol, broker=broker_sets)
        if state != "Stable" or partitioning_problem(client_view, partitions, len(live)):
            return False
        return sorted(map(sorted, client_view)) == sorted(map(sorted, broker_sets))

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if settled():
                return {m.name: m.assignment() for m in live}
        except (OSError, ConnectionError, AssertionError) as error:
            last["error"] = repr(error)
        for member in live:
            if not member.alive():
                pytest.fail(f"member {member.name} exited with {member.proc.returncode}\n"
                            f"{describe_members(members)}")
        time.sleep(0.2)
    problem = partitioning_problem(last.get("client", []), partitions, len(live))
    pytest.fail(f"group {group} not split over {len(live)} members within {timeout_s}s: "
                f"{problem}; last views {last}\n{describe_members(members)}")


def wait_for_records(members, expected, timeout_s=STABLE_TIMEOUT_S):
    """Waits until the members together consumed every (partition, offset) in expected."""
    def missing():
        seen = set()
        for member in members:
            seen |= {(p, o) for p, o, _ in member.records()}
        return set(expected) - seen

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not missing():
            return
        time.sleep(0.1)
    gone = sorted(missing())
    pytest.fail(f"{len(gone)} records never consumed, e.g. {gone[:10]}\n"
                f"{describe_members(members)}")


def consumers_of(members, positions):
    """{(partition, offset): [member names that consumed it]} for the given positions."""
    wanted = set(positions)
    seen = {}
    for member in members:
        for p, o, _ in member.records():
            if (p, o) in wanted:
                seen.setdefault((p, o), []).append(member.name)
    return seen


def assert_each_consumed_once(members, positions, owners):
    """Every position consumed exactly once, by the member that owns its partition."""
    seen = consumers_of(members, positions)
    problems = []
    for position in positions:
        names = seen.get(position, [])
        owner = [name for name, owned in owners.items() if position[0] in owned]
        if names != owner:
            problems.append((position, names, owner))
    assert not problems, (f"records consumed by other than exactly their owner "
                          f"(position, consumed by, owner): {problems[:10]}")


def ownership_overlaps(members):
    """Pairs of members whose ownership of a partition overlapped in time, from the
    assign/revoke callback timestamps. A member owns a partition from its assign callback
    until its revoke/lost callback, or until it was killed or closed."""
    intervals = {}
    for member in members:
        start = {}
        for event in member.snapshot():
            if event["e"] == "assign":
                for p in event["parts"]:
                    start[p] = event["t"]
            elif event["e"] in ("revoke", "lost"):
                for p in event["parts"]:
                    if p in start:
                        intervals.setdefault(p, []).append((start.pop(p), event["t"],
                                                            member.name))
        closed = [e["t"] for e in member.snapshot() if e["e"] == "closed"]
        end = closed[0] if closed else member.end_time
        end = end if end is not None else float("inf")
        for p, begun in start.items():
            intervals.setdefault(p, []).append((begun, end, member.name))
    overlaps = []
    for p, spans in intervals.items():
        spans.sort()
        for (_, end_a, name_a), (begin_b, _, name_b) in zip(spans, spans[1:]):
            if begin_b < end_a and name_a != name_b:
                overlaps.append((p, name_a, name_b, round(end_a - begin_b, 3)))
    return overlaps


# ------------------------------------------------------------------ raw group members

def find_coordinator(connection, group, timeout_s=30):
    """FindCoordinator v2 until it answers (the offsets topic is created on first use)."""
    result = {}

    def found():
        body = connection.call(raw.find_coordinator_request_v2, key=group)
        result["answer"] = raw.parse_find_coordinator_v2(body)
        return result["answer"][0] == ERROR_NONE

    wait_until(found, timeout_s, f"FindCoordinator for {group} (last {result.get('answer')})")
    return result["answer"]


def join(connection, group, member_id="", topics=("t",), protocols=None, version=5,
         **kwargs):
    """One JoinGroup round trip; returns the parsed response."""
    protocols = protocols or [("range", raw.consumer_subscription(list(topics)))]
    body = connection.call(raw.join_group_request, group_id=group, member_id=member_id,
                           protocols=protocols, version=version, **kwargs)
    return raw.parse_join_group(body, version)


def join_with_member_id(connection, group, **kwargs):
    """JoinGroup, repeated once with the assigned member id after MEMBER_ID_REQUIRED (v4+)."""
    answer = join(connection, group, **kwargs)
    if answer["error"] == ERROR_MEMBER_ID_REQUIRED:
        kwargs.pop("member_id", None)
        answer = join(connection, group, member_id=answer["member_id"], **kwargs)
    return answer


def sync(connection, group, generation, member_id, assignments=(), **kwargs):
    body = connection.call(raw.sync_group_request, group_id=group, generation_id=generation,
                           member_id=member_id, assignments=list(assignments), **kwargs)
    return raw.parse_sync_group(body)


def heartbeat(connection, group, generation, member_id, **kwargs):
    body = connection.call(raw.heartbeat_request, group_id=group, generation_id=generation,
                           member_id=member_id, **kwargs)
    return raw.parse_heartbeat(body)


def leave(connection, group, member_id, instance_id=None):
    body = connection.call(raw.leave_group_request_v3, group_id=group,
                           members=[(member_id, instance_id)])
    return raw.parse_leave_group_v3(body)


def commit(connection, group, generation, member_id, offsets, **kwargs):
    """offsets: {(topic, partition): (offset, metadata)} -> {(topic, partition): error}."""
    body = connection.call(raw.offset_commit_request_v7, group_id=group,
                           generation_id=generation, member_id=member_id, offsets=offsets,
                           **kwargs)
    return raw.parse_offset_commit_v7(body)


def fetch_offsets(connection, group, partitions=None):
    """-> (error, {(topic, partition): (offset, leader_epoch, metadata, error)})."""
    body = connection.call(raw.offset_fetch_request_v5, group_id=group, partitions=partitions)
    return raw.parse_offset_fetch_v5(body)


def fetch_offsets_when_loaded(connection, group, partitions=None, timeout_s=30):
    """FindCoordinator, then OffsetFetch retried while the coordinator is still loading
    (COORDINATOR_LOAD_IN_PROGRESS etc., as clients retry after a broker restart)."""
    find_coordinator(connection, group, timeout_s)
    answer = {}

    def loaded():
        error, offsets = fetch_offsets(connection, group, partitions)
        answer["last"] = (error, offsets)
        return error not in RETRIABLE_COORDINATOR_ERRORS and not any(
            entry[3] in RETRIABLE_COORDINATOR_ERRORS for entry in offsets.values())

    wait_until(loaded, timeout_s, f"OffsetFetch of {group} without a loading error "
                                  f"(last {answer.get('last')})")
    return answer["last"]


def list_groups(connection):
    body = connection.call(raw.list_groups_request_v2)
    return raw.parse_list_groups_v2(body)


def delete_groups(connection, groups):
    body = connection.call(raw.delete_groups_request_v1, groups=list(groups))
    return raw.parse_delete_groups_v1(body)


def form_single_member_group(connection, group, topic, partitions, session_timeout_ms=30000):
    """FindCoordinator, JoinGroup (two-step), SyncGroup as leader owning all partitions.
    Returns (generation, member_id); fails the test on any error."""
    find_coordinator(connection, group)
    joined = join_with_member_id(connection, group, topics=[topic],
                                 session_timeout_ms=session_timeout_ms)
    assert joined["error"] == ERROR_NONE, f"JoinGroup {group}: {joined}"
    assert joined["leader"] == joined["member_id"], f"single member is not leader: {joined}"
    assignment = raw.consumer_assignment({topic: list(range(partitions))})
    error, got = sync(connection, group, joined["generation"], joined["member_id"],
                      [(joined["member_id"], assignment)])
    assert error == ERROR_NONE, f"SyncGroup {group}: error {error}"
    assert raw.parse_consumer_assignment(got) == {(topic, p) for p in range(partitions)}
    return joined["generation"], joined["member_id"]


# ------------------------------------------------------------------ producing

def produce_round(bootstrap, topic, partitions, per_partition, tag):
    """Produces per_partition records to each partition (values f"{tag}-{p}-{i}") and
    returns their (partition, offset) positions."""
    from fjord_helpers import produce_sync  # confluent producer with deadlines
    messages = [{"value": f"{tag}-{p}-{i}".encode(), "partition": p}
                for i in range(per_partition) for p in range(partitions)]
    reports = produce_sync(bootstrap, topic, messages)
    return [(report.partition(), report.offset()) for report in reports]


# ------------------------------------------------------------------ shared scenarios

def check_round(bootstrap, topic, partitions, members, owners, tag, per_partition=5):
    """Produces a round after the group settled on `owners`; every record must be consumed
    exactly once, by the member that owns its partition."""
    positions = produce_round(bootstrap, topic, partitions, per_partition, tag)
    wait_for_records([m for m in members if m.alive()], positions)
    assert_each_consumed_once(members, positions, owners)
    return positions


def assert_no_overlapping_ownership(members):
    overlaps = ownership_overlaps(members)
    assert not overlaps, (f"two members owned one partition at the same time "
                          f"(partition, earlier owner, later owner, overlap s): {overlaps}")


def scenario_join_then_leave(bootstrap, client, topic, group, partitions=6, **options):
    """3 members split the topic; a 4th joins; one closes cleanly. After each change the
    group settles with nothing owned twice (by the clients' callbacks and by the
    coordinator), records produced after it settled are consumed exactly once by their
    partition's owner, every record is consumed, and no two members' callbacks ever
    claimed one partition at the same time."""
    members = []
    try:
        produced = produce_round(bootstrap, topic, partitions, 5, "before")
        members = [start_member(f"m{i}", client, bootstrap, group, topic, **options)
                   for i in range(3)]
        owners = wait_for_stable_split(bootstrap, group, topic, partitions, members)
        produced += check_round(bootstrap, topic, partitions, members, owners, "three")

        members.append(start_member("m3", client, bootstrap, group, topic, **options))
        owners = wait_for_stable_split(bootstrap, group, topic, partitions, members)
        produced += check_round(bootstrap, topic, partitions, members, owners, "four")

        assert members[0].terminate() == 0, members[0].describe()
        owners = wait_for_stable_split(bootstrap, group, topic, partitions, members)
        assert "m0" not in owners
        produced += check_round(bootstrap, topic, partitions, members, owners, "left")

        wait_for_records(members, produced)
        assert_no_overlapping_ownership(members)
        return members
    finally:
        stop_all(members)


def scenario_killed_member(bootstrap, client, topic, group, partitions=6,
                           session_timeout_ms=6000, **options):
    """3 members; one is killed with kill -9 (no LeaveGroup): after session.timeout.ms the
    other two own every partition and consumption continues with nothing owned twice."""
    members = []
    try:
        produced = produce_round(bootstrap, topic, partitions, 5, "before")
        members = [start_member(f"m{i}", client, bootstrap, group, topic,
                                session_timeout_ms=session_timeout_ms, **options)
                   for i in range(3)]
        owners = wait_for_stable_split(bootstrap, group, topic, partitions, members)
        produced += check_round(bootstrap, topic, partitions, members, owners, "three")

        members[1].kill()
        owners = wait_for_stable_split(bootstrap, group, topic, partitions, members)
        assert sorted(owners) == ["m0", "m2"]
        produced += check_round(bootstrap, topic, partitions, members, owners, "after-kill")

        wait_for_records(members, produced)
        assert_no_overlapping_ownership(members)
        return members
    finally:
        stop_all(members)


def scenario_assignor(bootstrap, client, topic, group, assignor, protocol_name,
                      partitions=6):
    """3 members with one assignor: the coordinator selects that protocol, the split is
    the assignor's, and records are consumed by their owners. Returns
    (members, {name: set of partitions}); the caller stops the members."""
    members = [start_member(f"m{i}", client, bootstrap, group, topic, assignor=assignor)
               for i in range(3)]
    try:
        owners = wait_for_stable_split(bootstrap, group, topic, partitions, members)
        state, protocol, _ = broker_assignments(bootstrap, group)
        assert (state, protocol) == ("Stable", protocol_name)
        check_round(bootstrap, topic, partitions, members, owners, assignor)
        return members, owners
    except BaseException:
        stop_all(members)
        raise


def range_split(owners):
    """True if every member owns a contiguous run of partitions (the range assignor)."""
    return all(sorted(s) == list(range(min(s), max(s) + 1)) for s in owners.values() if s)


def round_robin_split(owners, members):
    """True if every member owns partitions that are `members` apart (round robin)."""
    return all(all((b - a) == members for a, b in zip(sorted(s), sorted(s)[1:]))
               for s in owners.values())


def run_concurrently(jobs):
    """Runs independent scenarios ({name: callable}) on threads, to keep the suite short.
    Returns {name: result}; re-raises the first failure (pytest.fail included)."""
    results, failures = {}, {}

    def run(name, job):
        try:
            results[name] = job()
        except BaseException as error:  # noqa: BLE001 - re-raised below in the test thread
            failures[name] = error

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in jobs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, error in failures.items():
        raise AssertionError(f"scenario {name} failed: {error}") from error
    return results
