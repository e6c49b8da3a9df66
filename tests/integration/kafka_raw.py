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


def list_offsets_request_v7(correlation_id, topic, partition, timestamp, isolation_level=0):
    """ListOffsets v7 (flexible): timestamp -1 latest, -2 earliest, -3 max timestamp;
    isolation level 0 read_uncommitted (latest = high watermark), 1 read_committed (latest =
    last stable offset)."""
    partition_data = struct.pack(">iiq", partition, -1, timestamp) + NO_TAGS
    topic_data = compact_string(topic) + compact_array([partition_data]) + NO_TAGS
    body = struct.pack(">ib", -1, isolation_level) + compact_array([topic_data]) + NO_TAGS
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

    def nullable_bytes(self):
        length = self.take(">i")
        if length < 0:
            return None
        value = self.data[self.pos:self.pos + length]
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


# ------------------------------------------------------------------- consumer groups
# Non-flexible versions of the group APIs (what librdkafka 2.0.2 and KafkaJS send), so
# responses carry response header v0. Encoded by hand from the schemas in
# /work/shared/kafka-protocol/messages.

API_OFFSET_COMMIT = 8
API_OFFSET_FETCH = 9
API_FIND_COORDINATOR = 10
API_JOIN_GROUP = 11
API_HEARTBEAT = 12
API_LEAVE_GROUP = 13
API_SYNC_GROUP = 14
API_DESCRIBE_GROUPS = 15
API_LIST_GROUPS = 16
API_DELETE_GROUPS = 42


def bytes_field(value):
    return struct.pack(">i", len(value)) + value


def find_coordinator_request_v2(correlation_id, key, key_type=0):
    body = string(key) + struct.pack(">b", key_type)
    return frame(request_header_v1(API_FIND_COORDINATOR, 2, correlation_id) + body)


def parse_find_coordinator_v2(body):
    """Returns (error_code, node_id, host, port)."""
    reader = Reader(body)
    reader.take(">i")  # throttle
    error_code = reader.take(">h")
    reader.string()  # error message
    node_id = reader.take(">i")
    host = reader.string()
    port = reader.take(">i")
    return error_code, node_id, host, port


def join_group_request(correlation_id, group_id, member_id, protocols, session_timeout_ms=30000,
                       rebalance_timeout_ms=30000, protocol_type="consumer",
                       group_instance_id=None, version=5):
    """JoinGroup v1-v5; protocols is a list of (name, metadata bytes)."""
    assert 1 <= version <= 5, "only the non-flexible versions with a rebalance timeout"
    body = string(group_id) + struct.pack(">ii", session_timeout_ms, rebalance_timeout_ms)
    body += string(member_id)
    if version >= 5:
        body += string(group_instance_id)
    body += string(protocol_type)
    body += array([string(name) + bytes_field(metadata) for name, metadata in protocols])
    return frame(request_header_v1(API_JOIN_GROUP, version, correlation_id) + body)


def parse_join_group(body, version=5):
    """Returns a dict: error, generation, protocol, leader, member_id, members
    (list of (member_id, group_instance_id, metadata))."""
    reader = Reader(body)
    if version >= 2:
        reader.take(">i")  # throttle
    result = {"error": reader.take(">h"), "generation": reader.take(">i"),
              "protocol": reader.string(), "leader": reader.string(),
              "member_id": reader.string(), "members": []}
    for _ in range(reader.take(">i")):
        member_id = reader.string()
        instance_id = reader.string() if version >= 5 else None
        result["members"].append((member_id, instance_id, reader.nullable_bytes()))
    return result


def sync_group_request(correlation_id, group_id, generation_id, member_id, assignments,
                       group_instance_id=None, version=3):
    """SyncGroup v1-v3; assignments is a list of (member_id, assignment bytes)."""
    assert 1 <= version <= 3
    body = string(group_id) + struct.pack(">i", generation_id) + string(member_id)
    if version >= 3:
        body += string(group_instance_id)
    body += array([string(member) + bytes_field(data) for member, data in assignments])
    return frame(request_header_v1(API_SYNC_GROUP, version, correlation_id) + body)


def parse_sync_group(body):
    """Returns (error_code, assignment bytes) of a v1-v3 response."""
    reader = Reader(body)
    reader.take(">i")  # throttle
    return reader.take(">h"), reader.nullable_bytes()


def heartbeat_request(correlation_id, group_id, generation_id, member_id,
                      group_instance_id=None, version=3):
    assert 1 <= version <= 3
    body = string(group_id) + struct.pack(">i", generation_id) + string(member_id)
    if version >= 3:
        body += string(group_instance_id)
    return frame(request_header_v1(API_HEARTBEAT, version, correlation_id) + body)


def parse_heartbeat(body):
    reader = Reader(body)
    reader.take(">i")  # throttle
    return reader.take(">h")


