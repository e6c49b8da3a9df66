#!/usr/bin/python3
"""Writes record batches built by a real client library (kafka-python 2.0.2) for
interop_test.cc. Run from this directory with Debian's python3 and its
python3-kafka, python3-snappy, python3-lz4 and python3-zstandard packages:

    /usr/bin/python3 make_batches.py

The records are fixed, so interop_test.cc knows what each file must contain.
"""
from kafka.record.default_records import DefaultRecordBatchBuilder

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
BASE_TS = 1600000000000


def build(codec, records, producer_id=-1, producer_epoch=-1, base_sequence=-1,
          transactional=False):
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=codec, is_transactional=transactional,
        producer_id=producer_id, producer_epoch=producer_epoch,
        base_sequence=base_sequence, batch_size=1 << 30)
    for offset, (ts, key, value, headers) in enumerate(records):
        builder.append(offset, timestamp=ts, key=key, value=value, headers=headers)
    return bytes(builder.build())


# kafka-python leaves a batch uncompressed unless compression makes it smaller,
# hence the repetitive values.
SMALL = [
    (BASE_TS, b"key-0", b"value-0|" * 30, []),
    (BASE_TS + 5, None, b"value-1|" * 30, [("h1", b"v1"), ("h2", b"")]),
    (BASE_TS + 2, b"key-2", None, []),
]
# 70,000 bytes: more than two snappy-java 32 KiB chunks, and compressible.
BIG = [(BASE_TS, b"big", bytes((i * 7) % 251 for i in range(70000)), [])]

for name, codec in CODECS.items():
    with open(f"{name}_small.bin", "wb") as f:
        f.write(build(codec, SMALL))
    with open(f"{name}_big.bin", "wb") as f:
        f.write(build(codec, BIG))
    with open(f"{name}_txn.bin", "wb") as f:
        f.write(build(codec, SMALL, producer_id=1234, producer_epoch=5,
                      base_sequence=42, transactional=True))
