"""Bad input to the transaction coordinator on raw frames (kafka_raw.py): every case gets
the error code Apache Kafka's TransactionCoordinator and KafkaApis answer with, and at the
end a read_committed consumer (confluent-kafka) reads exactly the committed records and a
real transactional producer still works.

Kafka's answers, from TransactionCoordinator.handleAddPartitionsToTransaction /
endTransaction and KafkaApis:
- no metadata for the transactional id, or another producer id: INVALID_PRODUCER_ID_MAPPING;
- an epoch other than the current one: PRODUCER_FENCED, which KafkaApis turns into
  INVALID_PRODUCER_EPOCH for AddPartitionsToTxn, AddOffsetsToTxn and EndTxn below v2 (older
  clients do not know PRODUCER_FENCED);
- an empty transactional id: INVALID_REQUEST in every call;
- EndTxn in state Empty, or a commit once the abort completed: INVALID_TXN_STATE;
- a transaction timeout <= 0 or above transaction.max.timeout.ms: INVALID_TRANSACTION_TIMEOUT;
- AddPartitionsToTxn naming a topic or partition that does not exist:
  UNKNOWN_TOPIC_OR_PARTITION for those, OPERATION_NOT_ATTEMPTED for the rest;
- TxnOffsetCommit from a member with a stale generation: ILLEGAL_GENERATION.

A transactional Produce to a partition the transaction never added: Kafka before 3.6 (without
KIP-890's verification) appends it, and so does Fjord; see
test_transactional_produce_to_a_partition_that_was_not_added.
"""

import pytest
from confluent_kafka import Producer

import kafka_raw as raw
from conftest import Broker, unique_topic, wait_until
from fjord_helpers import create_topic
from group_helpers import fetch_offsets, find_coordinator, form_single_member_group
from txn_helpers import high_watermark, last_stable_offset, read_to_end, values_by_partition

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
ILLEGAL_GENERATION = 22
INVALID_REQUEST = 42
UNKNOWN_MEMBER_ID = 25
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_PRODUCER_ID_MAPPING = 49
INVALID_TRANSACTION_TIMEOUT = 50
CONCURRENT_TRANSACTIONS = 51
OPERATION_NOT_ATTEMPTED = 55
PRODUCER_FENCED = 90

# Kafka's default transaction.max.timeout.ms (15 minutes).
MAX_TRANSACTION_TIMEOUT_MS = 900000
TRANSACTION_TIMEOUT_MS = 60000
# What clients retry: the coordinator is loading or moving, or a transition is in flight.
RETRIABLE = (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
             CONCURRENT_TRANSACTIONS)
RETRY_TIMEOUT_S = 30
PARTITIONS = 2


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    root = tmp_path_factory.mktemp("fjord-txn-bad")
    broker = Broker(root / "data", root / "logs", {"group.initial.rebalance.delay.ms": 0})
    broker.start()
    yield broker
    if broker.proc is not None:
        broker.stop_ok()


@pytest.fixture(scope="module")
def topic(node):
    return create_topic(node.bootstrap, unique_topic("txnbad"), partitions=PARTITIONS)


@pytest.fixture
def conn(node):
    connection = raw.Connection(node.bootstrap)
    yield connection
    connection.close()


# ------------------------------------------------------------------ request helpers

def settled(call, what):
    """Repeats call() while it answers a retriable error, as clients do; returns the last
    answer (an error code, or a dict of them)."""
    answer = {}

    def done():
        answer["last"] = call()
        codes = answer["last"].values() if isinstance(answer["last"], dict) else [answer["last"]]
        return not any(code in RETRIABLE for code in codes)

    wait_until(done, RETRY_TIMEOUT_S, f"{what} to stop answering retriable errors "
                                      f"(last {answer.get('last')})")
    return answer["last"]


def find_txn_coordinator(conn, transactional_id):
    def found():
        body = conn.call(raw.find_coordinator_request_v2, key=transactional_id,
                         key_type=raw.COORDINATOR_TRANSACTION)
        return raw.parse_find_coordinator_v2(body)[0] == NONE

    wait_until(found, RETRY_TIMEOUT_S, f"the coordinator of {transactional_id}")


