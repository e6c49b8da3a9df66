"""kcat -G (the librdkafka balanced consumer, default settings): consumes, splits the
partitions between two processes, commits (auto commit and on close), and a restarted
kcat -G resumes after the committed offsets.

Where a group has no committed offsets yet, auto.offset.reset=earliest makes kcat start at
the beginning. Not `-o beginning`: kcat 1.7.1 applies -o in -G mode to every assigned
partition, committed offsets or not (checked against this broker: with -o beginning a
restarted kcat -G re-reads from offset 0 although committed() shows its commits; without
-o, or with -o stored, it resumes at them).

kcat prints each record as a JSON line (-f) and reports rebalances on stderr
("% Group G rebalanced (memberid M): assigned: T [0], T [1]"), which KcatMember turns
into the assign/revoke events that group_helpers checks."""

import re
import shutil
import time

import pytest
from confluent_kafka import TopicPartition

from conftest import unique_topic, wait_until
from fjord_helpers import create_topic, new_consumer
from group_helpers import (MemberProcess, assert_no_overlapping_ownership, check_round,
                           produce_round, stop_all, wait_for_records, wait_for_stable_split)

RECORD_FORMAT = '{"e": "rec", "p": %p, "o": %o, "v": "%s"}\\n'
FROM_EARLIEST = ("-X", "auto.offset.reset=earliest")
REBALANCE_LINE = re.compile(r"rebalanced \(memberid [^)]*\): (assigned|revoked): (.*)")
PARTITION_IN_LIST = re.compile(r"\[(\d+)\]")


class KcatMember(MemberProcess):
    def __init__(self, name, bootstrap, group, topic, *args):
        path = shutil.which("kcat")
        assert path, "kcat is not installed (Debian package kcat)"
        super().__init__(name, [path, "-b", bootstrap, "-G", group, "-u", "-f", RECORD_FORMAT,
                                *args, topic])

    def event_from_stderr(self, line):
        match = REBALANCE_LINE.search(line)
        if not match:
            return None
        kind = "assign" if match.group(1) == "assigned" else "revoke"
        parts = sorted(int(p) for p in PARTITION_IN_LIST.findall(match.group(2)))
        return {"e": kind, "parts": parts, "t": time.time()}


def committed(bootstrap, group, topic, partitions):
    consumer = new_consumer(bootstrap, group_id=group)
    try:
        got = consumer.committed([TopicPartition(topic, p) for p in range(partitions)],
                                 timeout=15)
    finally:
        consumer.close()
    return {tp.partition: tp.offset for tp in got}


def ends_of(positions, partitions):
    return {p: 1 + max(o for q, o in positions if q == p) for p in range(partitions)}


@pytest.mark.fjord_timeout(150)
def test_kcat_group_consumes_commits_and_resumes_after_the_commit(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kcat-g"), partitions=2)
    group = unique_topic("kcat-group")
    first_round = produce_round(broker.bootstrap, topic, 2, 10, "one")
    first = KcatMember("first", broker.bootstrap, group, topic, *FROM_EARLIEST)
    members = [first]
    try:
        wait_for_records(members, first_round)
        assert first.terminate() == 0, first.describe()  # closes: final commit, LeaveGroup
        ends = ends_of(first_round, 2)
        assert committed(broker.bootstrap, group, topic, 2) == ends

        second_round = produce_round(broker.bootstrap, topic, 2, 3, "two")
        second = KcatMember("second", broker.bootstrap, group, topic, *FROM_EARLIEST)
        members.append(second)
        wait_for_records([second], second_round)
        assert second.terminate() == 0, second.describe()
        got = sorted((p, o) for p, o, _ in second.records())
        assert got == sorted(second_round), "kcat -G did not resume at the committed offsets"
        assert committed(broker.bootstrap, group, topic, 2) == ends_of(second_round, 2)
    finally:
        stop_all(members)


@pytest.mark.fjord_timeout(150)
def test_two_kcat_processes_split_the_partitions(broker):
    topic = create_topic(broker.bootstrap, unique_topic("kcat-split"), partitions=4)
    group = unique_topic("kcat-split-group")
    members = [KcatMember(f"k{i}", broker.bootstrap, group, topic, *FROM_EARLIEST)
               for i in range(2)]
    try:
        owners = wait_for_stable_split(broker.bootstrap, group, topic, 4, members)
        assert all(owners.values()), owners
        check_round(broker.bootstrap, topic, 4, members, owners, "kcat")
        assert_no_overlapping_ownership(members)
    finally:
        stop_all(members)


def test_kcat_commits_while_running(broker):
    """Auto commit (every 5 s by default) commits progress while kcat runs, without a
    close: the group's committed offset reaches the end of what kcat consumed."""
    topic = create_topic(broker.bootstrap, unique_topic("kcat-auto"), partitions=1)
    group = unique_topic("kcat-auto-group")
    produced = produce_round(broker.bootstrap, topic, 1, 20, "auto")
    member = KcatMember("k", broker.bootstrap, group, topic, *FROM_EARLIEST)
    try:
        wait_for_records([member], produced)
        wait_until(lambda: committed(broker.bootstrap, group, topic, 1) == {0: 20}, 30,
                   "kcat's auto commit of offset 20")
    finally:
        member.kill()