def leave_group_request_v3(correlation_id, group_id, members):
    """members: list of (member_id, group_instance_id or None)."""
    body = string(group_id) + array([string(m) + string(i) for m, i in members])
    return frame(request_header_v1(API_LEAVE_GROUP, 3, correlation_id) + body)


def parse_leave_group_v3(body):
    """Returns (error_code, [(member_id, group_instance_id, error_code)])."""
    reader = Reader(body)
    reader.take(">i")  # throttle
    error_code = reader.take(">h")
    members = [(reader.string(), reader.string(), reader.take(">h"))
               for _ in range(reader.take(">i"))]
    return error_code, members


def offset_commit_request_v7(correlation_id, group_id, generation_id, member_id, offsets,
                             group_instance_id=None):
    """offsets: {(topic, partition): (offset, metadata or None)}."""
    by_topic = {}
    for (topic, partition), (offset, metadata) in offsets.items():
        by_topic.setdefault(topic, []).append(
            struct.pack(">iqi", partition, offset, -1) + string(metadata))
    body = string(group_id) + struct.pack(">i", generation_id) + string(member_id)
    body += string(group_instance_id)
    body += array([string(topic) + array(parts) for topic, parts in by_topic.items()])
    return frame(request_header_v1(API_OFFSET_COMMIT, 7, correlation_id) + body)


def parse_offset_commit_v7(body):
    """Returns {(topic, partition): error_code}."""
    reader = Reader(body)
    reader.take(">i")  # throttle
    results = {}
    for _ in range(reader.take(">i")):
        topic = reader.string()
        for _ in range(reader.take(">i")):
            partition, error_code = reader.take(">ih")
            results[(topic, partition)] = error_code
    return results


def offset_fetch_request_v5(correlation_id, group_id, partitions=None):
    """partitions: {topic: [partition, ...]}, or None for every committed partition."""
    if partitions is None:
        topics = struct.pack(">i", -1)
    else:
        topics = array([string(topic) + array([struct.pack(">i", p) for p in parts])
                        for topic, parts in partitions.items()])
    body = string(group_id) + topics
    return frame(request_header_v1(API_OFFSET_FETCH, 5, correlation_id) + body)


def parse_offset_fetch_v5(body):
    """Returns (error_code, {(topic, partition): (offset, leader_epoch, metadata, error)})."""
    reader = Reader(body)
    reader.take(">i")  # throttle
    results = {}
    for _ in range(reader.take(">i")):
        topic = reader.string()
        for _ in range(reader.take(">i")):
            partition, offset, epoch = reader.take(">iqi")
            metadata = reader.string()
            results[(topic, partition)] = (offset, epoch, metadata, reader.take(">h"))
    return reader.take(">h"), results


def describe_groups_request_v4(correlation_id, groups):
    body = array([string(group) for group in groups]) + struct.pack(">b", 0)
    return frame(request_header_v1(API_DESCRIBE_GROUPS, 4, correlation_id) + body)


def parse_describe_groups_v4(body):
    """Returns a list of dicts: error, group_id, state, protocol_type, protocol, members
    (dicts: member_id, instance_id, client_id, client_host, metadata, assignment)."""
    reader = Reader(body)
    reader.take(">i")  # throttle
    groups = []
    for _ in range(reader.take(">i")):
        group = {"error": reader.take(">h"), "group_id": reader.string(),
                 "state": reader.string(), "protocol_type": reader.string(),
                 "protocol": reader.string(), "members": []}
        for _ in range(reader.take(">i")):
            group["members"].append({
                "member_id": reader.string(), "instance_id": reader.string(),
                "client_id": reader.string(), "client_host": reader.string(),
                "metadata": reader.nullable_bytes(), "assignment": reader.nullable_bytes()})
        reader.take(">i")  # authorized operations
        groups.append(group)
    return groups


def list_groups_request_v2(correlation_id):
    return frame(request_header_v1(API_LIST_GROUPS, 2, correlation_id))


def parse_list_groups_v2(body):
    """Returns (error_code, {group_id: protocol_type})."""
    reader = Reader(body)
    reader.take(">i")  # throttle
    error_code = reader.take(">h")
    groups = {}
    for _ in range(reader.take(">i")):
        group_id = reader.string()
        groups[group_id] = reader.string()
    return error_code, groups


def delete_groups_request_v1(correlation_id, groups):
    body = array([string(group) for group in groups])
    return frame(request_header_v1(API_DELETE_GROUPS, 1, correlation_id) + body)


def parse_delete_groups_v1(body):
    """Returns {group_id: error_code}."""
    reader = Reader(body)
    reader.take(">i")  # throttle
    results = {}
    for _ in range(reader.take(">i")):
        group_id = reader.string()
        results[group_id] = reader.take(">h")
    return results