def init_producer_id(conn, transactional_id, timeout_ms=TRANSACTION_TIMEOUT_MS):
    """-> (error, producer_id, producer_epoch), retried while retriable."""
    answer = {}

    def call():
        body = conn.call(raw.init_producer_id_request, transactional_id=transactional_id,
                         transaction_timeout_ms=timeout_ms)
        answer["last"] = raw.parse_init_producer_id(body)
        return answer["last"][0]

    settled(call, f"InitProducerId of {transactional_id}")
    return answer["last"]


def new_transactional_producer(conn, transactional_id=None):
    """A transactional id with a producer id: -> (transactional_id, producer_id, epoch)."""
    transactional_id = transactional_id or unique_topic("txn")
    find_txn_coordinator(conn, transactional_id)
    error, producer_id, epoch = init_producer_id(conn, transactional_id)
    assert error == NONE, f"InitProducerId of {transactional_id}: error {error}"
    assert producer_id >= 0 and epoch >= 0
    return transactional_id, producer_id, epoch


def add_partitions(conn, transactional_id, producer_id, epoch, partitions, version=1):
    return settled(lambda: raw.parse_add_partitions_to_txn(conn.call(
        raw.add_partitions_to_txn_request, transactional_id=transactional_id,
        producer_id=producer_id, producer_epoch=epoch, partitions=partitions,
        version=version)), f"AddPartitionsToTxn v{version}")


def add_offsets(conn, transactional_id, producer_id, epoch, group, version=1):
    return settled(lambda: raw.parse_error_only(conn.call(
        raw.add_offsets_to_txn_request, transactional_id=transactional_id,
        producer_id=producer_id, producer_epoch=epoch, group_id=group, version=version)),
        f"AddOffsetsToTxn v{version}")


def end_txn(conn, transactional_id, producer_id, epoch, committed, version=1):
    return settled(lambda: raw.parse_error_only(conn.call(
        raw.end_txn_request, transactional_id=transactional_id, producer_id=producer_id,
        producer_epoch=epoch, committed=committed, version=version)),
        f"EndTxn v{version} ({'commit' if committed else 'abort'})")


def produce_in_txn(conn, transactional_id, producer_id, epoch, topic, partition, values,
                   base_sequence=0):
    """One transactional batch; -> the partition's error code."""
    batch = raw.producer_batch([v.encode() for v in values], producer_id, epoch, base_sequence)
    body = conn.call(raw.transactional_produce_request_v7, transactional_id=transactional_id,
                     topic=topic, partition=partition, batch=batch)
    return raw.parse_produce_v7(body)[(topic, partition)][0]


def begin_with_records(conn, topic, values, partition=0):
    """A transaction that added `partition` and wrote `values` to it (left open)."""
    transactional_id, producer_id, epoch = new_transactional_producer(conn)
    added = add_partitions(conn, transactional_id, producer_id, epoch, {topic: [partition]})
    assert added == {(topic, partition): NONE}
    error = produce_in_txn(conn, transactional_id, producer_id, epoch, topic, partition, values)
    assert error == NONE, f"transactional produce: error {error}"
    return transactional_id, producer_id, epoch


# ------------------------------------------------------------------ unknown ids and fencing

def test_requests_for_an_unknown_transactional_id(conn, topic):
    transactional_id = unique_topic("never-initialised")
    find_txn_coordinator(conn, transactional_id)
    assert end_txn(conn, transactional_id, 4242, 0, committed=True) == \
        INVALID_PRODUCER_ID_MAPPING
    assert add_partitions(conn, transactional_id, 4242, 0, {topic: [0]}) == \
        {(topic, 0): INVALID_PRODUCER_ID_MAPPING}
    assert add_offsets(conn, transactional_id, 4242, 0, "some-group") == \
        INVALID_PRODUCER_ID_MAPPING


