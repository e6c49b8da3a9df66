#!/usr/bin/python3
"""Records the request frames a real client sends to a fake broker.

  capture.py OUT_PREFIX -- CLIENT COMMAND WITH {port}

Listens on 127.0.0.1, runs the client with {port} replaced, stores every frame
it receives (without the 4-byte size) as OUT_PREFIX-<n>.bin for up to 3 seconds
per connection, never answers, then stops the client. Used once to make the
fixtures in this folder; the tests only read the .bin files.
"""
import socket
import struct
import subprocess
import sys
import time


def main():
    prefix = sys.argv[1]
    command = [arg for arg in sys.argv[3:]]
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    client = subprocess.Popen([arg.replace("{port}", str(port)) for arg in command],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server.settimeout(10)
    conn, _ = server.accept()
    conn.settimeout(0.5)
    data = b""
    deadline = time.time() + 3
    while time.time() < deadline:
        try:
            chunk = conn.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        data += chunk
    conn.close()
    client.kill()
    client.wait()
    n = 0
    while len(data) >= 4:
        size = struct.unpack(">i", data[:4])[0]
        if len(data) < 4 + size:
            break
        with open(f"{prefix}-{n}.bin", "wb") as f:
            f.write(data[4:4 + size])
        print(f"{prefix}-{n}.bin: {size} bytes")
        data = data[4 + size:]
        n += 1


if __name__ == "__main__":
    main()
