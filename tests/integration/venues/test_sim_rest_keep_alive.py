"""The simulated exchange keeps an idle keep-alive connection longer than its clients do
(issue #20, item 5): a server that closes first races the client's next request on that
connection, and the request goes unanswered."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from tests.integration.venues.keep_alive_race import UVICORN_DEFAULT_IDLE_S
from tests.integration.venues.sim_rest_support import running_venue

_PING = b"GET /api/v3/ping HTTP/1.1\r\nHost: venue\r\n\r\n"


def ping(sock: socket.socket) -> bytes:
    """One `GET /api/v3/ping` on `sock`: the answer's status line, or b'' when the server
    has closed the connection."""
    sock.sendall(_PING)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            return b""
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head.split(b"\r\n", 1)[0]


def test_an_idle_connection_outlives_uvicorns_default_idle_timeout() -> None:
    with running_venue() as (url, _):
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
            assert ping(sock) == b"HTTP/1.1 200 OK"
            time.sleep(UVICORN_DEFAULT_IDLE_S + 0.5)
            assert ping(sock) == b"HTTP/1.1 200 OK", "the venue closed an idle connection"
