#!/usr/bin/python3
"""One group member in its own process, so that tests can kill -9 it.

    group_consumer.py confluent|kafka-python --bootstrap H:P --group G --topic T
        [--assignor NAME] [--session-timeout-ms N] [--instance-id ID] [--commit auto|sync]
        [--set key=value ...]   (extra client settings; kafka-python: dots become _)

Client settings are the client's defaults, except auto.offset.reset=earliest (tests produce
before members join) and what the options name. Prints one JSON object per line to stdout,
flushed at once, with `t` = time.time() where ordering matters:
  {"e": "start"}                                  client created and subscribed
  {"e": "assign", "parts": [p...], "t": ...}       from the assign callback (on entry)
  {"e": "revoke", "parts": [p...], "t": ...}       from the revoke callback (on exit)
  {"e": "lost", "parts": [p...], "t": ...}         partitions lost (confluent, cooperative)
  {"e": "rec", "p": p, "o": offset, "v": value}    a consumed record
  {"e": "commit", "offsets": {p: next_offset}}    a synchronous commit was acknowledged
  {"e": "error", "code": c, "name": n, "str": s, "fatal": bool}
  {"e": "closed", "t": ...}                        close() returned (after SIGTERM)
SIGTERM closes the consumer cleanly (LeaveGroup, unless static); exits 0, or 3 after a
fatal error.
"""

import argparse
import json
import signal
import sys
import time

POLL_TIMEOUT_S = 0.2
stopping = False


def emit(event, **fields):
    fields["e"] = event
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def on_sigterm(signum, frame):
    global stopping
    stopping = True


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("client", choices=["confluent", "kafka-python"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--assignor")
    parser.add_argument("--session-timeout-ms", type=int)
    parser.add_argument("--instance-id")
    parser.add_argument("--commit", choices=["auto", "sync"], default="auto")
    parser.add_argument("--set", action="append", default=[])
    return parser.parse_args()


# ------------------------------------------------------------------ confluent_kafka

def run_confluent(args):
    from confluent_kafka import Consumer, KafkaError

    conf = {"bootstrap.servers": args.bootstrap, "group.id": args.group,
            "auto.offset.reset": "earliest"}
    if args.assignor:
        conf["partition.assignment.strategy"] = args.assignor
    if args.session_timeout_ms:
        conf["session.timeout.ms"] = args.session_timeout_ms
    if args.instance_id:
        conf["group.instance.id"] = args.instance_id
    if args.commit == "sync":
        conf["enable.auto.commit"] = False
    for setting in args.set:
        key, value = setting.split("=", 1)
        conf[key] = value

    state = {"fatal": False}

    def on_error(error):
        is_fatal = error.fatal() or error.code() == KafkaError._FATAL
        state["fatal"] = state["fatal"] or is_fatal
        emit("error", code=error.code(), name=error.name(), str=error.str(), fatal=is_fatal)

    conf["error_cb"] = on_error
    consumer = Consumer(conf)

    def on_assign(_consumer, partitions):
        emit("assign", parts=sorted(p.partition for p in partitions), t=time.time())

    def on_revoke(_consumer, partitions):
        emit("revoke", parts=sorted(p.partition for p in partitions), t=time.time())

    def on_lost(_consumer, partitions):
        emit("lost", parts=sorted(p.partition for p in partitions), t=time.time())

    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    emit("start")
    while not stopping and not state["fatal"]:
        messages = consumer.consume(num_messages=100, timeout=POLL_TIMEOUT_S)
        positions = {}
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                is_fatal = error.fatal() or error.code() == KafkaError._FATAL
                state["fatal"] = state["fatal"] or is_fatal
                emit("error", code=error.code(), name=error.name(), str=error.str(),
                     fatal=is_fatal)
                continue
            emit("rec", p=message.partition(), o=message.offset(),
                 v=(message.value() or b"").decode(errors="replace"))
            positions[message.partition()] = message.offset() + 1
        if args.commit == "sync" and positions and not state["fatal"]:
            try:
                consumer.commit(asynchronous=False)
                emit("commit", offsets=positions)
            except Exception as error:  # noqa: BLE001 - reported, the test decides
                emit("error", code=-1, name="commit", str=repr(error), fatal=False)
    try:
        consumer.close()
    except Exception as error:  # noqa: BLE001 - a fenced consumer may fail to close
        emit("error", code=-1, name="close", str=repr(error), fatal=False)
    emit("closed", t=time.time())
    return 3 if state["fatal"] else 0


# ------------------------------------------------------------------ kafka-python

KAFKA_PYTHON_ASSIGNORS = {
    "range": "kafka.coordinator.assignors.range.RangePartitionAssignor",
    "roundrobin": "kafka.coordinator.assignors.roundrobin.RoundRobinPartitionAssignor",
    "sticky": "kafka.coordinator.assignors.sticky.sticky_assignor.StickyPartitionAssignor",
}


def load_class(dotted):
    module_name, class_name = dotted.rsplit(".", 1)
    module = __import__(module_name, fromlist=[class_name])
    return getattr(module, class_name)


def kafka_python_value(text):
    """--set values for kafka-python keyword arguments: ints and booleans from text."""
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        return text


def run_kafka_python(args):
    from kafka import KafkaConsumer, ConsumerRebalanceListener

    conf = {"bootstrap_servers": args.bootstrap, "group_id": args.group,
            "auto_offset_reset": "earliest"}
    if args.assignor:
        conf["partition_assignment_strategy"] = [load_class(KAFKA_PYTHON_ASSIGNORS[args.assignor])]
    if args.session_timeout_ms:
        conf["session_timeout_ms"] = args.session_timeout_ms
    if args.commit == "sync":
        conf["enable_auto_commit"] = False
    for setting in args.set:
        key, value = setting.split("=", 1)
        conf[key.replace(".", "_")] = kafka_python_value(value)
    consumer = KafkaConsumer(**conf)

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            emit("revoke", parts=sorted(tp.partition for tp in revoked), t=time.time())

        def on_partitions_assigned(self, assigned):
            emit("assign", parts=sorted(tp.partition for tp in assigned), t=time.time())

    consumer.subscribe(topics=[args.topic], listener=Listener())
    emit("start")
    while not stopping:
        batches = consumer.poll(timeout_ms=int(POLL_TIMEOUT_S * 1000))
        positions = {}
        for tp, records in batches.items():
            for record in records:
                emit("rec", p=tp.partition, o=record.offset,
                     v=(record.value or b"").decode(errors="replace"))
                positions[tp.partition] = record.offset + 1
        if args.commit == "sync" and positions:
            try:
                consumer.commit()
                emit("commit", offsets=positions)
            except Exception as error:  # noqa: BLE001 - reported, the test decides
                emit("error", code=-1, name="commit", str=repr(error), fatal=False)
    consumer.close()
    emit("closed", t=time.time())
    return 0


def main():
    signal.signal(signal.SIGTERM, on_sigterm)
    args = parse_args()
    if args.client == "confluent":
        return run_confluent(args)
    return run_kafka_python(args)


if __name__ == "__main__":
    sys.exit(main())
