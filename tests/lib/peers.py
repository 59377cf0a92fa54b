"""Real peers for integration and end-to-end tests: a throw-away CA (openssl CLI),
Pebble (ACME CA), unbound (recursive resolver), NSD and Knot (authoritative servers).

Every peer runs in the foreground on free loopback ports (harness.free_port), writes its
config, state and log into the folder it is given, and is stopped by PID
(harness.Process). Every wait is bounded. Python stdlib plus the Debian binaries only.

Typical use:
    with Nsd(d, zones={"example.test": text}) as nsd, \\
         Unbound(d, stubs={"example.test": nsd.addr, "auth.example.test": srv_addr}) as ub:
        ...
"""
import base64
import json
import os
import secrets
import socket
import ssl
import struct
import subprocess
import time
import urllib.request

import harness

LOOPBACK = "127.0.0.1"


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def _run(argv, cwd=None, timeout=60):
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def free_loopback_address(port, tries=50):
    """A random 127/8 address (not 127.0.0.x) on which `port` is free for UDP and TCP.

    For the one peer that must listen on a fixed port (53, for a resolver named in a
    resolv.conf, which has no port syntax): a fresh address instead of a fresh port.
    Binding port 53 needs root, as the namespaced tests already do.
    """
    rng = secrets.SystemRandom()
    for _ in range(tries):
        addr = f"127.{rng.randint(64, 250)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                t.bind((addr, port))
                u.bind((addr, port))
                return addr
        except PermissionError as e:
            raise AssertionError(f"binding {addr}:{port} needs root (run the tests as root): {e}")
        except OSError:
            continue
    raise RuntimeError(f"no loopback address with port {port} free")


def _write(path, text, mode=None):
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)
    return path


def dns_probe(port, name="test.", qtype=6, host=LOOPBACK, timeout=1.0, tcp=False):
    """Sends one DNS query (stdlib only); returns the response RCODE or None on no answer.

    Used as a readiness check: any well-formed response means the server is serving.
    """
    qid = secrets.randbits(16)
    qname = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".") if l) + b"\0"
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", qtype, 1)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        if tcp:
            with socket.create_connection((host, port), timeout=timeout) as s:
                s.sendall(struct.pack("!H", len(msg)) + msg)
                hdr = s.recv(14)
                data = hdr[2:]
        else:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.settimeout(timeout)
                s.sendto(msg, (host, port))
                data, _ = s.recvfrom(65535)
    except OSError:
        return None
    if len(data) < 12 or struct.unpack("!H", data[:2])[0] != qid:
        return None
    return data[3] & 0x0F


class _Peer:
    """Common lifecycle: a harness.Process, context manager, log access."""

    name = "peer"

    def __init__(self, dir):
        self.dir = os.path.abspath(dir)
        os.makedirs(self.dir, exist_ok=True)
        self.process = None

    def _spawn(self, argv, env=None, log_name=None):
        log = os.path.join(self.dir, log_name or f"{self.name}.log")
        self.process = harness.Process(argv, log, env=env, cwd=self.dir)
        return self.process

    def _check_alive(self):
        if self.process is None or not self.process.alive():
            raise AssertionError(f"{self.name} exited early:\n" + self.output()[-8000:])

    def output(self):
        return self.process.output() if self.process else ""

    def alive(self):
        return self.process is not None and self.process.alive()

    def stop(self):
        if self.process is not None:
            p, self.process = self.process, None
            code = p.stop()
            self._last_log = p.log_path
            return code
        return None

    close = stop

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        import sys
        if exc[0] is not None and self.process is not None:
            sys.stderr.write(f"---- {self.name} log ----\n" + self.output()[-8000:] + "\n")
        self.stop()


# ---------------------------------------------------------------------------
# Throw-away CA
# ---------------------------------------------------------------------------

