"""Transactions (KIP-98) with confluent-kafka (librdkafka 2.0.2): commit and abort across
topics and partitions, what read_committed and read_uncommitted consumers see, offsets
committed in a transaction, fencing of a second producer with the same transactional id,
the broker aborting a transaction that outlives its timeout, and the last stable offset
holding read_committed consumers at an open transaction.

Client settings are librdkafka defaults except the transactional id (and the timeout where
a test says so). The LSO and high watermark come from raw ListOffsets with each isolation
level (txn_helpers), since librdkafka's watermarks do not show the LSO.
"""

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from conftest import unique_topic, wait_until
from fjord_helpers import create_topic, new_consumer, new_producer, produce_sync
from txn_helpers import (high_watermark, last_stable_offset, read_to_end,
                         values_by_partition)

TXN_TIMEOUT_S = 60  # each transactional call; the first one creates __transaction_state
PARTITIONS = 3
FENCED_CODES = (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH)


def transactional_producer(bootstrap, transactional_id=None, **conf):
    settings = {"transactional.id": transactional_id or unique_topic("txn-id")}
    settings.update(conf)
    producer = new_producer(bootstrap, **settings)
    producer.init_transactions(TXN_TIMEOUT_S)
    return producer


def produce_in_transaction(producer, values_by_tp, commit):
    """One transaction writing values_by_tp {(topic, partition): [value]}, interleaved."""
    producer.begin_transaction()
    longest = max(len(values) for values in values_by_tp.values())
    for i in range(longest):
        for (topic, partition), values in values_by_tp.items():
            if i < len(values):
                producer.produce(topic, partition=partition, value=values[i])
    end_transaction(producer, commit)


def end_transaction(producer, commit):
    if commit:
        producer.commit_transaction(TXN_TIMEOUT_S)
        return
    # librdkafka purges what it has not sent yet on abort: flush first, so that the aborted
    # records are in the log (where read_committed must skip them).
    assert producer.flush(TXN_TIMEOUT_S) == 0
    producer.abort_transaction(TXN_TIMEOUT_S)


def tagged(tag, partitions, count):
    return {tp: [f"{tag}-{tp[0]}-{tp[1]}-{i}" for i in range(count)] for tp in partitions}


def test_commit_and_abort_across_topics_and_partitions(broker):
    topics = [create_topic(broker.bootstrap, unique_topic(f"txn-{n}"), partitions=PARTITIONS)
              for n in ("a", "b")]
    partitions = [(t, p) for t in topics for p in range(PARTITIONS)]
    producer = transactional_producer(broker.bootstrap)
    committed_first = tagged("c1", partitions, 10)
    aborted = tagged("ab", partitions, 10)
    committed_second = tagged("c2", partitions, 10)
    produce_in_transaction(producer, committed_first, commit=True)
    produce_in_transaction(producer, aborted, commit=False)
    produce_in_transaction(producer, committed_second, commit=True)

    for topic, partition in partitions:
        # 30 records and one COMMIT/ABORT marker per transaction; nothing left open.
        assert high_watermark(broker.bootstrap, topic, partition) == 33
        assert last_stable_offset(broker.bootstrap, topic, partition) == 33
    committed = values_by_partition(read_to_end(broker.bootstrap, partitions))
    assert committed == {tp: committed_first[tp] + committed_second[tp] for tp in partitions}
    uncommitted = values_by_partition(
        read_to_end(broker.bootstrap, partitions, isolation="read_uncommitted"))
    assert uncommitted == {tp: committed_first[tp] + aborted[tp] + committed_second[tp]
                           for tp in partitions}


def test_offsets_sent_to_a_transaction(broker):
    source = create_topic(broker.bootstrap, unique_topic("txn-in"))
    sink = create_topic(broker.bootstrap, unique_topic("txn-out"))
    produce_sync(broker.bootstrap, source, [{"value": f"in-{i}"} for i in range(10)])
    group = unique_topic("txn-group")
    consumer = new_consumer(broker.bootstrap, group_id=group)
    producer = transactional_producer(broker.bootstrap)
    source_partition = TopicPartition(source, 0)

    def commit_offset(offset, commit):
        producer.begin_transaction()
        producer.produce(sink, value=f"for-offset-{offset}")
        producer.send_offsets_to_transaction([TopicPartition(source, 0, offset)],
                                             consumer.consumer_group_metadata(), TXN_TIMEOUT_S)
        end_transaction(producer, commit)

    def committed_offset(reader):
        return reader.committed([source_partition], timeout=30)[0].offset

    try:
        commit_offset(5, commit=True)
        assert committed_offset(consumer) == 5
        commit_offset(8, commit=False)
        assert committed_offset(consumer) == 5
        commit_offset(7, commit=True)
        assert committed_offset(consumer) == 7
    finally:
        consumer.close()
    other_member = new_consumer(broker.bootstrap, group_id=group)
    try:
        assert committed_offset(other_member) == 7
    finally:
        other_member.close()
    assert values_by_partition(read_to_end(broker.bootstrap, [(sink, 0)])) == {
        (sink, 0): ["for-offset-5", "for-offset-7"]}


