"""Hand-built Kafka frames for tests that must send what no well-behaved client would.

Only the few requests the bad-input and raw-protocol tests need, encoded with struct
from the schemas in /work/shared/kafka-protocol (non-flexible versions, except where a
test needs a flexible one). Record batches are v2 with a CRC-32C computed here.
"""

import socket
import struct
import time

API_PRODUCE = 0
API_LIST_OFFSETS = 2
API_METADATA = 3
API_API_VERSIONS = 18

CLIENT_ID = b"fjord-raw-test"


# ------------------------------------------------------------------- CRC-32C and varints

def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def zigzag_varint(value):
    """Signed zigzag varint, as used inside records."""
    encoded = (value << 1) ^ (value >> 63)
    return unsigned_varint(encoded & 0xFFFFFFFFFFFFFFFF)


def unsigned_varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# ------------------------------------------------------------------- primitive encoders

def string(value):
    if value is None:
        return struct.pack(">h", -1)
    data = value.encode() if isinstance(value, str) else value
    return struct.pack(">h", len(data)) + data


def compact_string(value):
    data = value.encode() if isinstance(value, str) else value
    return unsigned_varint(len(data) + 1) + data


def nullable_bytes(value):
    if value is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(value)) + value


def array(items):
    return struct.pack(">i", len(items)) + b"".join(items)


def compact_array(items):
    return unsigned_varint(len(items) + 1) + b"".join(items)


NO_TAGS = b"\x00"


# ------------------------------------------------------------------- record batch v2

def record(offset_delta, key, value, headers=(), timestamp_delta=0):
    body = bytearray(b"\x00")  # attributes
    body += zigzag_varint(timestamp_delta)
    body += zigzag_varint(offset_delta)
    for blob in (key, value):
        body += zigzag_varint(-1) if blob is None else zigzag_varint(len(blob)) + blob
    body += zigzag_varint(len(headers))
    for header_key, header_value in headers:
        body += zigzag_varint(len(header_key)) + header_key
        body += zigzag_varint(-1) if header_value is None else (
            zigzag_varint(len(header_value)) + header_value)
    return zigzag_varint(len(body)) + bytes(body)


def record_batch(values, base_timestamp_ms=None, timestamps_ms=None):
    """An uncompressed, non-idempotent v2 batch of (key=None, value) records."""
    if base_timestamp_ms is None:
        base_timestamp_ms = int(time.time() * 1000)
    timestamps_ms = timestamps_ms or [base_timestamp_ms] * len(values)
    records = [record(i, None, value, timestamp_delta=ts - timestamps_ms[0])
               for i, (value, ts) in enumerate(zip(values, timestamps_ms))]
    return batch_of_records(records, timestamps_ms[0], max(timestamps_ms))


def batch_of_records(records, base_timestamp_ms, max_timestamp_ms):
    """Wraps already-encoded records (offset deltas 0..n-1) in a v2 batch with a valid CRC."""
    after_crc = struct.pack(">hiqqqhii", 0, len(records) - 1, base_timestamp_ms,
                            max_timestamp_ms, -1, -1, -1, len(records)) + b"".join(records)
    crc = crc32c(after_crc)
    after_length = struct.pack(">ibI", 0, 2, crc) + after_crc  # leader epoch, magic, crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


def corrupt_payload(batch):
    """Flips one bit in the last record byte, so the stored CRC no longer matches."""
    damaged = bytearray(batch)
    damaged[-1] ^= 0x01
    return bytes(damaged)


# ------------------------------------------------------------------- requests

def request_header_v1(api_key, api_version, correlation_id):
    return struct.pack(">hhi", api_key, api_version, correlation_id) + string(CLIENT_ID)


def request_header_v2(api_key, api_version, correlation_id):
    return request_header_v1(api_key, api_version, correlation_id) + NO_TAGS


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def api_versions_request(correlation_id, version=0):
    """ApiVersions v0-v2 have an empty body; any higher version here gets header v2 and
    an empty v3 body (client software name and version), which a broker that does not
    support the version must not parse (KIP-511)."""
    if version <= 2:
        return frame(request_header_v1(API_API_VERSIONS, version, correlation_id))
    body = compact_string("fjord-raw") + compact_string("0.1") + NO_TAGS
    return frame(request_header_v2(API_API_VERSIONS, version, correlation_id) + body)


def produce_request_v7(correlation_id, topic, partition, batch, acks=-1, timeout_ms=10000):
    partition_data = struct.pack(">i", partition) + nullable_bytes(batch)
    topic_data = string(topic) + array([partition_data])
    body = string(None) + struct.pack(">hi", acks, timeout_ms) + array([topic_data])
    return frame(request_header_v1(API_PRODUCE, 7, correlation_id) + body)