class CA:
    """Paths of a throw-away CA and a leaf for 127.0.0.1/localhost signed by it."""

    def __init__(self, dir, ca_cert, ca_key, cert, key):
        self.dir, self.ca_cert, self.ca_key, self.cert, self.key = dir, ca_cert, ca_key, cert, key

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_cert)

    def __repr__(self):
        return f"CA(ca_cert={self.ca_cert!r}, cert={self.cert!r})"


def make_ca(dir, cn="acme-dnsd test CA", days=3):
    """Creates a P-256 CA and a leaf with SAN IP:127.0.0.1, IP:::1, DNS:localhost."""
    dir = os.path.abspath(dir)
    os.makedirs(dir, exist_ok=True)
    ca_key, ca_cert = os.path.join(dir, "ca.key"), os.path.join(dir, "ca.pem")
    key, csr, cert = (os.path.join(dir, n) for n in ("leaf.key", "leaf.csr", "leaf.pem"))
    ext = _write(os.path.join(dir, "leaf.ext"),
                 "basicConstraints=critical,CA:FALSE\n"
                 "keyUsage=critical,digitalSignature\n"
                 "extendedKeyUsage=serverAuth\n"
                 "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _run(["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca_cert,
          "-days", str(days), "-subj", f"/CN={cn}",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    _run(["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"])
    _run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
          "-CAcreateserial", "-out", cert, "-days", str(days), "-extfile", ext])
    return CA(dir, ca_cert, ca_key, cert, key)


# ---------------------------------------------------------------------------
# Pebble
# ---------------------------------------------------------------------------

# Debian unstable's Pebble, unpacked into tools/pebble/ by scripts/install-pebble-unstable.sh
# (called by install-deps.sh): renewalInfo (ARI), profiles, dns-account-01 and
# dns-persist-01, none of which bookworm's 2.4 (/usr/bin/pebble) has.
PEBBLE_UNSTABLE_VERSION = "2.10.0+ds1-2"


def pebble_unstable():
    """Path of the Pebble 2.10 binary; fails (never skips) when it is not installed."""
    root = os.path.join(harness.SOURCE_DIR, "tools", "pebble")
    binary = os.path.join(root, "usr", "bin", "pebble")
    stamp = os.path.join(root, "VERSION")
    try:
        with open(stamp) as f:
            installed = f.read().strip()
    except FileNotFoundError:
        installed = None
    if installed != PEBBLE_UNSTABLE_VERSION or not os.access(binary, os.X_OK):
        raise AssertionError(f"Pebble {PEBBLE_UNSTABLE_VERSION} is not installed in {root} "
                             f"(found {installed!r}): run scripts/install-deps.sh")
    return binary


