"""A broker stops promptly while group requests wait on it.

A JoinGroup can wait minutes (the initial rebalance delay, a rebalance timeout);
on SIGTERM the coordinator answers it NOT_COORDINATOR, as Kafka does when it
unloads a group, instead of the node waiting for it for ever.
"""
import time

import kafka_raw as raw
from group_helpers import find_coordinator

NOT_COORDINATOR = 16


def test_sigterm_answers_a_waiting_join_and_the_broker_exits(broker_factory):
    node = broker_factory({"group.initial.rebalance.delay.ms": "600000"})
    connection = raw.Connection(node.bootstrap)
    try:
        find_coordinator(connection, "waiting-group")
        # v3: no MEMBER_ID_REQUIRED round, the member joins and waits for the delay.
        connection.send(raw.join_group_request(
            connection.next_id(), "waiting-group", "",
            [("range", raw.consumer_subscription(["t"]))],
            session_timeout_ms=30000, rebalance_timeout_ms=900000, version=3))
        time.sleep(0.5)  # let the join reach the group
        started = time.monotonic()
        assert node.stop() == 0, node.stderr_tail()
        print(f"stopped {time.monotonic() - started:.2f} s after SIGTERM with a join waiting")
        try:
            _, body = connection.recv_response()
        except (ConnectionError, OSError):
            body = None  # closed before the answer went out: also no hang
        if body is not None:
            assert raw.parse_join_group(body, 3)["error"] == NOT_COORDINATOR
    finally:
        connection.close()