def list_offsets_request_v7(correlation_id, topic, partition, timestamp):
    """ListOffsets v7 (flexible): timestamp -1 latest, -2 earliest, -3 max timestamp."""
    partition_data = struct.pack(">iiq", partition, -1, timestamp) + NO_TAGS
    topic_data = compact_string(topic) + compact_array([partition_data]) + NO_TAGS
    body = struct.pack(">ib", -1, 0) + compact_array([topic_data]) + NO_TAGS
    return frame(request_header_v2(API_LIST_OFFSETS, 7, correlation_id) + body)


def unknown_api_request(correlation_id, api_key=9999):
    return frame(request_header_v1(api_key, 0, correlation_id) + b"\x00" * 8)


# ------------------------------------------------------------------- responses

class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, fmt):
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values if len(values) > 1 else values[0]

    def string(self):
        length = self.take(">h")
        if length < 0:
            return None
        value = self.data[self.pos:self.pos + length].decode()
        self.pos += length
        return value

    def unsigned_varint(self):
        shift = value = 0
        while True:
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def compact_string(self):
        length = self.unsigned_varint() - 1
        if length < 0:
            return None
        value = self.data[self.pos:self.pos + length].decode()
        self.pos += length
        return value

    def skip_tags(self):
        for _ in range(self.unsigned_varint()):
            self.unsigned_varint()
            self.pos += self.unsigned_varint()


def parse_api_versions_v0(body):
    """Returns (error_code, {api_key: (min, max)}) from a v0 body (also the body a broker
    sends for an unsupported ApiVersions version)."""
    reader = Reader(body)
    error_code = reader.take(">h")
    ranges = {}
    for _ in range(reader.take(">i")):
        key, low, high = reader.take(">hhh")
        ranges[key] = (low, high)
    return error_code, ranges


def parse_produce_v7(body):
    """Returns {(topic, partition): (error_code, base_offset, log_start_offset)}."""
    reader = Reader(body)
    results = {}
    for _ in range(reader.take(">i")):
        topic = reader.string()
        for _ in range(reader.take(">i")):
            partition, error_code, base_offset, _append_time, log_start = reader.take(">ihqqq")
            results[(topic, partition)] = (error_code, base_offset, log_start)
    return results


def parse_list_offsets_v7(body):
    """Returns {(topic, partition): (error_code, timestamp, offset)}; body after header v1."""
    reader = Reader(body)
    reader.take(">i")  # throttle
    results = {}
    for _ in range(reader.unsigned_varint() - 1):
        topic = reader.compact_string()
        for _ in range(reader.unsigned_varint() - 1):
            partition, error_code, timestamp, offset, _epoch = reader.take(">ihqqi")
            reader.skip_tags()
            results[(topic, partition)] = (error_code, timestamp, offset)
        reader.skip_tags()
    return results


# ------------------------------------------------------------------- connection

class Connection:
    """A blocking socket with a timeout on every read: a silent broker fails the test."""

    def __init__(self, bootstrap, timeout_s=15):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout_s)
        self.correlation_id = 0

    def next_id(self):
        self.correlation_id += 1
        return self.correlation_id

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, size):
        chunks = bytearray()
        while len(chunks) < size:
            chunk = self.sock.recv(size - len(chunks))
            if not chunk:
                raise ConnectionError(f"closed after {len(chunks)} of {size} bytes")
            chunks += chunk
        return bytes(chunks)

    def recv_response(self, flexible_header=False):
        """Returns (correlation_id, body) of the next response frame."""
        size = struct.unpack(">i", self.recv_exact(4))[0]
        assert 4 <= size <= 64 * 1024 * 1024, f"implausible response size {size}"
        payload = self.recv_exact(size)
        correlation_id = struct.unpack_from(">i", payload)[0]
        reader = Reader(payload)
        reader.pos = 4
        if flexible_header:
            reader.skip_tags()
        return correlation_id, payload[reader.pos:]

    def call(self, build, flexible_header=False, **kwargs):
        correlation_id = self.next_id()
        self.send(build(correlation_id, **kwargs))
        got_id, body = self.recv_response(flexible_header)
        assert got_id == correlation_id, f"correlation id {got_id}, expected {correlation_id}"
        return body

    def closed_by_peer(self, timeout_s=10):
        """True if the broker closes the connection (EOF or reset) within timeout_s."""
        self.sock.settimeout(timeout_s)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()
