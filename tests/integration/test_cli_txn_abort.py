"""`fjord txn abort` ends a hanging transaction: a transactional batch written to a
partition the coordinator was never told about (no AddPartitionsToTxn), so no marker ever
comes and the partition's last stable offset is stuck at the batch. After the abort the
last stable offset moves on and a read_committed consumer reads the records after the
batch, never the batch itself.

The hanging transaction is made over the raw protocol (kafka_raw.py); the CLI binary is
FJORD_BIN.
"""

import pytest

import kafka_raw as raw
from conftest import unique_topic, wait_until
from fjord_helpers import create_topic, produce_sync
from test_cli_txn import error_line, producer_rows, txn_cli, txn_ok
from txn_helpers import high_watermark, last_stable_offset, read_to_end, values_by_partition

NONE = 0
# Answers worth asking again: the coordinator is loading or moving.
RETRIABLE = (14, 15, 16, 51)
RETRY_TIMEOUT_S = 30
LSO_TIMEOUT_S = 30
TRANSACTION_TIMEOUT_MS = 300000


@pytest.fixture
def conn(broker):
    connection = raw.Connection(broker.bootstrap)
    yield connection
    connection.close()


def new_transactional_producer(conn):
    """InitProducerId for a fresh transactional id: -> (transactional_id, producer_id, epoch)."""
    transactional_id = unique_topic("hanging")
    answer = {}

    def initialised():
        body = conn.call(raw.find_coordinator_request_v2, key=transactional_id,
                         key_type=raw.COORDINATOR_TRANSACTION)
        if raw.parse_find_coordinator_v2(body)[0] != NONE:
            return False
        body = conn.call(raw.init_producer_id_request, transactional_id=transactional_id,
                         transaction_timeout_ms=TRANSACTION_TIMEOUT_MS)
        answer["last"] = raw.parse_init_producer_id(body)
        return answer["last"][0] not in RETRIABLE

    wait_until(initialised, RETRY_TIMEOUT_S, f"InitProducerId of {transactional_id}")
    error, producer_id, epoch = answer["last"]
    assert error == NONE, f"InitProducerId of {transactional_id}: error {error}"
    return transactional_id, producer_id, epoch


def hanging_topic(broker, conn):
    """A topic whose partition 0 holds plain-0, plain-1, then (offset 2) a transactional
    batch never added to its transaction, then after-0, after-1.
    -> (topic, producer_id, epoch)."""
    topic = create_topic(broker.bootstrap, unique_topic("cli-abort"), partitions=1)
    produce_sync(broker.bootstrap, topic,
                 [{"value": f"plain-{i}".encode(), "partition": 0} for i in range(2)])
    transactional_id, producer_id, epoch = new_transactional_producer(conn)
    batch = raw.producer_batch([b"hanging"], producer_id, epoch, base_sequence=0)
    body = conn.call(raw.transactional_produce_request_v7, transactional_id=transactional_id,
                     topic=topic, partition=0, batch=batch)
    assert raw.parse_produce_v7(body)[(topic, 0)][0] == NONE
    produce_sync(broker.bootstrap, topic,
                 [{"value": f"after-{i}".encode(), "partition": 0} for i in range(2)])

    assert high_watermark(broker.bootstrap, topic) == 5
    assert last_stable_offset(broker.bootstrap, topic) == 2, "the batch does not hold the LSO"
    read = values_by_partition(read_to_end(broker.bootstrap, [(topic, 0)]))
    assert read[(topic, 0)] == ["plain-0", "plain-1"]
    return topic, producer_id, epoch


def assert_aborted(broker, topic):
    """The LSO is past the batch and its ABORT marker; read_committed skips the batch."""
    wait_until(lambda: last_stable_offset(broker.bootstrap, topic) == 6, LSO_TIMEOUT_S,
               "the last stable offset to pass the aborted batch and its marker (6)")
    assert high_watermark(broker.bootstrap, topic) == 6
    read = values_by_partition(read_to_end(broker.bootstrap, [(topic, 0)]))
    assert read[(topic, 0)] == ["plain-0", "plain-1", "after-0", "after-1"]
    read = values_by_partition(read_to_end(broker.bootstrap, [(topic, 0)],
                                           isolation="read_uncommitted"))
    assert read[(topic, 0)] == ["plain-0", "plain-1", "hanging", "after-0", "after-1"]
    _, out = producer_rows(broker, topic)
    assert "No open transactions." in out


def test_abort_by_start_offset(broker, conn):
    topic, producer_id, epoch = hanging_topic(broker, conn)
    rows, _ = producer_rows(broker, topic)
    assert [(int(row["producer_id"]), row["txn_start_offset"]) for row in rows] == \
        [(producer_id, "2")]

    unknown = txn_cli(broker, "abort", "--topic", topic, "--partition", "0",
                      "--start-offset", "1")
    assert unknown.returncode == 1, unknown
    line = error_line(unknown)
    assert f"no open transaction starts at offset 1 on {topic}:0" in line
    assert f"a transaction is open at offset 2 (producer {producer_id})" in line
    assert last_stable_offset(broker.bootstrap, topic) == 2, "a failed abort changed the log"

    out = txn_ok(broker, "abort", "--topic", topic, "--partition", "0", "--start-offset", "2")
    assert out == (f"Aborted the transaction of producer {producer_id} (epoch {epoch}) on "
                   f"{topic}:0 that started at offset 2 (ABORT marker written, coordinator "
                   f"epoch 0)\n")
    assert_aborted(broker, topic)

    again = txn_cli(broker, "abort", "--topic", topic, "--partition", "0", "--start-offset", "2")
    assert again.returncode == 1
    assert "no transaction is open there" in error_line(again)


def test_abort_by_producer_id_and_epoch(broker, conn):
    topic, producer_id, epoch = hanging_topic(broker, conn)
    stale = txn_cli(broker, "abort", "--topic", topic, "--partition", "0",
                    "--producer-id", str(producer_id), "--producer-epoch", str(epoch + 1))
    assert stale.returncode == 1
    assert (f"producer {producer_id} has epoch {epoch} on {topic}:0, not {epoch + 1}"
            in error_line(stale))

    out = txn_ok(broker, "abort", "--topic", topic, "--partition", "0",
                 "--producer-id", str(producer_id), "--producer-epoch", str(epoch))
    assert f"Aborted the transaction of producer {producer_id} (epoch {epoch})" in out
    assert_aborted(broker, topic)


def test_abort_needs_one_way_to_name_the_transaction(broker):
    neither = txn_cli(broker, "abort", "--topic", "t", "--partition", "0")
    assert neither.returncode == 2
    assert "name the transaction to abort" in error_line(neither)
    both = txn_cli(broker, "abort", "--topic", "t", "--partition", "0", "--start-offset", "3",
                   "--producer-id", "1", "--producer-epoch", "0")
    assert both.returncode == 2
    epoch_only = txn_cli(broker, "abort", "--topic", "t", "--partition", "0",
                         "--producer-id", "1")
    assert epoch_only.returncode == 2
    missing = txn_cli(broker, "abort", "--topic", "no-such-topic", "--partition", "0",
                      "--start-offset", "0")
    assert missing.returncode == 1
    assert "topic 'no-such-topic' does not exist" in error_line(missing)