def test_second_producer_with_the_same_id_fences_the_first(broker):
    topic = create_topic(broker.bootstrap, unique_topic("txn-fence"))
    transactional_id = unique_topic("txn-fenced-id")
    zombie = transactional_producer(broker.bootstrap, transactional_id)
    zombie.begin_transaction()
    zombie.produce(topic, partition=0, value="zombie")
    assert zombie.flush(TXN_TIMEOUT_S) == 0

    # Its init aborts the zombie's open transaction and bumps the epoch.
    successor = transactional_producer(broker.bootstrap, transactional_id)
    with pytest.raises(KafkaException) as failure:
        zombie.commit_transaction(TXN_TIMEOUT_S)
    error = failure.value.args[0]
    assert error.fatal(), f"fencing must be fatal: {error}"
    assert error.code() in FENCED_CODES, error

    produce_in_transaction(successor, {(topic, 0): ["successor"]}, commit=True)
    assert values_by_partition(read_to_end(broker.bootstrap, [(topic, 0)])) == {
        (topic, 0): ["successor"]}
    assert values_by_partition(read_to_end(broker.bootstrap, [(topic, 0)],
                                           isolation="read_uncommitted")) == {
        (topic, 0): ["zombie", "successor"]}


def test_open_transaction_holds_read_committed_at_its_first_offset(broker):
    topic = create_topic(broker.bootstrap, unique_topic("txn-lso"))
    producer = transactional_producer(broker.bootstrap)
    producer.begin_transaction()
    for i in range(3):
        producer.produce(topic, partition=0, value=f"open-{i}")
    assert producer.flush(TXN_TIMEOUT_S) == 0
    produce_sync(broker.bootstrap, topic, [{"value": f"plain-{i}", "partition": 0}
                                          for i in range(2)])

    assert high_watermark(broker.bootstrap, topic) == 5
    assert last_stable_offset(broker.bootstrap, topic) == 0
    assert read_to_end(broker.bootstrap, [(topic, 0)]) == {(topic, 0): []}
    everything = ["open-0", "open-1", "open-2", "plain-0", "plain-1"]
    assert values_by_partition(read_to_end(broker.bootstrap, [(topic, 0)],
                                           isolation="read_uncommitted")) == {
        (topic, 0): everything}

    producer.commit_transaction(TXN_TIMEOUT_S)
    assert high_watermark(broker.bootstrap, topic) == 6
    assert last_stable_offset(broker.bootstrap, topic) == 6
    assert values_by_partition(read_to_end(broker.bootstrap, [(topic, 0)])) == {
        (topic, 0): everything}


@pytest.mark.fjord_timeout(180)
def test_broker_aborts_a_transaction_past_its_timeout(broker_factory):
    node = broker_factory({"transaction.abort.timed.out.transaction.cleanup.interval.ms": "500"})
    topic = create_topic(node.bootstrap, unique_topic("txn-timeout"))
    producer = transactional_producer(node.bootstrap, transaction_timeout_ms=5000)
    producer.begin_transaction()
    for i in range(3):
        producer.produce(topic, partition=0, value=f"forgotten-{i}")
    assert producer.flush(TXN_TIMEOUT_S) == 0
    assert last_stable_offset(node.bootstrap, topic) == 0

    # The coordinator aborts it: an ABORT marker at offset 3, and the LSO passes it.
    wait_until(lambda: last_stable_offset(node.bootstrap, topic) == 4, 60,
               "the broker to abort the timed-out transaction")
    assert high_watermark(node.bootstrap, topic) == 4
    with pytest.raises(KafkaException):
        producer.commit_transaction(TXN_TIMEOUT_S)  # the transaction is gone; never committed

    produce_sync(node.bootstrap, topic, [{"value": "later", "partition": 0}])
    assert last_stable_offset(node.bootstrap, topic) == 5
    assert values_by_partition(read_to_end(node.bootstrap, [(topic, 0)])) == {
        (topic, 0): ["later"]}
