"""A consume-transform-produce app for test_txn_exactly_once.py (confluent-kafka).

Reads the input topic read_committed from the group's committed offsets (assigned, not
subscribed, so a killed instance leaves no member behind), and for each batch of records
runs one transaction: copy each record to the same partition of the output topic, send the
consumed positions to the transaction for the group, commit. After each commit it prints a
JSON line {"event": "committed", "offsets": {partition: next offset}}.

Any error ends the process with exit code 3: the test restarts it, and the new instance's
init_transactions fences this one and aborts whatever it left open. That is the recovery
under test, so the app does none of its own.

Usage: eos_app.py '{"bootstrap": ..., "input": ..., "output": ..., "partitions": n,
                    "group": ..., "transactional_id": ..., "batch": n}'
"""

import faulthandler
import json
import signal
import sys

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

CALL_TIMEOUT_S = 20


def emit(event):
    print(json.dumps(event), flush=True)


def start_positions(consumer, topic, partitions):
    committed = consumer.committed([TopicPartition(topic, p) for p in range(partitions)],
                                   timeout=CALL_TIMEOUT_S)
    for tp in committed:
        if tp.error is not None:  # e.g. still unstable: starting anywhere would copy twice
            raise RuntimeError(f"committed offset of partition {tp.partition}: {tp.error}")
    return [TopicPartition(topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
            for tp in committed]


def run(args):
    producer = Producer({"bootstrap.servers": args["bootstrap"],
                         "transactional.id": args["transactional_id"]})
    # First, so that the previous instance's open transaction (and its pending offsets) is
    # aborted before this one reads the committed offsets.
    producer.init_transactions(CALL_TIMEOUT_S)
    consumer = Consumer({"bootstrap.servers": args["bootstrap"], "group.id": args["group"],
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    positions = start_positions(consumer, args["input"], args["partitions"])
    consumer.assign(positions)
    emit({"event": "started", "offsets": {tp.partition: tp.offset for tp in positions}})
    while True:
        messages = consumer.consume(num_messages=args["batch"], timeout=0.5)
        for message in messages:
            if message.error() is not None:
                raise RuntimeError(f"consumer error: {message.error()}")
        if not messages:
            continue
        producer.begin_transaction()
        for message in messages:
            producer.produce(args["output"], partition=message.partition(), key=message.key(),
                             value=message.value())
        consumed = [tp for tp in consumer.position(consumer.assignment()) if tp.offset >= 0]
        producer.send_offsets_to_transaction(consumed, consumer.consumer_group_metadata(),
                                             CALL_TIMEOUT_S)
        producer.commit_transaction(CALL_TIMEOUT_S)
        emit({"event": "committed", "offsets": {tp.partition: tp.offset for tp in consumed}})


def main():
    faulthandler.register(signal.SIGUSR1)  # the test asks for the stacks of a stalled app
    try:
        run(json.loads(sys.argv[1]))
    except Exception as error:  # the test restarts the app; see the module docstring
        print(f"eos_app: {error!r}", file=sys.stderr, flush=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