def consumer_subscription(topics, user_data=None):
    """ConsumerProtocolSubscription v0: the member metadata of protocol type "consumer"."""
    return struct.pack(">h", 0) + array([string(t) for t in topics]) + nullable_bytes(user_data)


def consumer_assignment(partitions_by_topic, user_data=None):
    """ConsumerProtocolAssignment v0 from {topic: [partition, ...]}."""
    topics = [string(topic) + array([struct.pack(">i", p) for p in parts])
              for topic, parts in partitions_by_topic.items()]
    return struct.pack(">h", 0) + array(topics) + nullable_bytes(user_data)


def parse_consumer_assignment(data):
    """{(topic, partition), ...} from a ConsumerProtocolAssignment (any version: v1+ only
    appends fields). Empty bytes (no assignment yet) give an empty set."""
    if not data:
        return set()
    reader = Reader(data)
    reader.take(">h")  # version
    owned = set()
    for _ in range(reader.take(">i")):
        topic = reader.string()
        for _ in range(reader.take(">i")):
            owned.add((topic, reader.take(">i")))
    return owned


# ------------------------------------------------------------------- transactions
# Non-flexible versions (v0-v2; v2 is the first that answers PRODUCER_FENCED instead of
# INVALID_PRODUCER_EPOCH), except TxnOffsetCommit v3, the first version that carries the
# group generation and member id (flexible). Encoded from the schemas in
# /work/shared/kafka-protocol/messages.

API_INIT_PRODUCER_ID = 22
API_ADD_PARTITIONS_TO_TXN = 24
API_ADD_OFFSETS_TO_TXN = 25
API_END_TXN = 26
API_TXN_OFFSET_COMMIT = 28

COORDINATOR_TRANSACTION = 1  # FindCoordinator key type of a transactional id
ATTRIBUTE_TRANSACTIONAL = 0x10


def init_producer_id_request(correlation_id, transactional_id, transaction_timeout_ms,
                             version=1):
    """InitProducerId v0-v1; transactional_id None asks for an idempotent producer id."""
    assert version in (0, 1)
    body = string(transactional_id) + struct.pack(">i", transaction_timeout_ms)
    return frame(request_header_v1(API_INIT_PRODUCER_ID, version, correlation_id) + body)


def parse_init_producer_id(body):
    """Returns (error_code, producer_id, producer_epoch) of a v0-v1 response."""
    reader = Reader(body)
    reader.take(">i")  # throttle
    return reader.take(">hqh")


def add_partitions_to_txn_request(correlation_id, transactional_id, producer_id,
                                  producer_epoch, partitions, version=1):
    """AddPartitionsToTxn v0-v2; partitions: {topic: [partition, ...]}."""
    assert version in (0, 1, 2)
    topics = [string(topic) + array([struct.pack(">i", p) for p in parts])
              for topic, parts in partitions.items()]
    body = string(transactional_id) + struct.pack(">qh", producer_id, producer_epoch)
    body += array(topics)
    return frame(request_header_v1(API_ADD_PARTITIONS_TO_TXN, version, correlation_id) + body)


def parse_add_partitions_to_txn(body):
    """Returns {(topic, partition): error_code} of a v0-v2 response."""
    reader = Reader(body)
    reader.take(">i")  # throttle
    results = {}
    for _ in range(reader.take(">i")):
        topic = reader.string()
        for _ in range(reader.take(">i")):
            partition, error_code = reader.take(">ih")
            results[(topic, partition)] = error_code
    return results


def add_offsets_to_txn_request(correlation_id, transactional_id, producer_id, producer_epoch,
                               group_id, version=1):
    assert version in (0, 1, 2)
    body = string(transactional_id) + struct.pack(">qh", producer_id, producer_epoch)
    body += string(group_id)
    return frame(request_header_v1(API_ADD_OFFSETS_TO_TXN, version, correlation_id) + body)


def end_txn_request(correlation_id, transactional_id, producer_id, producer_epoch, committed,
                    version=1):
    assert version in (0, 1, 2)
    body = string(transactional_id) + struct.pack(">qhb", producer_id, producer_epoch,
                                                  1 if committed else 0)
    return frame(request_header_v1(API_END_TXN, version, correlation_id) + body)


def parse_error_only(body):
    """The error code of a response that is only throttle time and error code
    (AddOffsetsToTxn and EndTxn v0-v2)."""
    reader = Reader(body)
    reader.take(">i")  # throttle
    return reader.take(">h")


def compact_nullable_string(value):
    return b"\x00" if value is None else compact_string(value)


