"""`fjord txn list|describe|producers` against a real broker, while a confluent-kafka
(librdkafka) transactional producer holds a transaction open and after it commits.

The CLI binary is FJORD_BIN.
"""

import os
import subprocess

import pytest
from confluent_kafka import Producer

from conftest import unique_topic, wait_until
from fjord_helpers import create_topic, produce_sync

CLI_TIMEOUT_S = 60
STATE_TIMEOUT_S = 30
PLAIN_RECORDS = 2  # written before the transaction, so that it starts at offset 2


def fjord(*args, timeout_s=CLI_TIMEOUT_S):
    from conftest import broker_binary
    env = dict(os.environ)
    env.pop("FJORD_BOOTSTRAP", None)
    return subprocess.run([broker_binary(), *args], capture_output=True, text=True, env=env,
                          timeout=timeout_s)


def txn_cli(broker, *args):
    return fjord("txn", *args, "-b", broker.bootstrap)


def txn_ok(broker, *args):
    result = txn_cli(broker, *args)
    assert result.returncode == 0, (
        f"fjord txn {' '.join(args)} exited with {result.returncode}\n"
        f"stdout: {result.stdout}\nstderr: {result.stderr}")
    return result.stdout


def error_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {result.stderr!r}"
    assert lines[0].startswith("fjord: "), lines[0]
    return lines[0]


def table(text, header_start):
    """The rows (lists of cells) of the table whose header starts with header_start."""
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


def listed(broker, *args):
    """{transactional id: (producer id, state)} of `fjord txn list`."""
    rows = table(txn_ok(broker, "list", *args), "TRANSACTIONAL-ID")
    return {row[0]: (int(row[1]), row[2]) for row in rows}


def described(broker, transactional_id):
    """{field: value} of `fjord txn describe`."""
    fields = {}
    for line in txn_ok(broker, "describe", transactional_id).splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    assert fields.get("Transactional id") == transactional_id, fields
    return fields


def producer_rows(broker, topic, *args):
    """(rows of `fjord txn producers` as dicts, the whole output)."""
    out = txn_ok(broker, "producers", "--topic", topic, *args)
    names = ["topic", "partition", "producer_id", "epoch", "last_sequence", "last_timestamp",
             "txn_start_offset"]
    return [dict(zip(names, row)) for row in table(out, "TOPIC")], out


@pytest.fixture(scope="module")
def open_transaction(broker):
    """A topic with 2 plain records on partition 0, then a transaction of a confluent
    producer that wrote 3 records to partition 0 and 1 to partition 1 and is still open."""
    topic = create_topic(broker.bootstrap, unique_topic("cli-txn"), partitions=2)
    produce_sync(broker.bootstrap, topic,
                 [{"value": f"plain-{i}".encode(), "partition": 0} for i in range(PLAIN_RECORDS)])
    transactional_id = unique_topic("cli-app")
    producer = Producer({"bootstrap.servers": broker.bootstrap,
                         "transactional.id": transactional_id, "transaction.timeout.ms": 300000})
    producer.init_transactions(30)
    producer.begin_transaction()
    for i in range(3):
        producer.produce(topic, value=f"txn-{i}".encode(), partition=0)
    producer.produce(topic, value=b"txn-p1", partition=1)
    assert producer.flush(30) == 0
    yield {"topic": topic, "id": transactional_id, "producer": producer}


def test_list_describe_and_producers_show_the_open_transaction(broker, open_transaction):
    topic, transactional_id = open_transaction["topic"], open_transaction["id"]

    transactions = listed(broker)
    assert transactional_id in transactions, transactions
    producer_id, state = transactions[transactional_id]
    assert state == "Ongoing"
    assert transactional_id in listed(broker, "--state", "ongoing")
    assert transactional_id not in listed(broker, "--state", "CompleteCommit")
    assert set(listed(broker, "--producer-id", str(producer_id))) == {transactional_id}

    fields = described(broker, transactional_id)
    assert fields["State"] == "Ongoing"
    assert fields["Producer"].startswith(f"id {producer_id}, epoch ")
    assert fields["Timeout"] == "300000 ms"
    assert fields["Started"].endswith(" ago)"), fields["Started"]
    assert fields["Partitions"] == f"{topic}:0,1"

    rows, out = producer_rows(broker, topic)
    by_partition = {int(row["partition"]): row for row in rows}
    assert set(by_partition) == {0, 1}, rows
    assert int(by_partition[0]["producer_id"]) == producer_id
    assert int(by_partition[0]["txn_start_offset"]) == PLAIN_RECORDS
    assert int(by_partition[0]["last_sequence"]) == 2
    assert int(by_partition[1]["txn_start_offset"]) == 0
    assert "2 partition(s) with open transactions" in out

    only_one, _ = producer_rows(broker, topic, "--partition", "1")
    assert [int(row["partition"]) for row in only_one] == [1]


def test_after_the_commit_no_transaction_is_open(broker, open_transaction):
    topic, transactional_id = open_transaction["topic"], open_transaction["id"]
    open_transaction["producer"].commit_transaction(30)

    wait_until(lambda: described(broker, transactional_id)["State"] == "CompleteCommit",
               STATE_TIMEOUT_S, f"{transactional_id} in state CompleteCommit")
    assert described(broker, transactional_id)["Partitions"] == "-"
    assert listed(broker)[transactional_id][1] == "CompleteCommit"

    rows, out = producer_rows(broker, topic)
    assert {row["txn_start_offset"] for row in rows} == {"-"}, rows
    assert "No open transactions." in out


def test_describe_an_unknown_transactional_id(broker, open_transaction):
    result = txn_cli(broker, "describe", "no-such-app", open_transaction["id"])
    assert result.returncode == 1
    assert error_line(result) == ("fjord: transactional id 'no-such-app' not found: see the "
                                  "transactions with 'fjord txn list'")
    assert f"Transactional id: {open_transaction['id']}" in result.stdout


def test_producers_of_an_unknown_topic_or_partition(broker, open_transaction):
    missing = txn_cli(broker, "producers", "--topic", "no-such-topic")
    assert missing.returncode == 1
    assert "topic 'no-such-topic' does not exist" in error_line(missing)
    beyond = txn_cli(broker, "producers", "--topic", open_transaction["topic"],
                     "--partition", "9")
    assert beyond.returncode == 2
    assert "has no partition 9: it has 2 (0 to 1)" in error_line(beyond)


def test_bad_arguments_and_an_unreachable_server(broker):
    state = txn_cli(broker, "list", "--state", "Committed")
    assert state.returncode == 2
    assert "unknown transaction state 'Committed'" in error_line(state)
    unreachable = fjord("txn", "list", "-b", "127.0.0.1:1", "--timeout-ms", "2000")
    assert unreachable.returncode == 1
    assert "cannot reach 127.0.0.1:1 (connection refused)" in error_line(unreachable)
