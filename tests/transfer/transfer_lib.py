"""Zone-transfer test helpers: NSD and Knot as TSIG secondaries of a running acme-dnsd,
and a small independent TSIG signer (RFC 8945, Python's hmac) for hand-made requests.

Every process is started on free loopback ports and stopped by PID; every wait is bounded.
"""
import base64
import hashlib
import hmac
import os
import re
import secrets
import socket
import struct
import subprocess
import time

import harness
import peers

LOOPBACK = peers.LOOPBACK
KEY_NAME = "xfr-key"
ZONE = "auth.example.test"


def new_secret():
    return base64.b64encode(secrets.token_bytes(32)).decode()


def tsig_toml(secret, name=KEY_NAME, algorithm="hmac-sha256"):
    return f'[[tsig_key]]\nname = "{name}"\nalgorithm = "{algorithm}"\nsecret = "{secret}"\n'


# ---------------------------------------------------------------- wire helpers

def wire_name(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".") if l) + b"\0"


def query(name, qtype, qid=None, authority=b"", nscount=0, opcode=0):
    qid = secrets.randbits(16) if qid is None else qid
    flags = opcode << 11
    return struct.pack("!HHHHHH", qid, flags, 1, 0, nscount, 0) + wire_name(name) + struct.pack("!HH", qtype, 1) + authority


def ixfr_query(serial, name=ZONE, qid=None):
    """IXFR with the client's SOA (RFC 1995 3) in the authority section."""
    rdata = wire_name("ns." + name) + wire_name("h." + name) + struct.pack("!IIIII", serial, 1, 1, 1, 1)
    soa = b"\xc0\x0c" + struct.pack("!HHIH", 6, 1, 0, len(rdata)) + rdata
    return query(name, 251, qid, soa, 1)


_ALGS = {"hmac-sha256": hashlib.sha256, "hmac-sha384": hashlib.sha384, "hmac-sha512": hashlib.sha512}


def tsig_sign(msg, secret_b64, name=KEY_NAME, algorithm="hmac-sha256", time_signed=None, fudge=300):
    """Appends a TSIG record (RFC 8945 4.3) computed with Python's hmac; returns bytes."""
    key = base64.b64decode(secret_b64)
    time_signed = int(time.time()) if time_signed is None else time_signed
    kname, aname = wire_name(name.lower()), wire_name(algorithm)
    t48 = struct.pack("!HI", time_signed >> 32, time_signed & 0xFFFFFFFF)
    variables = kname + struct.pack("!HI", 255, 0) + aname + t48 + struct.pack("!HHH", fudge, 0, 0)
    mac = hmac.new(key, msg + variables, _ALGS[algorithm]).digest()
    qid = msg[:2]
    rdata = aname + t48 + struct.pack("!HH", fudge, len(mac)) + mac + qid + struct.pack("!HH", 0, 0)
    rr = kname + struct.pack("!HHIH", 250, 255, 0, len(rdata)) + rdata
    arcount = struct.unpack("!H", msg[10:12])[0] + 1
    return msg[:10] + struct.pack("!H", arcount) + msg[12:] + rr


def rcode(resp):
    return resp[3] & 0x0F


def counts(resp):
    return struct.unpack("!HHHH", resp[4:12])


def udp_ask(port, msg, timeout=2.0, source=LOOPBACK):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(timeout)
        s.sendto(msg, (LOOPBACK, port))
        return s.recvfrom(65535)[0]


def tcp_messages(port, msg, timeout=5.0, source=LOOPBACK, max_messages=100000):
    """Sends one request over TCP and reads answers until the peer closes, the timeout
    passes, or an answer is not NOERROR / ends a transfer (second SOA at the end)."""
    out = []
    with socket.create_connection((LOOPBACK, port), timeout=timeout, source_address=(source, 0)) as s:
        s.sendall(struct.pack("!H", len(msg)) + msg)
        soas = 0
        while len(out) < max_messages:
            try:
                n = struct.unpack("!H", harness.recv_exact(s, 2))[0]
                m = harness.recv_exact(s, n)
            except (ConnectionError, socket.timeout):
                break
            out.append(m)
            if rcode(m) != 0:
                break
            soas += soa_count(m)
            if soas >= 2 or (soas == 1 and counts(m)[1] == 1 and len(out) == 1 and _is_single_soa(m)):
                break
    return out


def _skip_name(m, pos):
    while True:
        n = m[pos]
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + n
        if n == 0:
            return pos


def _walk(m, sections):
    """(type, rdata offset, rdata length) of each record in the first `sections` record
    sections after the question (1: answers; 3: answers, authority, additional)."""
    qd, *rest = counts(m)
    pos = 12
    for _ in range(qd):
        pos = _skip_name(m, pos) + 4
    for _ in range(sum(rest[:sections])):
        pos = _skip_name(m, pos)
        rtype, _, _, rdlen = struct.unpack("!HHIH", m[pos:pos + 10])
        yield rtype, pos + 10, rdlen
        pos += 10 + rdlen


