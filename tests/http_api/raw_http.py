"""Byte-exact HTTP/1.1 over a plain or TLS socket, for contract tests that compare
the wire bytes (http.client normalises too much). Python stdlib only; every socket
operation has a timeout."""
import socket
import ssl


class Response:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value) as sent
        self.body = body                # bytes
        self.raw_head = raw_head        # the status line and header bytes

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return f"Response({self.status}, {self.headers!r}, {self.body!r})"


def connect(port, host="127.0.0.1", tls=None, timeout=10.0, server_hostname=None):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_connection((host, port), timeout=timeout) if family == socket.AF_INET \
        else socket.create_connection((host, port, 0, 0), timeout=timeout)
    sock.settimeout(timeout)
    if tls is not None:
        sock = tls.wrap_socket(sock, server_hostname=server_hostname)
    return sock


def build(method, path, body=b"", headers=None, host="127.0.0.1"):
    """A request with Host and Content-Length only (no Content-Type unless given)."""
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for k, v in (headers or {}).items() if isinstance(headers, dict) else (headers or []):
        lines.append(f"{k}: {v}")
    if body or method in ("POST", "PATCH", "PUT", "DELETE"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_response(sock, max_bytes=1 << 20):
    """Reads one response (Content-Length framed, or until close)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            if not data:
                raise ConnectionError("connection closed before a response")
            raise ConnectionError(f"connection closed inside the header: {data!r}")
        data += chunk
        if len(data) > max_bytes:
            raise ValueError("response header too large")
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    version, status, *reason = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers.append((k.strip(), v.strip()))
    length = None
    for k, v in headers:
        if k.lower() == "content-length":
            length = int(v)
    body = rest
    if length is None:
        if int(status) in (204, 304) or 100 <= int(status) < 200:
            length = 0
        else:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body += chunk
            length = len(body)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed inside the body")
        body += chunk
    resp = Response(int(status), reason[0] if reason else "", headers, body[:length], head)
    resp.leftover = body[length:]
    return resp


def request(port, method, path, body=b"", headers=None, host="127.0.0.1", tls=None, timeout=10.0):
    with connect(port, host, tls, timeout) as sock:
        sock.sendall(build(method, path, body, headers))
        return read_response(sock)


def send_raw(port, data, host="127.0.0.1", timeout=10.0):
    with connect(port, host, None, timeout) as sock:
        sock.sendall(data)
        return read_response(sock)


def closed_by_peer(sock, timeout):
    """True when the server closes `sock` within `timeout` seconds."""
    sock.settimeout(timeout)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return True
    except socket.timeout:
        return False
    except (ConnectionResetError, ssl.SSLError):
        return True
