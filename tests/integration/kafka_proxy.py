"""A TCP proxy between Kafka clients and one broker that loses Produce responses.

It forwards every frame in both directions. For a Produce request chosen at random (seeded),
it forwards the request, waits for the broker's response and, instead of passing it on,
closes both connections: the broker has appended the batch but the client never learns it,
so the client retries the same batch on a new connection (what a lost response looks like).

Clients must reach the broker only through the proxy: start the proxy, then the broker with
`advertised.listeners` naming the proxy's address, then tell the proxy where the broker
listens (`forward_to`).
"""

import random
import socket
import struct
import threading

API_PRODUCE = 0
MAX_FRAME_BYTES = 128 * 1024 * 1024


def _recv_exact(sock, size):
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _recv_frame(sock):
    """One size-prefixed frame (size included), or None when the peer closed."""
    head = _recv_exact(sock, 4)
    if head is None:
        return None
    size = struct.unpack(">i", head)[0]
    if not 0 <= size <= MAX_FRAME_BYTES:
        return None
    payload = _recv_exact(sock, size)
    return None if payload is None else head + payload


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class ResponseDroppingProxy:
    def __init__(self, seed, drops, window, listen_host="127.0.0.1"):
        """Loses the responses of `drops` Produce requests chosen at random (seeded) among
        the first `window` (retries count as requests too)."""
        self.broker_address = None
        self.drops = drops
        self.drop_at = set(random.Random(seed).sample(range(1, window + 1), drops))
        self.produce_requests = 0
        # Chosen requests: each loses its response, dropped by the proxy or, when an earlier
        # drop closed its connection first, with the connection.
        self.doomed_requests = 0
        self.dropped_responses = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._stopped = False
        self._sockets = set()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((listen_host, 0))
        self.listener.listen(64)
        self.address = self.listener.getsockname()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def forward_to(self, broker_host, broker_port):
        self.broker_address = (broker_host, broker_port)

    @property
    def port(self):
        return self.address[1]

    @property
    def bootstrap(self):
        return f"{self.address[0]}:{self.address[1]}"

    def stop(self):
        with self._lock:
            self._stopped = True
            sockets = list(self._sockets)
        _close(self.listener)
        for sock in sockets:
            _close(sock)

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                if self.broker_address is None:
                    raise ConnectionRefusedError("no broker to forward to yet")
                broker = socket.create_connection(self.broker_address, timeout=10)
                broker.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._stopped:
                    _close(client)
                    _close(broker)
                    return
                self.connections += 1
                self._sockets.update((client, broker))
            doomed = set()  # correlation ids whose responses this connection loses
            threading.Thread(target=self._requests, args=(client, broker, doomed),
                             daemon=True).start()
            threading.Thread(target=self._responses, args=(client, broker, doomed),
                             daemon=True).start()

    def _choose_to_drop(self):
        with self._lock:
            self.produce_requests += 1
            if self.produce_requests not in self.drop_at:
                return False
            self.doomed_requests += 1
            return True

    def _requests(self, client, broker, doomed):
        try:
            while True:
                frame = _recv_frame(client)
                if frame is None:
                    break
                api_key, _version, correlation_id = struct.unpack_from(">hhi", frame, 4)
                if api_key == API_PRODUCE and self._choose_to_drop():
                    doomed.add(correlation_id)
                broker.sendall(frame)
        except OSError:
            pass
        self._end(client, broker)

    def _responses(self, client, broker, doomed):
        try:
            while True:
                frame = _recv_frame(broker)
                if frame is None:
                    break
                correlation_id = struct.unpack_from(">i", frame, 4)[0]
                if correlation_id in doomed:
                    with self._lock:
                        self.dropped_responses += 1
                    break
                client.sendall(frame)
        except OSError:
            pass
        self._end(client, broker)

    def _end(self, client, broker):
        with self._lock:
            self._sockets.discard(client)
            self._sockets.discard(broker)
        _close(client)
        _close(broker)