def records(m):
    """(type, rdata) of each answer record."""
    return [(rtype, m[at:at + rdlen]) for rtype, at, rdlen in _walk(m, 1)]


def tsig_record(m):
    """(mac, error, other) of the TSIG record at the end of `m`, or None."""
    last = None
    for last in _walk(m, 3):
        pass
    if last is None or last[0] != 250:
        return None
    at = _skip_name(m, last[1]) + 8  # algorithm name, time signed, fudge
    mac_len = struct.unpack("!H", m[at:at + 2])[0]
    mac = m[at + 2:at + 2 + mac_len]
    at += 2 + mac_len + 2  # original ID
    error, other_len = struct.unpack("!HH", m[at:at + 4])
    return mac, error, m[at + 4:at + 4 + other_len]


def soa_count(m):
    return sum(1 for t, _ in records(m) if t == 6)


def _is_single_soa(m):
    return counts(m)[1] == 1 and records(m)[0][0] == 6


# ---------------------------------------------------------------- secondaries

class NsdSecondary(peers._Peer):
    """NSD pulling ZONE from acme-dnsd at 127.0.0.1@primary_port with TSIG, accepting
    its signed NOTIFY."""

    name = "nsd"

    def __init__(self, dir, primary_port, secret, port=None, axfr_only=False, address=LOOPBACK, notify=True):
        super().__init__(dir)
        self.address = address
        self.port = port or harness.free_port(address)
        self.primary_port = primary_port
        self.secret = secret
        self.axfr_only = axfr_only
        self.notify = notify  # False: NOTIFY is refused, the zone follows only the SOA refresh

    def write_config(self):
        d = self.dir
        request = f"{LOOPBACK}@{self.primary_port} {KEY_NAME}"
        if self.axfr_only:
            request = f"AXFR {request}"
        text = "\n".join([
            "server:",
            f"    ip-address: {self.address}",
            f"    port: {self.port}",
            "    do-ip4: yes", "    do-ip6: no",
            '    username: ""', '    chroot: ""',
            f'    zonesdir: "{d}"', '    database: ""',
            f'    pidfile: "{d}/nsd.pid"', f'    xfrdfile: "{d}/xfrd.state"', f'    xfrdir: "{d}"',
            f'    zonelistfile: "{d}/zone.list"', f'    logfile: "{d}/nsd-internal.log"',
            "    server-count: 1", "    rrl-ratelimit: 0", "    rrl-whitelist-ratelimit: 0",
            "    xfrd-reload-timeout: 0", "    verbosity: 2",
            "", "remote-control:", "    control-enable: no", "",
            "key:", f'    name: "{KEY_NAME}"', "    algorithm: hmac-sha256", f'    secret: "{self.secret}"', "",
            "zone:", f'    name: "{ZONE}"', f'    zonefile: "{d}/{ZONE}.zone"',
            f"    request-xfr: {request}",
        ] + ([f"    allow-notify: {LOOPBACK} {KEY_NAME}"] if self.notify else []) + [""])
        self.config_path = os.path.join(d, "nsd.conf")
        with open(self.config_path, "w") as f:
            f.write(text)
        peers._run(["nsd-checkconf", self.config_path])

    def start(self, timeout=15.0):
        self.write_config()
        self._spawn(["nsd", "-d", "-c", self.config_path])
        harness.wait_until(lambda: self._check_alive() or
                           peers.dns_probe(self.port, "example.", 6, host=self.address) is not None,
                           timeout, what="nsd answering")
        return self

    def output(self):
        return peers.nsd_output(super().output(), self.dir)

    # answers
    def dig(self, name, rtype="TXT", *extra):
        return subprocess.run(["dig", f"@{self.address}", "-p", str(self.port), name, rtype, "+time=2", "+tries=1",
                               "+norec", *extra], capture_output=True, text=True, timeout=20)

    def serial(self):
        out = self.dig(ZONE + ".", "SOA", "+short").stdout.split()
        return int(out[2]) if len(out) >= 7 else None

    def txt_values(self, name):
        out = self.dig(name, "TXT", "+short").stdout
        return sorted(l.strip().strip('"') for l in out.splitlines() if l.strip())


