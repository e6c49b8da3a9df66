"""1,000 consumer groups at once: each gets a member that joins, syncs, commits an offset
with metadata and reads it back (raw frames from a thread pool: 1,000 librdkafka
instances would be too heavy); the admin API then lists all of them, and after a broker
restart every committed offset is still there (checked raw for all, and with
confluent committed() for a sample). Prints how long each phase took."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from confluent_kafka import TopicPartition

import kafka_raw as raw
from conftest import unique_topic
from fjord_helpers import admin_client, create_topic, new_consumer
from group_helpers import (commit, fetch_offsets_when_loaded, form_single_member_group, leave,
                           list_groups)

GROUPS = 1000
WORKERS = 16
PARTITIONS = 2
SAMPLE_EVERY = 100  # groups checked with a real client


def committed_for(index):
    """Offsets and metadata of group number `index`, distinct per group and partition."""
    return {p: (index * 10 + p, f"meta-{index}-{p}") for p in range(PARTITIONS)}


class PerThreadConnection:
    """One raw connection per worker thread; requests on one connection are serial."""

    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self.local = threading.local()
        self.all = []
        self.lock = threading.Lock()

    def get(self):
        if not hasattr(self.local, "connection"):
            self.local.connection = raw.Connection(self.bootstrap, timeout_s=60)
            with self.lock:
                self.all.append(self.local.connection)
        return self.local.connection

    def close(self):
        for connection in self.all:
            connection.close()


def run_all(bootstrap, work, groups):
    """Runs work(connection, index, group) for every group on WORKERS threads; returns
    the elapsed seconds. Any failure fails the test with the first error."""
    connections = PerThreadConnection(bootstrap)
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = [pool.submit(lambda i=i, g=g: work(connections.get(), i, g))
                       for i, g in enumerate(groups)]
            for future in futures:
                future.result()
    finally:
        connections.close()
    return time.monotonic() - started


def expect_offsets(connection, index, group, topic):
    error, offsets = fetch_offsets_when_loaded(connection, group,
                                               {topic: list(range(PARTITIONS))})
    assert error == 0, f"OffsetFetch {group}: error {error}"
    for p, (offset, metadata) in committed_for(index).items():
        got = offsets[(topic, p)]
        assert (got[0], got[2], got[3]) == (offset, metadata, 0), f"{group} p{p}: {got}"


@pytest.mark.fjord_timeout(180)
def test_a_thousand_groups_commit_list_and_survive_a_restart(broker_factory):
    node = broker_factory({"group.initial.rebalance.delay.ms": 0})
    topic = create_topic(node.bootstrap, unique_topic("scale"), partitions=PARTITIONS)
    prefix = unique_topic("scale-g")
    groups = [f"{prefix}-{i:04d}" for i in range(GROUPS)]

    def one_group(connection, index, group):
        generation, member_id = form_single_member_group(connection, group, topic, PARTITIONS)
        offsets = {(topic, p): v for p, v in committed_for(index).items()}
        errors = commit(connection, group, generation, member_id, offsets)
        assert errors == {(topic, p): 0 for p in range(PARTITIONS)}, f"{group}: {errors}"
        expect_offsets(connection, index, group, topic)
        error, members = leave(connection, group, member_id)
        assert error == 0 and [m[2] for m in members] == [0], f"LeaveGroup {group}: {members}"

    elapsed = run_all(node.bootstrap, one_group, groups)
    print(f"\n{GROUPS} groups joined, synced, committed, fetched and left in {elapsed:.2f}s "
          f"({WORKERS} connections)")

    connection = raw.Connection(node.bootstrap)
    try:
        error, listed = list_groups(connection)
    finally:
        connection.close()
    assert error == 0
    missing = sorted(set(groups) - set(listed))
    assert not missing, f"ListGroups misses {len(missing)} groups, e.g. {missing[:5]}"
    assert all(listed[g] == "consumer" for g in groups)

    started = time.monotonic()
    admin_listed = admin_client(node.bootstrap).list_groups(timeout=60)
    print(f"AdminClient.list_groups() returned {len(admin_listed)} groups in "
          f"{time.monotonic() - started:.2f}s")
    admin_names = {g.id for g in admin_listed}
    missing = sorted(set(groups) - admin_names)
    assert not missing, f"AdminClient.list_groups misses {len(missing)}, e.g. {missing[:5]}"
    sample = [g for g in admin_listed if g.id in set(groups[::SAMPLE_EVERY])]
    assert all(g.state == "Empty" and g.protocol_type == "consumer" for g in sample), \
        [(g.id, g.state, g.protocol_type) for g in sample]

    started = time.monotonic()
    node.restart()
    print(f"broker restarted with {GROUPS} groups in {time.monotonic() - started:.2f}s "
          f"(ready after {node.last_ready_s:.2f}s)")

    elapsed = run_all(node.bootstrap,
                      lambda connection, index, group: expect_offsets(connection, index,
                                                                      group, topic),
                      groups)
    print(f"all {GROUPS} groups' offsets read back after the restart in {elapsed:.2f}s")
    for index in range(0, GROUPS, SAMPLE_EVERY):
        consumer = new_consumer(node.bootstrap, group_id=groups[index])
        try:
            got = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)],
                                     timeout=15)
        finally:
            consumer.close()
        assert {tp.partition: tp.offset for tp in got} == {
            p: offset for p, (offset, _) in committed_for(index).items()}, groups[index]


def test_groups_formed_at_once_on_a_fresh_broker(broker_factory):
    """WORKERS clients find their coordinator at the same moment on a broker that has no
    __consumer_offsets yet (it is created on first use): once FindCoordinator said NONE,
    JoinGroup, SyncGroup and OffsetCommit work (Kafka answers COORDINATOR_NOT_AVAILABLE
    until the offsets partition is ready, never NONE before)."""
    node = broker_factory({"group.initial.rebalance.delay.ms": 0})
    topic = create_topic(node.bootstrap, unique_topic("fresh"), partitions=PARTITIONS)
    prefix = unique_topic("fresh-g")
    groups = [f"{prefix}-{i}" for i in range(WORKERS)]

    def one_group(connection, index, group):
        generation, member_id = form_single_member_group(connection, group, topic, PARTITIONS)
        offsets = {(topic, p): v for p, v in committed_for(index).items()}
        errors = commit(connection, group, generation, member_id, offsets)
        assert errors == {(topic, p): 0 for p in range(PARTITIONS)}, f"{group}: {errors}"

    run_all(node.bootstrap, one_group, groups)
