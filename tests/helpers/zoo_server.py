"""A stand-in for the model zoo's download server: one file over HTTP on 127.0.0.1, from a thread.

Tests point src.model.pretrained at it through its test-only variables (FCN4_ZOO_URL, FCN4_ZOO_SHA256) and
give it a cache folder of their own (FCN4_CACHE), so nothing in the suite reaches the internet.
"""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from src.model.pretrained import CACHE_VARIABLE, SHA256_VARIABLE, URL_VARIABLE

FILE_NAME = "fcn4_zoo_test.ckpt"


class ZooServer:
    """Serves `body` at /FILE_NAME until stopped; `cut_after` bytes: announces the whole length, sends only
    that many and closes the connection (an interrupted download). `hits` counts the requests."""

    def __init__(self, body: bytes, cut_after: int | None = None) -> None:
        self.body = body
        self.cut_after = cut_after
        self.hits = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{FILE_NAME}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def env(self, cache: Path, sha256: str | None = None) -> dict[str, str]:
        """The variables that point src.model.pretrained here, with the served file's hash unless `sha256` is given."""
        return {
            URL_VARIABLE: self.url,
            SHA256_VARIABLE: sha256 or hashlib.sha256(self.body).hexdigest(),
            CACHE_VARIABLE: str(cache),
        }

    def stop(self) -> None:
        """Stop serving and close the port: later downloads fail as they do without a network."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.hits += 1
                if self.path != f"/{FILE_NAME}":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                sent = server.body if server.cut_after is None else server.body[: server.cut_after]
                self.wfile.write(sent)
                self.close_connection = True

            def log_message(self, *args) -> None:  # requests are not the test's output
                pass

        return Handler
