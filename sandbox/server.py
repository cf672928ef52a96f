"""HTTPS transport: a ThreadingHTTPServer over TLS plus small Request/Response/Router types.

The HTTP layer knows nothing about Azure: it parses a request, hands it to `app.handle()` and
writes the Response. Routing, faults, counters and the request log live in `sandbox.app`.
"""

import json
import re
import socket
import socketserver
import ssl
import sys
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 10 * 1024 * 1024
MAX_CHUNKS = 100000
IDLE_TIMEOUT = 60  # seconds an idle keep-alive connection (and its thread) is kept


class BadRequest(Exception):
    pass


class Request:
    def __init__(self, method, raw_path, headers, body, client=None):
        self.method = method.upper()
        self.raw_path = raw_path
        parts = urllib.parse.urlsplit(raw_path)
        # Clients that join "https://host/" + "/metadata/..." send "//metadata/..."; ARM tolerates it.
        self.path = re.sub(r"/{2,}", "/", parts.path) or "/"
        self.query_string = parts.query
        self.query_list = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        self.query = {}
        for key, value in self.query_list:
            self.query.setdefault(key, value)
        self.headers = headers
        self.body = body or b""
        self.client = client
        self.meta = {"kind": "other", "resource_type": None}

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        """Parsed JSON body ({} when empty). Raises ValueError on invalid JSON."""
        if not self.body.strip():
            return {}
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict:
        pairs = urllib.parse.parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        result = {}
        for key, value in pairs:
            result.setdefault(key, value)
        return result


class Response:
    def __init__(self, status, body=b"", headers=None, content_type=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.headers = dict(headers or {})
        if content_type and self.body:
            self.headers.setdefault("Content-Type", content_type)

    @classmethod
    def json(cls, status, obj, headers=None):
        # Serialised immediately so later changes to live state cannot leak into a sent response.
        return cls(status, json.dumps(obj, separators=(",", ":")), headers,
                   "application/json; charset=utf-8")

    @classmethod
    def empty(cls, status, headers=None):
        return cls(status, b"", headers)


class Router:
    """Ordered (method, regex) routes; the first match wins. `kind` labels the request log."""

    def __init__(self):
        self._routes = []

    def add(self, pattern, handler, methods=None, kind="other"):
        methods = None if methods is None else {m.upper() for m in methods}
        self._routes.append((methods, re.compile(pattern, re.IGNORECASE), handler, kind))

    def resolve(self, method, path):
        """Returns (handler, match, kind); handler None with kind 'method' if only the method is wrong."""
        path_matched = None
        for methods, regex, handler, kind in self._routes:
            match = regex.fullmatch(path)
            if not match:
                continue
            if methods is None or method in methods:
                return handler, match, kind
            path_matched = kind
        return None, None, ("method" if path_matched else "unknown")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive; every response carries Content-Length
    server_version = "KeylessSandbox/1"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    def setup(self):
        super().setup()
        # TLS handshake in the handler thread, not in accept(): a stalled client cannot block others.
        self.connection.do_handshake()

    def log_message(self, format, *args):  # signature fixed by BaseHTTPRequestHandler
        if self.server.verbose:
            sys.stderr.write(f"sandbox: {self.address_string()} - {format % args}\n")

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            for _index in range(MAX_CHUNKS):
                size = int(self.rfile.readline(64).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    for _trailer in range(100):  # trailers
                        if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                            break
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise BadRequest("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
            raise BadRequest("too many chunks")
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise BadRequest("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _dispatch(self):
        try:
            body = self._read_body()
        except (BadRequest, ValueError) as exc:
            self.close_connection = True
            self._send(Response.json(400, {"error": {"code": "BadRequest", "message": str(exc)}}))
            return
        request = Request(self.command, self.path, self.headers, body, self.client_address)
        response = self.server.app.handle(request)
        self._send(response)

    def _send(self, response):
        self.send_response(response.status)
        headers = dict(response.headers)
        headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
        for name, value in headers.items():
            self.send_header(name, str(value))
        if response.status not in (204, 304) and response.status >= 200:
            self.send_header("Content-Length", str(len(response.body)))  # RFC 9110: none on 204/304
        self.end_headers()
        if self.command != "HEAD" and response.status not in (204, 304) and response.body:
            self.wfile.write(response.body)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive threads must not delay shutdown
    allow_reuse_address = True

    def __init__(self, address, app, ssl_context, verbose=False):
        self.app = app
        self.ssl_context = ssl_context
        self.verbose = verbose
        super().__init__(address, _Handler)

    def server_bind(self):
        # HTTPServer.server_bind() calls socket.getfqdn(), a reverse DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = host, port

    def get_request(self):
        sock, address = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, TimeoutError, socket.timeout)):
            return  # client went away or does not trust the CA: not a sandbox bug
        super().handle_error(request, client_address)
