"""A store's webhook endpoint on a real local HTTP server, for the delivery and verifier tests."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kinsave.webhooks.signing import verify


class Receiver:
    """A store's webhook endpoint: answers the queued statuses (then 200), checks signatures."""

    def __init__(self) -> None:
        self.secret = ""
        self.statuses: list[int] = []
        self.received: list[dict[str, Any]] = []
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                receiver.received.append(
                    {
                        "body": json.loads(body),
                        "raw": body,  # exactly as it arrived, for verifiers of the raw bytes
                        "headers": dict(self.headers),
                        "verified": verify(
                            receiver.secret, self.headers["Kinsave-Signature"], body, time.time()
                        ),
                    }
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"boom")

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/kinsave/webhooks"
