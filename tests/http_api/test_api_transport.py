"""HTTP transport of the API against the real binary: keep-alive, header/body limits,
timeouts, the connection cap, graceful stop, and TLS (cert mode with file reload, and
the ACME modes before a certificate exists). Loopback only; every wait is bounded."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, run_main, wait_until  # noqa: E402
import raw_http  # noqa: E402


def eq(actual, expected, what=""):
    assert actual == expected, f"{what}: expected {expected!r}, got {actual!r}"


def test_keep_alive_serves_several_requests_on_one_connection():
    with Server() as srv:
        with raw_http.connect(srv.api_port) as sock:
            for _ in range(3):
                sock.sendall(raw_http.build("GET", "/health"))
                eq(raw_http.read_response(sock).status, 200)
            sock.sendall(raw_http.build("POST", "/register"))
            eq(raw_http.read_response(sock).status, 201)


def test_header_over_limit_is_431_and_closes():
    with Server({"api": {"max_header_bytes": 1024}}) as srv:
        with raw_http.connect(srv.api_port) as sock:
            sock.sendall(raw_http.build("GET", "/health", headers={"X-Padding": "p" * 4000}))
            r = raw_http.read_response(sock)
            eq((r.status, r.body), (431, b'{"error": "header_too_large"}'))
            assert raw_http.closed_by_peer(sock, 5), "connection closed after 431"


def test_malformed_request_is_400():
    with Server() as srv:
        r = raw_http.send_raw(srv.api_port, b"NOT A REQUEST\r\n\r\n")
        eq((r.status, r.body), (400, b'{"error": "bad_request"}'))


def test_expect_100_continue():
    with Server() as srv:
        with raw_http.connect(srv.api_port) as sock:
            body = b'{"allowfrom": ["127.0.0.0/8"]}'
            head = raw_http.build("POST", "/register", body, {"Expect": "100-continue"})[:-len(body)]
            sock.sendall(head)
            interim = raw_http.read_response(sock)
            eq(interim.status, 100)
            sock.sendall(body)
            eq(raw_http.read_response(sock).status, 201)


def test_slow_request_is_cut_by_read_timeout_others_served():
    with Server({"api": {"read_timeout_ms": 700}}) as srv:
        with raw_http.connect(srv.api_port) as slow:
            slow.sendall(b"POST /register HTTP/1.1\r\nHost: x\r\n")  # never finishes
            start = time.monotonic()
            eq(raw_http.request(srv.api_port, "GET", "/health").status, 200, "others are served meanwhile")
            assert raw_http.closed_by_peer(slow, 5), "slow request closed"
            elapsed = time.monotonic() - start
            assert 0.4 < elapsed < 4, elapsed


def test_idle_keep_alive_connection_closed_after_idle_timeout():
    with Server({"api": {"idle_timeout_ms": 600}}) as srv:
        with raw_http.connect(srv.api_port) as sock:
            sock.sendall(raw_http.build("GET", "/health"))
            eq(raw_http.read_response(sock).status, 200)
            start = time.monotonic()
            assert raw_http.closed_by_peer(sock, 5)
            assert 0.3 < time.monotonic() - start < 4


def test_connection_cap():
    with Server({"api": {"max_connections": 3, "read_timeout_ms": 20000}}) as srv:
        held = []
        try:
            # A served request proves each connection was accepted and counted; keep-alive
            # holds it. The harness's own /health connections may still be counted for a
            # moment after it closed them, so a slot refused now is retried (bounded).
            for _ in range(50):
                if len(held) == 3:
                    break
                s = raw_http.connect(srv.api_port)
                try:
                    s.sendall(raw_http.build("GET", "/health"))
                    eq(raw_http.read_response(s).status, 200)
                    held.append(s)
                except (ConnectionError, OSError):
                    s.close()
                    time.sleep(0.1)
            assert len(held) == 3, "could not hold 3 connections under a cap of 3"
            with raw_http.connect(srv.api_port) as extra:
                assert raw_http.closed_by_peer(extra, 5), "4th connection refused at the cap"
            held.pop().close()

            def served():
                try:
                    return raw_http.request(srv.api_port, "GET", "/health", timeout=2).status == 200
                except (ConnectionError, OSError):
                    return False
            wait_until(served, 5, what="a slot after one connection closed")
        finally:
            for s in held:
                s.close()


def test_sigterm_closes_idle_keep_alive_connections_promptly():
    srv = Server({"api": {"idle_timeout_ms": 60000}})
    try:
        sock = raw_http.connect(srv.api_port)
        sock.sendall(raw_http.build("GET", "/health"))
        eq(raw_http.read_response(sock).status, 200)
        start = time.monotonic()
        os.kill(srv.process.pid, signal.SIGTERM)
        assert raw_http.closed_by_peer(sock, 10), "idle connection closed on stop"
        assert time.monotonic() - start < 2.5, "stop closed the idle connection instead of waiting for its timeout"
        sock.close()
        srv.process.proc.wait(timeout=15)
    finally:
        srv.close()


# ---- TLS ----

def make_cert(directory, name, cn):
    key = os.path.join(directory, f"{name}.key")
    cert = os.path.join(directory, f"{name}.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={cn}",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def install(src, dst):
    """Atomic replacement, as certbot and cert-manager do."""
    tmp = dst + ".tmp"
    with open(src, "rb") as f, open(tmp, "wb") as g:
        g.write(f.read())
    os.replace(tmp, dst)


def tls_client(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def peer_cn(port, cafile):
    ctx = tls_client(cafile)
    with raw_http.connect(port, tls=ctx, server_hostname="127.0.0.1") as sock:
        subject = dict(x[0] for x in sock.getpeercert()["subject"])
        sock.sendall(raw_http.build("GET", "/health"))
        r = raw_http.read_response(sock)
        return subject["commonName"], r


def start_without_http_wait(srv, ready):
    srv.process = harness.Process([harness.BIN, "-c", srv.config_path], os.path.join(srv.dir, "server.log"))

    def check():
        if not srv.process.alive():
            raise AssertionError("acme-dnsd exited early:\n" + srv.process.output())
        return ready()
    wait_until(check, 15, what="server start")


def test_tls_cert_mode_serves_and_reloads_changed_files():
    d = tempfile.mkdtemp(prefix="acmednsd-tls-")
    live_cert, live_key = os.path.join(d, "fullchain.pem"), os.path.join(d, "privkey.pem")
    srv = Server({"api": {"tls": "cert", "tls_cert_fullchain": live_cert, "tls_cert_privkey": live_key,
                          "hsts_enabled": True}}, workdir=d, start=False)
    try:
        first_cert, first_key = make_cert(d, "first", "first.example.test")
        second_cert, second_key = make_cert(d, "second", "second.example.test")
        install(first_cert, live_cert)
        install(first_key, live_key)

        def up():
            try:
                return peer_cn(srv.api_port, first_cert)[1].status == 200
            except (OSError, ssl.SSLError, ConnectionError):
                return False
        start_without_http_wait(srv, up)
        cn, r = peer_cn(srv.api_port, first_cert)
        eq(cn, "first.example.test")
        assert (r.header("Strict-Transport-Security") or "").startswith("max-age="), r.headers
        # Plain HTTP on the TLS port gets no answer.
        try:
            plain = raw_http.request(srv.api_port, "GET", "/health", timeout=3)
            assert plain.status != 200, plain
        except (ConnectionError, OSError):
            pass
        # TLS 1.1 is refused.
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        handshake_ok = False
        try:
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
            old.set_ciphers("ALL:@SECLEVEL=0")
            with raw_http.connect(srv.api_port, tls=old, server_hostname="127.0.0.1"):
                handshake_ok = True
        except (ssl.SSLError, ConnectionError, OSError):
            pass
        assert not handshake_ok, "a TLS 1.1 handshake succeeded"
        # Replace both files; new connections pick up the new certificate, no restart.
        install(second_key, live_key)
        install(second_cert, live_cert)

        def rotated():
            try:
                return peer_cn(srv.api_port, second_cert)[0] == "second.example.test"
            except (OSError, ssl.SSLError, ConnectionError):
                return False
        wait_until(rotated, 10, what="the new certificate to be served")
        assert srv.process.alive()
    finally:
        srv.close()
        shutil.rmtree(d, ignore_errors=True)


def test_tls_acme_mode_without_certificate_keeps_running():
    d = tempfile.mkdtemp(prefix="acmednsd-tls-")
    cache = os.path.join(d, "api-certs")
    srv = Server({"api": {"tls": "acme", "acme_cache_dir": cache}}, workdir=d, start=False)
    try:
        def dns_up():
            return "status: NOERROR" in srv.dig(srv.domain, "SOA").stdout
        start_without_http_wait(srv, dns_up)
        cert, key = make_cert(d, "api", "auth.example.test")
        handshake_ok = False
        try:
            with raw_http.connect(srv.api_port, tls=tls_client(cert), server_hostname="127.0.0.1"):
                handshake_ok = True
        except (ssl.SSLError, ConnectionError, OSError):
            pass
        assert not handshake_ok, "handshake succeeded without a certificate"
        assert srv.process.alive(), "the process keeps running for the DNS plane"
        assert "no certificate" in srv.process.output().lower() or \
            "no usable tls certificate" in srv.process.output().lower(), srv.process.output()
        # The ACME client writes the files: the next connections use them.
        folder = os.path.join(cache, srv.domain)
        os.makedirs(folder, exist_ok=True)
        install(key, os.path.join(folder, "privkey.pem"))
        install(cert, os.path.join(folder, "fullchain.pem"))

        def served():
            try:
                return peer_cn(srv.api_port, cert)[1].status == 200
            except (OSError, ssl.SSLError, ConnectionError):
                return False
        wait_until(served, 10, what="HTTPS once the certificate exists")
    finally:
        srv.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run_main([
        test_keep_alive_serves_several_requests_on_one_connection,
        test_header_over_limit_is_431_and_closes,
        test_malformed_request_is_400,
        test_expect_100_continue,
        test_slow_request_is_cut_by_read_timeout_others_served,
        test_idle_keep_alive_connection_closed_after_idle_timeout,
        test_connection_cap,
        test_sigterm_closes_idle_keep_alive_connections_promptly,
        test_tls_cert_mode_serves_and_reloads_changed_files,
        test_tls_acme_mode_without_certificate_keeps_running,
    ])