class Pebble(_Peer):
    """Pebble ACME CA on free loopback ports, validating DNS-01 through `dns_server`.

    Pebble has two DNS clients. With `dns_server` ("host:port") it asks that server
    itself, over UDP only, without EDNS, and never retries a truncated answer over TCP:
    a TXT RRset over 512 bytes (eight or more challenge values) cannot be validated.
    With `resolv_conf_nameserver` (an address; port 53) it uses Go's standard resolver,
    which sends EDNS and retries over TCP like a production CA's resolver; Pebble then
    runs in a private mount namespace (unshare -m, root) where /etc/resolv.conf names
    that address, so nothing outside the test sees it.

    binary: the pebble executable (default bookworm's 2.4; pebble_unstable() for 2.10).
    profiles: {name: validity seconds} for Pebble 2.10's certificate profiles (RFC-draft
    acme-profiles); None leaves Pebble's config without profiles.

    Attributes: directory_url, port, mgmt_port, ca (the TLS CA that clients must trust,
    ca.ca_cert), eab_keys ({kid: base64url hmac} when eab=True).
    """

    name = "pebble"

    def __init__(self, dir, dns_server, eab=False, nonce_reject=0, start=True, ca=None,
                 extra_env=None, resolv_conf_nameserver=None, binary="pebble", profiles=None):
        super().__init__(dir)
        self.binary = binary
        self.dns_server = dns_server
        self.resolv_conf = None
        if resolv_conf_nameserver:
            assert not dns_server, "dns_server and resolv_conf_nameserver exclude each other"
            self.resolv_conf = _write(os.path.join(self.dir, "resolv.conf"),
                                      f"nameserver {resolv_conf_nameserver}\n"
                                      "options timeout:2 attempts:3\n")
        self.ca = ca or make_ca(os.path.join(self.dir, "tls"))
        self.port = harness.free_port(LOOPBACK, both=False)
        self.mgmt_port = harness.free_port(LOOPBACK, both=False)
        self.http_port = harness.free_port(LOOPBACK, both=False)
        self.tls_port = harness.free_port(LOOPBACK, both=False)
        self.eab_keys = {}
        if eab:
            for i in (1, 2):
                self.eab_keys[f"kid-{i}"] = base64.urlsafe_b64encode(
                    secrets.token_bytes(48)).decode().rstrip("=")
        cfg = {"pebble": {
            "listenAddress": f"{LOOPBACK}:{self.port}",
            "managementListenAddress": f"{LOOPBACK}:{self.mgmt_port}",
            "certificate": self.ca.cert,
            "privateKey": self.ca.key,
            "httpPort": self.http_port,
            "tlsPort": self.tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": bool(eab),
        }}
        if eab:
            cfg["pebble"]["externalAccountMACKeys"] = dict(self.eab_keys)
        if profiles:
            cfg["pebble"]["profiles"] = {
                name: {"description": f"{name} ({seconds} s)", "validityPeriod": seconds}
                for name, seconds in profiles.items()}
        self.config_path = _write(os.path.join(self.dir, "pebble-config.json"),
                                  json.dumps(cfg, indent=2))
        self.env = dict(os.environ)
        self.env.update({
            "PEBBLE_VA_NOSLEEP": "1",
            "PEBBLE_AUTHZREUSE": "0",
            "PEBBLE_WFE_NONCEREJECT": str(nonce_reject),
        })
        self.env.update(extra_env or {})
        if start:
            self.start()

    @property
    def directory_url(self):
        return f"https://{LOOPBACK}:{self.port}/dir"

    @property
    def mgmt_url(self):
        return f"https://{LOOPBACK}:{self.mgmt_port}"

    @property
    def tls_ca_bundle(self):
        """The CA certificate file clients must trust to talk to Pebble."""
        return self.ca.ca_cert

    def _get(self, url, timeout=5.0):
        with urllib.request.urlopen(url, timeout=timeout, context=self.ca.ssl_context()) as r:
            return r.status, r.read()

    def start(self, timeout=20.0):
        argv = [self.binary, "-config", self.config_path, "-dnsserver", self.dns_server or ""]
        if self.resolv_conf:
            # unshare and sh exec in place: the PID we stop is Pebble's.
            script = f'mount --bind "{self.resolv_conf}" /etc/resolv.conf && exec "$@"'
            argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", *argv]
        self._spawn(argv, env=self.env)

        def ready():
            self._check_alive()
            try:
                return self._get(self.directory_url, timeout=2.0)[0] == 200
            except (OSError, ssl.SSLError):
                return False

        harness.wait_until(ready, timeout, what="pebble directory")
        return self

    def root_pem(self, index=0):
        """Pebble's issuing root (changes every start), from the management listener."""
        status, body = self._get(f"{self.mgmt_url}/roots/{index}")
        assert status == 200, status
        return body.decode()

    def intermediate_pem(self, index=0):
        status, body = self._get(f"{self.mgmt_url}/intermediates/{index}")
        assert status == 200, status
        return body.decode()

    def set_renewal_info(self, certificate_pem, ari_response):
        """Pebble 2.10's management call that replaces the renewalInfo body served for
        one certificate (any text, even malformed JSON)."""
        body = json.dumps({"Certificate": certificate_pem, "ARIResponse": ari_response}).encode()
        request = urllib.request.Request(f"{self.mgmt_url}/set-renewal-info/", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=5.0, context=self.ca.ssl_context()) as r:
            assert r.status == 200, r.status

    def write_root(self, path=None):
        """Writes root_pem() to a file (default <dir>/pebble-root.pem); returns the path."""
        return _write(path or os.path.join(self.dir, "pebble-root.pem"), self.root_pem())


