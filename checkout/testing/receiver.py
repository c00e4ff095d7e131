"""A tiny HTTP server that records webhook deliveries (raw bytes and headers) for tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ReceivedRequest:
    """One delivery as it arrived: method, path, headers and the raw body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float

    @property
    def event(self) -> str:
        return self.headers.get("X-Webhook-Event", "")

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Records every POST; answers ``status`` (default 200) to each."""

    host: str = "127.0.0.1"
    status: int = 200
    received: list[ReceivedRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the receiver first"
        return f"http://{self.host}:{self._server.server_address[1]}/hooks"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        ReceivedRequest(
                            "POST", self.path, dict(self.headers.items()), body, time.time()
                        )
                    )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def snapshot(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self.received)

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def wait_for(
        self, count: int, timeout: float = 10.0, event: str | None = None
    ) -> list[ReceivedRequest]:
        """Wait until ``count`` deliveries (of ``event``, if given) arrived; return them."""
        deadline = time.monotonic() + timeout
        while True:
            got = [r for r in self.snapshot() if event is None or r.event == event]
            if len(got) >= count or time.monotonic() >= deadline:
                return got
            time.sleep(0.05)
