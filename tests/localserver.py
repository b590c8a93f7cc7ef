"""The HTTP plumbing both platform fakes share: a threaded server on 127.0.0.1 (free port) that
tracks its connections so `stop()` can close them, and stays quiet when a killed bot drops one."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast


class LocalServer(ThreadingHTTPServer):
    """A server on 127.0.0.1 for one fake; handlers reach the fake as `server.fake`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: Any, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def close(self) -> None:
        """Stop serving and close every open connection (a waiting client sees it end)."""
        self.shutdown()
        self.server_close()
        with self.connections_lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client (a killed bot) drops its connection."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class TrackingHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no Nagle stalls, connections tracked by the server."""

    protocol_version = "HTTP/1.1"
    wbufsize = -1  # buffered: one send per response (with NODELAY, no 40 ms Nagle stalls)

    def setup(self) -> None:
        """Disable Nagle and track the connection so stop() can close it."""
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()
        server = cast(LocalServer, self.server)
        with server.connections_lock:
            server.connections.add(self.connection)

    def finish(self) -> None:
        """Forget the connection."""
        server = cast(LocalServer, self.server)
        with server.connections_lock:
            server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()