class KnotSecondary(NsdSecondary):
    name = "knot"

    def write_config(self):
        d = self.dir
        text = "\n".join([
            "server:", f'    rundir: "{d}"', f'    pidfile: "{d}/knot.pid"', f"    listen: {LOOPBACK}@{self.port}",
            "", "log:", "  - target: stderr", "    any: info",
            "", "database:", f'    storage: "{d}/knot-db"',
            "", "control:", f'    listen: "{d}/knot.sock"',
            "", "key:", f"  - id: {KEY_NAME}", "    algorithm: hmac-sha256", f"    secret: {self.secret}",
            "", "remote:", "  - id: primary", f"    address: {LOOPBACK}@{self.primary_port}", f"    key: {KEY_NAME}",
            "", "acl:", "  - id: notify-from-primary", f"    address: {LOOPBACK}", f"    key: {KEY_NAME}",
            "    action: notify",
            "", "template:", "  - id: default", f'    storage: "{d}"', '    file: "%s.zone"',
            "    zonefile-sync: -1", "    journal-content: none", "    semantic-checks: off",
            "", "zone:", f"  - domain: {ZONE}.", "    master: primary", "    acl: notify-from-primary", "",
        ])
        self.config_path = os.path.join(d, "knot.conf")
        with open(self.config_path, "w") as f:
            f.write(text)
        peers._run(["knotc", "-c", self.config_path, "conf-check"])

    def start(self, timeout=15.0):
        self.write_config()
        self._spawn(["knotd", "-c", self.config_path])
        harness.wait_until(lambda: self._check_alive() or peers.dns_probe(self.port, "example.", 6) is not None,
                           timeout, what="knot answering")
        return self

    def transfers(self, kind):
        """Finished incoming transfers of `kind` ("AXFR" or "IXFR") in Knot's log."""
        # Knot 3.2: "IXFR, incoming, remote A@P TCP, finished"; 3.4 adds ", key NAME." before it.
        return len(re.findall(rf"{kind}, incoming, remote [^\n]*?, finished", self.output()))


class BindSecondary(NsdSecondary):
    """BIND 9 (named) as a TSIG secondary, configured as docs/secondaries.md's recipe:
    `primaries { ... key }`, `allow-notify { key }`, `request-ixfr yes`."""

    name = "bind"

    def write_config(self):
        d = self.dir
        text = "\n".join([
            "options {", f'    directory "{d}";', f'    pid-file "{d}/named.pid";',
            f'    session-keyfile "{d}/session.key";', f'    managed-keys-directory "{d}";',
            f"    listen-on port {self.port} {{ {LOOPBACK}; }};", "    listen-on-v6 { none; };",
            "    recursion no;", "    notify no;", "    dnssec-validation no;",
            "    rate-limit { responses-per-second 0; };",
            "};", "controls { };",
            f'key "{KEY_NAME}" {{', "    algorithm hmac-sha256;", f'    secret "{self.secret}";', "};",
            f'zone "{ZONE}" {{', "    type secondary;", f'    file "{d}/{ZONE}.db";',
            f'    primaries {{ {LOOPBACK} port {self.primary_port} key "{KEY_NAME}"; }};',
            f'    allow-notify {{ key "{KEY_NAME}"; }};' if self.notify else "    allow-notify { none; };",
            "    request-ixfr yes;", "};", "",
        ])
        self.config_path = os.path.join(d, "named.conf")
        with open(self.config_path, "w") as f:
            f.write(text)
        peers._run(["named-checkconf", self.config_path])

    def start(self, timeout=15.0):
        self.write_config()
        # -g: foreground, log to stderr; -d 3: it logs whether a transfer was incremental.
        self._spawn(["named", "-g", "-d", "3", "-c", self.config_path])
        harness.wait_until(lambda: self._check_alive() or peers.dns_probe(self.port, "example.", 6) is not None,
                           timeout, what="named answering")
        return self

    def transfers(self, kind):
        """Incoming transfers of `kind` in named's log (-d 3 says which form the answer took)."""
        form = "incremental" if kind == "IXFR" else "nonincremental"
        return len(re.findall(rf"transfer of '[^']+' from \S+: got {form} response", self.output()))


def primary_sections(secondary_ports, allow=("127.0.0.0/8",), require=(KEY_NAME,), **extra):
    transfer = {"allow": list(allow), "require_tsig": list(require),
                "notify": [f"{LOOPBACK}:{p}" for p in secondary_ports], "notify_tsig": KEY_NAME}
    transfer.update(extra)
    return {"transfer": transfer}


def wait_converged(primary, secondaries, names, timeout=20.0):
    """Waits until every secondary answers the primary's serial and, for each name, the
    primary's TXT set; returns that serial."""
    state = {}

    def same():
        serial = int(primary.dig(ZONE + ".", "SOA", "+short").stdout.split()[2])
        want = {n: primary.txt_values(f"{n}.{ZONE}") for n in names}
        for s in secondaries:
            if s.serial() != serial:
                state["why"] = f"{s.name} serial {s.serial()} != {serial}"
                return False
            for n, values in want.items():
                got = s.txt_values(f"{n}.{ZONE}")
                if got != values:
                    state["why"] = f"{s.name} {n}: {got} != {values}"
                    return False
        state["serial"] = serial
        return True

    try:
        harness.wait_until(same, timeout, interval=0.1, what="secondaries to converge")
    except AssertionError as e:
        raise AssertionError(f"{e}: {state.get('why')}") from None
    return state["serial"]