def test_requests_with_another_producer_id(conn, topic):
    transactional_id, producer_id, epoch = new_transactional_producer(conn)
    wrong = producer_id + 1
    assert add_partitions(conn, transactional_id, wrong, epoch, {topic: [0]}) == \
        {(topic, 0): INVALID_PRODUCER_ID_MAPPING}
    assert add_offsets(conn, transactional_id, wrong, epoch, "some-group") == \
        INVALID_PRODUCER_ID_MAPPING
    assert end_txn(conn, transactional_id, wrong, epoch, committed=True) == \
        INVALID_PRODUCER_ID_MAPPING
    # The real producer id still works: nothing was added, so there is nothing to end.
    assert add_partitions(conn, transactional_id, producer_id, epoch, {topic: [0]}) == \
        {(topic, 0): NONE}
    assert end_txn(conn, transactional_id, producer_id, epoch, committed=False) == NONE


@pytest.mark.parametrize("version,expected", [(1, INVALID_PRODUCER_EPOCH), (2, PRODUCER_FENCED)])
def test_the_old_epoch_is_fenced_after_a_second_init(conn, topic, version, expected):
    transactional_id, producer_id, old_epoch = new_transactional_producer(conn)
    error, same_id, new_epoch = init_producer_id(conn, transactional_id)
    assert error == NONE
    assert same_id == producer_id, "a re-init of an Empty transaction keeps the producer id"
    assert new_epoch == old_epoch + 1
    assert add_partitions(conn, transactional_id, producer_id, old_epoch, {topic: [0]},
                          version=version) == {(topic, 0): expected}
    assert add_offsets(conn, transactional_id, producer_id, old_epoch, "some-group",
                       version=version) == expected
    assert end_txn(conn, transactional_id, producer_id, old_epoch, committed=True,
                   version=version) == expected
    # A newer epoch than the coordinator's is no better.
    assert end_txn(conn, transactional_id, producer_id, new_epoch + 1, committed=True,
                   version=version) == expected


def test_an_empty_transactional_id_is_an_invalid_request(node, conn):
    topic = create_topic(node.bootstrap, unique_topic("txn-empty-id"), partitions=1)
    find_txn_coordinator(conn, "")
    error, producer_id, _ = init_producer_id(conn, "")
    assert (error, producer_id) == (INVALID_REQUEST, -1)
    # Kafka's coordinator refuses an empty id before looking it up, in every call
    # (unknown topics are answered before the coordinator is asked).
    assert add_partitions(conn, "", 1, 0, {topic: [0]}) == {(topic, 0): INVALID_REQUEST}
    assert add_offsets(conn, "", 1, 0, "some-group") == INVALID_REQUEST
    assert end_txn(conn, "", 1, 0, committed=True) == INVALID_REQUEST


def test_a_fenced_producer_cannot_write_to_its_aborted_transaction(node, conn):
    """A second InitProducerId aborts the open transaction (a marker with the new epoch on
    its partitions); a batch of the old epoch is then refused by the partition, as Kafka's
    producer state refuses it (INVALID_PRODUCER_EPOCH since KIP-588)."""
    fenced_topic = create_topic(node.bootstrap, unique_topic("txn-fenced"), partitions=1)
    transactional_id, producer_id, old_epoch = begin_with_records(conn, fenced_topic, ["first"])
    error, _, new_epoch = init_producer_id(conn, transactional_id)
    # Kafka fences with epoch + 1 (the abort's) and hands out epoch + 2.
    assert error == NONE and new_epoch == old_epoch + 2
    assert produce_in_txn(conn, transactional_id, producer_id, old_epoch, fenced_topic, 0,
                          ["late"], base_sequence=1) == INVALID_PRODUCER_EPOCH
    wait_until(lambda: last_stable_offset(node.bootstrap, fenced_topic) ==
               high_watermark(node.bootstrap, fenced_topic), 30, "the abort marker")
    assert values_by_partition(read_to_end(node.bootstrap, [(fenced_topic, 0)])) == \
        {(fenced_topic, 0): []}


# ------------------------------------------------------------------ state machine