def txn_offset_commit_request_v3(correlation_id, transactional_id, group_id, producer_id,
                                 producer_epoch, generation_id, member_id, offsets,
                                 group_instance_id=None):
    """TxnOffsetCommit v3 (flexible); offsets: {(topic, partition): offset}. The response
    has a flexible header (recv_response(flexible_header=True))."""
    by_topic = {}
    for (topic, partition), offset in offsets.items():
        by_topic.setdefault(topic, []).append(
            struct.pack(">iqi", partition, offset, -1) + compact_nullable_string(None) + NO_TAGS)
    topics = [compact_string(topic) + compact_array(parts) + NO_TAGS
              for topic, parts in by_topic.items()]
    body = compact_string(transactional_id) + compact_string(group_id)
    body += struct.pack(">qhi", producer_id, producer_epoch, generation_id)
    body += compact_string(member_id) + compact_nullable_string(group_instance_id)
    body += compact_array(topics) + NO_TAGS
    return frame(request_header_v2(API_TXN_OFFSET_COMMIT, 3, correlation_id) + body)


def parse_txn_offset_commit_v3(body):
    """Returns {(topic, partition): error_code}; body after the flexible response header."""
    reader = Reader(body)
    reader.take(">i")  # throttle
    results = {}
    for _ in range(reader.unsigned_varint() - 1):
        topic = reader.compact_string()
        for _ in range(reader.unsigned_varint() - 1):
            partition, error_code = reader.take(">ih")
            reader.skip_tags()
            results[(topic, partition)] = error_code
        reader.skip_tags()
    return results


def producer_batch(values, producer_id, producer_epoch, base_sequence, transactional=True,
                   base_timestamp_ms=None):
    """A v2 batch of (key=None, value) records from an idempotent or transactional producer."""
    if base_timestamp_ms is None:
        base_timestamp_ms = int(time.time() * 1000)
    records = [record(i, None, value) for i, value in enumerate(values)]
    attributes = ATTRIBUTE_TRANSACTIONAL if transactional else 0
    after_crc = struct.pack(">hiqqqhii", attributes, len(records) - 1, base_timestamp_ms,
                            base_timestamp_ms, producer_id, producer_epoch, base_sequence,
                            len(records)) + b"".join(records)
    crc = crc32c(after_crc)
    after_length = struct.pack(">ibI", 0, 2, crc) + after_crc  # leader epoch, magic, crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


def transactional_produce_request_v7(correlation_id, transactional_id, topic, partition, batch,
                                     acks=-1, timeout_ms=10000):
    """Produce v7 carrying a transactional id (what a transactional producer sends)."""
    partition_data = struct.pack(">i", partition) + nullable_bytes(batch)
    topic_data = string(topic) + array([partition_data])
    body = string(transactional_id) + struct.pack(">hi", acks, timeout_ms)
    body += array([topic_data])
    return frame(request_header_v1(API_PRODUCE, 7, correlation_id) + body)


# ------------------------------------------------------------------- metadata v12
API_METADATA = 3


def metadata_request_v12(correlation_id, topics=None):
    """Metadata v12 (flexible) by name; topics None asks for every topic."""
    if topics is None:
        topic_array = unsigned_varint(0)  # null array
    else:
        topic_array = compact_array([bytes(16) + compact_string(name) + unsigned_varint(0)
                                     for name in topics])
    body = topic_array + b"\x00" + b"\x00" + unsigned_varint(0)
    return frame(request_header_v2(API_METADATA, 12, correlation_id) + body)


def parse_metadata_v12(body):
    """Returns {"brokers": {id: (host, port)}, "controller_id": int,
    "topics": {name: {"error_code", "topic_id" (hex), "partitions": {index: leader}}}}."""
    r = Reader(body)
    r.take(">i")  # throttle
    brokers = {}
    for _ in range(r.unsigned_varint() - 1):
        node_id = r.take(">i")
        host = r.compact_string()
        port = r.take(">i")
        r.compact_string()  # rack
        r.skip_tags()
        brokers[node_id] = (host, port)
    r.compact_string()  # cluster id
    controller_id = r.take(">i")
    topics = {}
    for _ in range(r.unsigned_varint() - 1):
        error_code = r.take(">h")
        name = r.compact_string()
        topic_id = r.data[r.pos:r.pos + 16].hex()
        r.pos += 16
        r.take(">?")  # internal
        partitions = {}
        for _ in range(r.unsigned_varint() - 1):
            r.take(">h")
            index = r.take(">i")
            leader = r.take(">i")
            r.take(">i")  # leader epoch
            for _ in range(3):  # replicas, isr, offline
                for _ in range(r.unsigned_varint() - 1):
                    r.take(">i")
            r.skip_tags()
            partitions[index] = leader
        r.take(">i")  # authorized operations
        r.skip_tags()
        topics[name] = {"error_code": error_code, "topic_id": topic_id, "partitions": partitions}
    return {"brokers": brokers, "controller_id": controller_id, "topics": topics}
