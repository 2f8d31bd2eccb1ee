"""A real S3-compatible server for the tests: moto's server app on 127.0.0.1, started and
stopped by the tests themselves (no mock of the client: bazof talks HTTP to it).

Two small WSGI layers sit in front of moto's app:
- a lock around each request. moto checks `If-None-Match: *` and then stores the object
  without holding a lock, so two racing conditional PUTs could both win; S3 does the check
  and the write atomically. With the lock moto gives S3's guarantee, which is what the
  concurrent-writer tests rely on.
- a request log (method, path, query, Range header, response bytes) and fault injection:
  `fail_from(k)` answers every request from the k-th on (counted from the call) with a 500,
  as a server dying mid-operation would; `fail_once(k)` fails only the k-th; `lose_answer(k)`
  lets the server carry out the k-th request but answers it with a 500.
"""
import logging
import socket
import threading
from dataclasses import dataclass

from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                           create_backend_app)
from werkzeug.serving import make_server

TEST_KEY_ID = "bazof-test-key-id"
TEST_SECRET = "bazof-test-secret-never-printed"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Request:
    method: str
    path: str
    query: str
    range: str
    bytes_out: int
    status: int


class S3Server:
    """moto's S3 app on 127.0.0.1:<free port>; start() and stop() it."""

    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.requests = []
        self._lock = threading.Lock()
        self._fail_from = None
        self._fail_only = None
        self._lose_answer = None
        self._seen = 0
        app = DomainDispatcherApplication(create_backend_app)

        def wrapped(environ, start_response):
            with self._lock:
                self._seen += 1
                n = self._seen
                if (self._fail_from is not None and n >= self._fail_from) or n == self._fail_only:
                    body = (b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>InternalError"
                            b"</Code><Message>injected failure</Message></Error>")
                    start_response("500 Internal Server Error",
                                   [("Content-Type", "application/xml"),
                                    ("Content-Length", str(len(body)))])
                    self._log(environ, len(body), 500)
                    return [body]
                status = []
                if n == self._lose_answer:
                    # Done by the server, but the client hears a 500 (a lost answer).
                    list(app(environ, lambda *a, **k: None))
                    body = b"<Error><Code>InternalError</Code><Message>answer lost</Message></Error>"
                    start_response("500 Internal Server Error",
                                   [("Content-Type", "application/xml"),
                                    ("Content-Length", str(len(body)))])
                    self._log(environ, len(body), 500)
                    return [body]

                def sr(s, headers, exc_info=None):
                    status.append(int(s.split()[0]))
                    return start_response(s, headers, exc_info)
                chunks = list(app(environ, sr))
                self._log(environ, sum(len(c) for c in chunks), status[0] if status else 0)
                return chunks

        self._server = make_server("127.0.0.1", self.port, wrapped, threaded=True,
                                   request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _log(self, environ, nbytes, status):
        self.requests.append(Request(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                                     environ.get("QUERY_STRING", ""),
                                     environ.get("HTTP_RANGE", ""), nbytes, status))

    def start(self):
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # ---- fault injection and request counting ------------------------------

    def fail_from(self, k):
        """Fail every request from the k-th (1-based, counted from now) on with a 500."""
        with self._lock:
            self._seen = 0
            self._fail_from, self._fail_only, self._lose_answer = k, None, None

    def fail_once(self, k):
        with self._lock:
            self._seen = 0
            self._fail_from, self._fail_only, self._lose_answer = None, k, None

    def lose_answer(self, k):
        with self._lock:
            self._seen = 0
            self._fail_from, self._fail_only, self._lose_answer = None, None, k

    def heal(self):
        with self._lock:
            self._fail_from = self._fail_only = self._lose_answer = None

    def mark(self):
        """-> a position in the request log (to count requests made after it)."""
        return len(self.requests)

    def since(self, mark):
        return self.requests[mark:]

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=TEST_KEY_ID, aws_secret_access_key=TEST_SECRET)

    def env(self):
        """Environment for bazof subprocesses talking to this server."""
        return {"AWS_ENDPOINT_URL_S3": self.endpoint, "AWS_ACCESS_KEY_ID": TEST_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": TEST_SECRET, "AWS_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true"}


def main():
    """`python s3_server.py PORT`: serve on 127.0.0.1:PORT until stdin closes. Set
    INITIAL_NO_AUTH_ACTION_COUNT in the environment to make moto check credentials and
    signatures after that many requests (it is read once, at import, hence a process)."""
    import sys
    server = S3Server()
    server._server.server_close()
    server.port = int(sys.argv[1])
    server.endpoint = f"http://127.0.0.1:{server.port}"
    app = server._server.app
    server._server = make_server("127.0.0.1", server.port, app, threaded=True,
                                 request_handler=MotoRequestHandler)
    server._thread = threading.Thread(target=server._server.serve_forever, daemon=True)
    server.start()
    print("ready", flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