@pytest.mark.parametrize("committed", [True, False], ids=["commit", "abort"])
def test_end_txn_without_any_partition(conn, committed):
    transactional_id, producer_id, epoch = new_transactional_producer(conn)
    assert end_txn(conn, transactional_id, producer_id, epoch, committed) == INVALID_TXN_STATE


def test_commit_after_the_abort_completed(conn, topic):
    transactional_id, producer_id, epoch = begin_with_records(conn, topic, ["aborted-1"])
    assert end_txn(conn, transactional_id, producer_id, epoch, committed=False) == NONE
    # A retried abort succeeds once it has completed (CompleteAbort); a commit does not.
    assert end_txn(conn, transactional_id, producer_id, epoch, committed=False) == NONE
    assert end_txn(conn, transactional_id, producer_id, epoch, committed=True) == \
        INVALID_TXN_STATE


@pytest.mark.parametrize("timeout_ms", [0, -1, MAX_TRANSACTION_TIMEOUT_MS + 1, 2**31 - 1])
def test_init_with_an_invalid_transaction_timeout(conn, timeout_ms):
    transactional_id = unique_topic("bad-timeout")
    find_txn_coordinator(conn, transactional_id)
    error, producer_id, _ = init_producer_id(conn, transactional_id, timeout_ms=timeout_ms)
    assert error == INVALID_TRANSACTION_TIMEOUT
    assert producer_id == -1


def test_init_with_the_largest_transaction_timeout(conn):
    transactional_id = unique_topic("max-timeout")
    find_txn_coordinator(conn, transactional_id)
    error, producer_id, _ = init_producer_id(conn, transactional_id,
                                             timeout_ms=MAX_TRANSACTION_TIMEOUT_MS)
    assert error == NONE
    assert producer_id >= 0


def test_add_partitions_with_an_unknown_topic_or_partition(conn, topic):
    transactional_id, producer_id, epoch = new_transactional_producer(conn)
    missing = unique_topic("missing")
    answer = add_partitions(conn, transactional_id, producer_id, epoch,
                            {topic: [0, 1, PARTITIONS + 7], missing: [0]})
    assert answer == {(topic, 0): OPERATION_NOT_ATTEMPTED, (topic, 1): OPERATION_NOT_ATTEMPTED,
                      (topic, PARTITIONS + 7): UNKNOWN_TOPIC_OR_PARTITION,
                      (missing, 0): UNKNOWN_TOPIC_OR_PARTITION}
    # Nothing was added: the transaction is still Empty.
    assert end_txn(conn, transactional_id, producer_id, epoch, committed=True) == \
        INVALID_TXN_STATE


# ------------------------------------------------------------------ offsets in a transaction

def txn_offset_commit(conn, transactional_id, group, producer_id, epoch, generation, member_id,
                      offsets):
    def call():
        conn.send(raw.txn_offset_commit_request_v3(
            conn.next_id(), transactional_id, group, producer_id, epoch, generation, member_id,
            offsets))
        _, body = conn.recv_response(flexible_header=True)
        return raw.parse_txn_offset_commit_v3(body)

    return settled(call, "TxnOffsetCommit v3")


def test_txn_offset_commit_from_a_stale_generation_or_an_unknown_member(node, conn, topic):
    group = unique_topic("txn-group")
    generation, member_id = form_single_member_group(conn, group, topic, PARTITIONS)
    transactional_id, producer_id, epoch = new_transactional_producer(conn)
    assert add_offsets(conn, transactional_id, producer_id, epoch, group) == NONE
    offsets = {(topic, 0): 5}
    assert txn_offset_commit(conn, transactional_id, group, producer_id, epoch, generation - 1,
                             member_id, offsets) == {(topic, 0): ILLEGAL_GENERATION}
    assert txn_offset_commit(conn, transactional_id, group, producer_id, epoch, generation,
                             "no-such-member", offsets) == {(topic, 0): UNKNOWN_MEMBER_ID}
    assert txn_offset_commit(conn, transactional_id, group, producer_id, epoch, generation,
                             member_id, offsets) == {(topic, 0): NONE}
    assert end_txn(conn, transactional_id, producer_id, epoch, committed=False) == NONE
    # The aborted offset never becomes the group's committed offset.
    find_coordinator(conn, group)
    error, committed = fetch_offsets(conn, group, {topic: [0]})
    assert error == NONE
    assert committed[(topic, 0)][0] == -1, f"aborted transactional offset visible: {committed}"


