"""Shared confluent_kafka (librdkafka) helpers: topics, synchronous produce, bounded consume.

Every helper has a deadline and fails the test with a message instead of blocking.
Client settings are librdkafka defaults except what a helper needs to work at all
(group.id for a consumer, explicit assignment).
"""

import time
import uuid

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ADMIN_TIMEOUT_S = 30
PRODUCE_TIMEOUT_S = 60
CONSUME_TIMEOUT_S = 60


def admin_client(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def create_topic(bootstrap, name, partitions=1, config=None):
    """Creates a topic with the admin API and waits until every partition has a leader."""
    admin = admin_client(bootstrap)  # must outlive its futures
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})],
        operation_timeout=ADMIN_TIMEOUT_S, request_timeout=ADMIN_TIMEOUT_S)
    futures[name].result(timeout=ADMIN_TIMEOUT_S)
    wait_for_leaders(bootstrap, name, partitions)
    return name


def wait_for_leaders(bootstrap, topic, partitions, timeout_s=ADMIN_TIMEOUT_S):
    admin = admin_client(bootstrap)
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        metadata = admin.list_topics(topic=topic, timeout=10)
        last = metadata.topics.get(topic)
        if (last is not None and last.error is None and len(last.partitions) == partitions
                and all(p.leader >= 0 for p in last.partitions.values())):
            return last
        time.sleep(0.1)
    pytest.fail(f"topic {topic} has no leaders for {partitions} partitions after "
                f"{timeout_s}s: {last and last.partitions}, error {last and last.error}")


def new_producer(bootstrap, **conf):
    settings = {"bootstrap.servers": bootstrap}
    settings.update({k.replace("_", "."): v for k, v in conf.items()})
    return Producer(settings)


def produce_sync(bootstrap, topic, messages, timeout_s=PRODUCE_TIMEOUT_S, **conf):
    """Produces messages (dicts of Producer.produce kwargs) and returns their delivery reports
    (confluent Message objects) in the order given. Fails on any delivery error."""
    producer = new_producer(bootstrap, **conf)
    reports = [None] * len(messages)
    errors = []

    def on_delivery(index):
        def callback(error, message):
            if error is not None:
                errors.append((index, error))
            reports[index] = message
        return callback

    for index, message in enumerate(messages):
        _produce_with_backpressure(producer, topic, message, on_delivery(index))
    remaining = producer.flush(timeout_s)
    assert remaining == 0, f"{remaining} messages not delivered within {timeout_s}s"
    assert not errors, f"delivery errors: {errors[:5]}"
    return reports


def _produce_with_backpressure(producer, topic, message, callback):
    deadline = time.monotonic() + PRODUCE_TIMEOUT_S
    while True:
        try:
            producer.produce(topic, on_delivery=callback, **message)
            producer.poll(0)
            return
        except BufferError:
            if time.monotonic() > deadline:
                raise
            producer.poll(0.1)


def new_consumer(bootstrap, **conf):
    settings = {
        "bootstrap.servers": bootstrap,
        "group.id": f"itest-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
    }
    settings.update({k.replace("_", "."): v for k, v in conf.items()})
    return Consumer(settings)


def consume(bootstrap, topic, partition=0, offset=OFFSET_BEGINNING, count=None,
            until_offset=None, timeout_s=CONSUME_TIMEOUT_S, **conf):
    """Reads one partition from `offset` until `count` messages or offset `until_offset`
    (exclusive) is reached. Fails on any consumer error or at the deadline."""
    consumer = new_consumer(bootstrap, **conf)
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])
        return read_messages(consumer, count=count, until_offset=until_offset,
                             timeout_s=timeout_s)
    finally:
        consumer.close()


def read_messages(consumer, count=None, until_offset=None, timeout_s=CONSUME_TIMEOUT_S):
    assert count is not None or until_offset is not None
    messages = []
    deadline = time.monotonic() + timeout_s

    def done():
        if count is not None and len(messages) >= count:
            return True
        return until_offset is not None and messages and messages[-1].offset() + 1 >= until_offset

    if until_offset is not None and count is None and until_offset <= 0:
        return messages
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"consumed {len(messages)} messages in {timeout_s}s, wanted "
                        f"count={count} until_offset={until_offset}; last offset "
                        f"{messages[-1].offset() if messages else None}")
        for message in consumer.consume(num_messages=500, timeout=0.5):
            error = message.error()
            assert error is None, f"consumer error: {error}"
            messages.append(message)
    return messages


def watermarks(bootstrap, topic, partition=0):
    consumer = new_consumer(bootstrap)
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    finally:
        consumer.close()


def kafka_error_code(exception):
    """The KafkaError code carried by a confluent KafkaException."""
    error = exception.args[0]
    assert isinstance(error, KafkaError), f"not a KafkaError: {exception!r}"
    return error.code()
