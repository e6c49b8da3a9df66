"""Transactions with KafkaJS 2.2.4 (js/transaction.js): a transactional producer sends to two
partitions and sends consumer-group offsets in each transaction (commit, abort, commit); a
read_committed KafkaJS consumer reads only the committed records, and the group's committed
offset is the one of the last committed transaction.
"""

from conftest import unique_topic
from fjord_helpers import create_topic, produce_sync
from test_kafkajs import run_js
from txn_helpers import read_to_end, values_by_partition

PER_PARTITION = 5  # as in js/transaction.js


def values(tag, partition):
    return [f"{tag}-{partition}-{i}" for i in range(PER_PARTITION)]


def test_kafkajs_transactions_commit_abort_and_offsets(broker):
    topic = create_topic(broker.bootstrap, unique_topic("js-txn"), partitions=2)
    source = create_topic(broker.bootstrap, unique_topic("js-txn-in"))
    produce_sync(broker.bootstrap, source, [{"value": f"in-{i}"} for i in range(10)])
    group = unique_topic("js-txn-group")
    result = run_js("transaction.js", bootstrap=broker.bootstrap, topic=topic, source=source,
                    groupId=group, readerGroupId=unique_topic("js-txn-reader"),
                    transactionalId=unique_topic("js-txn-id"))

    [source_offsets] = result["offsets"]
    assert source_offsets["topic"] == source
    assert [(p["partition"], p["offset"]) for p in source_offsets["partitions"]] == [(0, "5")]

    read = {p: [r["value"] for r in result["received"] if r["partition"] == p] for p in (0, 1)}
    assert read == {p: values("c1", p) + values("c2", p) for p in (0, 1)}

    # The aborted records were written (and skipped): a read_uncommitted reader sees them.
    everything = values_by_partition(read_to_end(broker.bootstrap, [(topic, 0), (topic, 1)],
                                                 isolation="read_uncommitted"))
    assert everything == {(topic, p): values("c1", p) + values("ab", p) + values("c2", p)
                          for p in (0, 1)}