# ------------------------------------------------------------------ what consumers see

def test_transactional_produce_to_a_partition_that_was_not_added(node, conn):
    """Kafka before 3.6 appends a transactional batch for a partition the coordinator does
    not know (KIP-890 added the check), and so does Fjord: EndTxn then writes no marker
    there, so the batch stays an open ("hanging") transaction that holds the partition's
    last stable offset back (`fjord txn producers` shows it)."""
    stray_topic = create_topic(node.bootstrap, unique_topic("txn-stray"), partitions=2)
    transactional_id, producer_id, epoch = new_transactional_producer(conn)
    assert add_partitions(conn, transactional_id, producer_id, epoch, {stray_topic: [0]}) == \
        {(stray_topic, 0): NONE}
    assert produce_in_txn(conn, transactional_id, producer_id, epoch, stray_topic, 1,
                          ["stray"]) == NONE
    assert produce_in_txn(conn, transactional_id, producer_id, epoch, stray_topic, 0,
                          ["added"]) == NONE
    assert end_txn(conn, transactional_id, producer_id, epoch, committed=True) == NONE

    # Partition 0 got its marker: the record is committed and visible.
    wait_until(lambda: last_stable_offset(node.bootstrap, stray_topic, 0) == 2, 30,
               "the commit marker on partition 0")
    read = values_by_partition(read_to_end(node.bootstrap, [(stray_topic, 0)]))
    assert read[(stray_topic, 0)] == ["added"]
    # Partition 1 did not: its last stable offset stays at the stray batch.
    assert high_watermark(node.bootstrap, stray_topic, 1) == 1
    assert last_stable_offset(node.bootstrap, stray_topic, 1) == 0


def test_zz_read_committed_sees_exactly_the_committed_records(node, conn):
    """After aborted, fenced and refused transactions on one partition, a read_committed
    consumer gets only the committed records, and a real transactional producer works."""
    eos_topic = create_topic(node.bootstrap, unique_topic("txn-visible"), partitions=1)

    aborted = begin_with_records(conn, eos_topic, ["aborted-1", "aborted-2"])
    assert end_txn(conn, *aborted, committed=False) == NONE
    committed = begin_with_records(conn, eos_topic, ["committed-1"])
    transactional_id, producer_id, epoch = committed
    assert end_txn(conn, transactional_id, producer_id + 1, epoch, committed=True) == \
        INVALID_PRODUCER_ID_MAPPING
    assert end_txn(conn, transactional_id, producer_id, epoch, committed=True) == NONE

    fenced_id, fenced_producer, fenced_epoch = begin_with_records(conn, eos_topic, ["fenced-1"])
    # A second InitProducerId aborts the open transaction and bumps the epoch.
    error, _, new_epoch = init_producer_id(conn, fenced_id)
    assert error == NONE and new_epoch > fenced_epoch
    assert end_txn(conn, fenced_id, fenced_producer, fenced_epoch, committed=True,
                   version=2) == PRODUCER_FENCED

    producer = Producer({"bootstrap.servers": node.bootstrap,
                         "transactional.id": unique_topic("real-producer")})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(eos_topic, value=b"final-1", partition=0)
    producer.produce(eos_topic, value=b"final-2", partition=0)
    producer.commit_transaction(30)

    read = values_by_partition(read_to_end(node.bootstrap, [(eos_topic, 0)]))
    assert read[(eos_topic, 0)] == ["committed-1", "final-1", "final-2"]
    # No transaction is left open on the partition.
    assert last_stable_offset(node.bootstrap, eos_topic) == high_watermark(node.bootstrap,
                                                                          eos_topic)