class DirectoryFilter:
    """An HTTPS front for one Pebble that serves its ACME directory without some fields.

    A CA "without ARI" or "without profiles" is, to an RFC 8555 client, a directory
    without `renewalInfo` or `meta.profiles`: that is all the client can see of it. Debian
    ships different Pebbles per release (bookworm 2.4 has neither; trixie's has ARI), so
    the tests that need such a CA filter the directory of one pinned Pebble instead of
    depending on which Pebble the distribution has. Only the directory passes through
    here; every URL in it still points at Pebble itself.

    drop: dotted field names, e.g. ("renewalInfo", "meta.profiles").
    Attributes: directory_url; `requests` counts the directories served.
    """

    def __init__(self, pebble, drop):
        import http.server
        import threading
        self.pebble, self.drop, self.requests = pebble, tuple(drop), 0
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/dir":
                    self.send_error(404)
                    return
                status, body = front.pebble._get(front.pebble.directory_url)
                assert status == 200, status
                directory = json.loads(body)
                for field in front.drop:
                    *parents, leaf = field.split(".")
                    node = directory
                    for parent in parents:
                        node = node.get(parent, {})
                    node.pop(leaf, None)
                body = json.dumps(directory).encode()
                front.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.port = harness.free_port(LOOPBACK, both=False)
        self.httpd = http.server.ThreadingHTTPServer((LOOPBACK, self.port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pebble.ca.cert, pebble.ca.key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def directory_url(self):
        return f"https://{LOOPBACK}:{self.port}/dir"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


# ---------------------------------------------------------------------------
# unbound
# ---------------------------------------------------------------------------

class Unbound(_Peer):
    """unbound as a loopback-only recursive resolver with stub zones.

    stubs: {zone: "127.0.0.1@port" or [addrs]}. Everything outside the stub zones is
    refused, so nothing leaves the machine. `cache_max_ttl` / `cache_max_negative_ttl`
    cap caching when a test needs fresh answers (None = unbound's defaults).
    """

    name = "unbound"

    def __init__(self, dir, stubs, start=True, port=None, cache_max_ttl=None,
                 cache_max_negative_ttl=None, extra_server="", verbosity=1, log_queries=True,
                 extra_interfaces=(), trust_anchors=()):
        """`trust_anchors`: DS or DNSKEY lines; with any, unbound validates (DNSSEC) and
        the stub zones are no longer declared insecure."""
        super().__init__(dir)
        self.port = port or harness.free_port(LOOPBACK)
        self.stubs = dict(stubs)
        lines = [
            "server:",
            f"    interface: {LOOPBACK}@{self.port}",
            *(f"    interface: {i}" for i in extra_interfaces),
            f"    port: {self.port}",
            "    interface-automatic: no",
            "    do-ip4: yes",
            "    do-ip6: no",
            "    do-udp: yes",
            "    do-tcp: yes",
            "    do-daemonize: no",
            "    do-not-query-localhost: no",
            '    username: ""',
            '    chroot: ""',
            f'    directory: "{self.dir}"',
            f'    pidfile: "{os.path.join(self.dir, "unbound.pid")}"',
            '    logfile: ""',
            "    use-syslog: no",
            "    log-time-ascii: yes",
            f"    verbosity: {verbosity}",
            f"    log-queries: {'yes' if log_queries else 'no'}",
            "    log-replies: no",
            "    num-threads: 1",
            "    so-reuseport: no",
            "    outgoing-range: 64",
            "    outgoing-num-tcp: 8",
            "    incoming-num-tcp: 16",
            '    module-config: "validator iterator"' if trust_anchors else '    module-config: "iterator"',
            '    root-hints: ""',
            "    access-control: 127.0.0.0/8 allow",
            "    hide-identity: yes",
            "    hide-version: yes",
            '    local-zone: "test." nodefault',
            '    local-zone: "." refuse',
        ]
        if cache_max_ttl is not None:
            lines.append(f"    cache-max-ttl: {cache_max_ttl}")
        if cache_max_negative_ttl is not None:
            lines.append(f"    cache-max-negative-ttl: {cache_max_negative_ttl}")
        for zone in self.stubs:
            # More specific than ".": these names are resolved through their stubs.
            lines.append(f'    local-zone: "{zone.rstrip(".")}." transparent')
            if not trust_anchors:
                lines.append(f'    domain-insecure: "{zone.rstrip(".")}."')
        for anchor in trust_anchors:
            lines.append(f'    trust-anchor: "{anchor}"')
        if trust_anchors:
            lines += ["    val-log-level: 2", "    harden-dnssec-stripped: yes"]
        if extra_server:
            lines.extend("    " + l.strip() for l in extra_server.strip().splitlines())
        lines += ["", "remote-control:", "    control-enable: no", ""]
        for zone, addrs in self.stubs.items():
            lines += ["stub-zone:", f'    name: "{zone.rstrip(".")}."']
            for a in [addrs] if isinstance(addrs, str) else addrs:
                lines.append(f"    stub-addr: {a}")
            lines.append("")
        self.config_path = _write(os.path.join(self.dir, "unbound.conf"), "\n".join(lines))
        _run(["unbound-checkconf", self.config_path])
        if start:
            self.start()

    @property
    def addr(self):
        return f"{LOOPBACK}@{self.port}"

    @property
    def hostport(self):
        return f"{LOOPBACK}:{self.port}"

    def start(self, timeout=15.0):
        self._spawn(["unbound", "-d", "-c", self.config_path])

        def ready():
            self._check_alive()
            # "." is refused locally: a REFUSED answer proves the listener is up.
            return dns_probe(self.port, ".", timeout=0.5) is not None

        harness.wait_until(ready, timeout, what="unbound listening")
        return self

    def dig(self, name, rtype="TXT", *extra):
        argv = ["dig", f"@{LOOPBACK}", "-p", str(self.port), name, rtype,
                "+time=3", "+tries=1", *extra]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)

    def txt_values(self, name, *extra):
        out = self.dig(name, "TXT", "+short", *extra).stdout
        # +short also prints the CNAME targets it followed; keep the TXT strings only.
        return sorted(l.strip().strip('"') for l in out.splitlines() if l.strip().startswith('"'))


# ---------------------------------------------------------------------------
# Authoritative servers
# ---------------------------------------------------------------------------

def zone_text(origin, records, serial=1, ns="ns1", ns_addr=LOOPBACK, ttl=60):
    """A small zone file: SOA, NS `ns` with its A record, then `records` (lines,
    relative or absolute names, appended as written)."""
    origin = origin.rstrip(".") + "."
    head = [
        f"$ORIGIN {origin}",
        f"$TTL {ttl}",
        f"@ IN SOA {ns}.{origin} hostmaster.{origin} {serial} 3600 600 86400 5",
        f"@ IN NS {ns}.{origin}",
        f"{ns} IN A {ns_addr}",
    ]
    return "\n".join(head + list(records)) + "\n"


class _Authoritative(_Peer):
    def _zone_file(self, name):
        return os.path.join(self.dir, name.rstrip(".").lower() + ".zone")

    def _write_zones(self, zones):
        self.zones = {}
        for name, text in zones.items():
            n = name.rstrip(".")
            self.zones[n] = text
            _write(self._zone_file(n), text)

    @property
    def addr(self):
        return f"{LOOPBACK}@{self.port}"

    @property
    def hostport(self):
        return f"{LOOPBACK}:{self.port}"

    def _wait_serving(self, timeout):
        zone = next(iter(self.zones), "test")

        def ready():
            self._check_alive()
            return dns_probe(self.port, zone + ".", timeout=0.5) == 0  # NOERROR SOA

        harness.wait_until(ready, timeout, what=f"{self.name} serving {zone}")

    def serial(self, zone=None):
        """The SOA serial the server answers for `zone` (default: its first zone)."""
        zone = zone or next(iter(self.zones))
        out = self.dig(zone + ".", "SOA", "+short").stdout.split()
        return int(out[2]) if len(out) >= 7 else None

    def reload(self, zones, timeout=10.0):
        """Rewrites the zone files of existing zones and reloads them with SIGHUP, keeping
        the same process and sockets (no port race). Each zone text must carry a higher
        SOA serial: the wait ends when every zone answers with its new serial."""
        import re
        import signal
        for name, text in zones.items():
            n = name.rstrip(".")
            assert n in self.zones, f"reload() only updates existing zones; {n} is new"
            self.zones[n] = text
            _write(self._zone_file(n), text)
        self._check_alive()
        os.kill(self.process.pid, signal.SIGHUP)
        want = {}
        for name, text in zones.items():
            m = re.search(r"\bSOA\s+\S+\s+\S+\s+(\d+)", text)
            want[name.rstrip(".")] = int(m.group(1)) if m else None

        def reloaded():
            self._check_alive()
            return all(w is None or self.serial(n) == w for n, w in want.items())

        harness.wait_until(reloaded, timeout, interval=0.05, what=f"{self.name} reload")
        return self

    def restart(self, zones=None, timeout=15.0):
        """Stops, optionally rewrites the zone files, and starts again on the same port."""
        self.stop()
        if zones is not None:
            self._write_zones(zones)
            self._write_config()
        return self.start(timeout)

    def dig(self, name, rtype="TXT", *extra):
        argv = ["dig", f"@{LOOPBACK}", "-p", str(self.port), name, rtype,
                "+time=2", "+tries=1", "+norec", *extra]
        return subprocess.run(argv, capture_output=True, text=True, timeout=20)


def nsd_output(stdout_text, dir):
    """NSD's stdout followed by its internal log (the "logfile" our configs put in `dir`)."""
    internal = os.path.join(dir, "nsd-internal.log")
    if os.path.exists(internal):
        with open(internal, errors="replace") as f:
            stdout_text += f.read()
    return stdout_text


class Nsd(_Authoritative):
    """NSD serving `zones` ({name: zone file text}) on a free loopback port, with
    rate limiting off and its pid/db/xfrd/zone-list files inside `dir`."""

    name = "nsd"

    def __init__(self, dir, zones, start=True, port=None, server_count=1, extra_server=""):
        super().__init__(dir)
        self.port = port or harness.free_port(LOOPBACK)
        self.server_count = server_count
        self.extra_server = extra_server
        self._write_zones(zones)
        self._write_config()
        if start:
            self.start()

    def _write_config(self):
        d = self.dir
        lines = [
            "server:",
            f"    ip-address: {LOOPBACK}",
            f"    port: {self.port}",
            "    do-ip4: yes",
            "    do-ip6: no",
            '    username: ""',
            '    chroot: ""',
            f'    zonesdir: "{d}"',
            '    database: ""',
            f'    pidfile: "{os.path.join(d, "nsd.pid")}"',
            f'    xfrdfile: "{os.path.join(d, "xfrd.state")}"',
            f'    xfrdir: "{d}"',
            f'    zonelistfile: "{os.path.join(d, "zone.list")}"',
            f'    logfile: "{os.path.join(d, "nsd-internal.log")}"',
            f"    server-count: {self.server_count}",
            "    rrl-ratelimit: 0",
            "    rrl-whitelist-ratelimit: 0",
            "    hide-version: yes",
            "    verbosity: 1",
        ]
        if self.extra_server:
            lines.extend("    " + l.strip() for l in self.extra_server.strip().splitlines())
        lines += ["", "remote-control:", "    control-enable: no", ""]
        for name in self.zones:
            lines += ["zone:", f'    name: "{name}"', f'    zonefile: "{self._zone_file(name)}"', ""]
        self.config_path = _write(os.path.join(d, "nsd.conf"), "\n".join(lines))
        _run(["nsd-checkconf", self.config_path])
        for name in self.zones:
            _run(["nsd-checkzone", name, self._zone_file(name)])

    def start(self, timeout=15.0):
        # A stale zone list from an earlier run would keep removed zones around.
        for f in ("zone.list", "xfrd.state", "nsd.pid"):
            try:
                os.unlink(os.path.join(self.dir, f))
            except FileNotFoundError:
                pass
        self._spawn(["nsd", "-d", "-c", self.config_path])
        self._wait_serving(timeout)
        return self

    def output(self):
        return nsd_output(super().output(), self.dir)


class Knot(_Authoritative):
    """Knot DNS (knotd) serving `zones` on a free loopback port, its rundir, database
    and control socket inside `dir`. No response-rate limiting (Knot's default)."""

    name = "knot"

    def __init__(self, dir, zones, start=True, port=None, udp_workers=None, tcp_workers=None,
                 extra_server="", zone_extra=""):
        """`zone_extra`: lines added to every zone, e.g. "module: mod-onlinesign"."""
        super().__init__(dir)
        self.zone_extra = zone_extra
        self.port = port or harness.free_port(LOOPBACK)
        self.udp_workers = udp_workers
        self.tcp_workers = tcp_workers
        self.extra_server = extra_server
        self._write_zones(zones)
        self._write_config()
        if start:
            self.start()

    def _write_config(self):
        d = self.dir
        # Knot creates its KASP database (DNSSEC keys) only inside an existing folder.
        os.makedirs(os.path.join(d, "knot-db"), exist_ok=True)
        lines = [
            "server:",
            f'    rundir: "{d}"',
            f'    pidfile: "{os.path.join(d, "knot.pid")}"',
            f"    listen: {LOOPBACK}@{self.port}",
        ]
        if self.udp_workers:
            lines.append(f"    udp-workers: {self.udp_workers}")
        if self.tcp_workers:
            lines.append(f"    tcp-workers: {self.tcp_workers}")
        if self.extra_server:
            lines.extend("    " + l.strip() for l in self.extra_server.strip().splitlines())
        lines += [
            "",
            "log:",
            "  - target: stderr",
            "    any: info",
            "",
            "database:",
            f'    storage: "{os.path.join(d, "knot-db")}"',
            "",
            "control:",
            f'    listen: "{os.path.join(d, "knot.sock")}"',
            "",
            "template:",
            "  - id: default",
            f'    storage: "{d}"',
            '    file: "%s.zone"',
            "    zonefile-sync: -1",
            "    zonefile-load: whole",
            "    journal-content: none",
            "    semantic-checks: off",
            "",
            "zone:",
        ]
        for name in self.zones:
            lines.append(f"  - domain: {name}.")
            lines.extend("    " + l.strip() for l in self.zone_extra.strip().splitlines() if l.strip())
        self.config_path = _write(os.path.join(d, "knot.conf"), "\n".join(lines) + "\n")
        _run(["knotc", "-c", self.config_path, "conf-check"])

    def start(self, timeout=15.0):
        self._spawn(["knotd", "-c", self.config_path])
        self._wait_serving(timeout)
        return self
