"""The bad-input catalogue (README.md) run against the real binary.

One server is started; every entry of dns.txt and http.txt is sent to it and checked
as its own named check; afterwards "changed nothing" is checked (the account's values
in DNS, its key, its allowfrom, the account count, /health). Then every file in
config/ goes through --check-config and every case in import/ through
import-acme-dns. Expectations live in the catalogue files, not here.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import uuid

import harness
from harness import Server, run_main, txt_value

sys.path.insert(0, os.path.join(harness.SOURCE_DIR, "tests", "http_api"))
import raw_http  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "auth.example.test"
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


class CatalogueError(Exception):
    """The catalogue file itself is malformed (a test bug, reported as a failure)."""


# ---------------------------------------------------------------- shared text helpers

def unescape(text):
    """\\xHH \\r \\n \\t \\\\ -> bytes; any other backslash is kept."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2:i + 4]):
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            simple = {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\"}
            if n in simple:
                out += simple[n]
                i += 2
                continue
        out += c.encode()
        i += 1
    return bytes(out)


def expand(text, values):
    """Placeholders (${...}) and escapes -> bytes. `values` maps names to strings."""
    out = bytearray()
    pos = 0
    for m in PLACEHOLDER.finditer(text):
        out += unescape(text[pos:m.start()])
        pos = m.end()
        name, _, arg = m.group(1).partition(":")
        if name == "repeat":
            count, _, what = arg.partition(":")
            out += what.encode() * int(count)
        elif name == "b64":
            out += base64.b64encode(arg.encode())
        elif name in values:
            out += values[name].encode()
        else:
            raise CatalogueError(f"unknown placeholder ${{{m.group(1)}}}")
    out += unescape(text[pos:])
    return bytes(out)


def check_alive(srv):
    if not srv.process.alive():
        raise AssertionError("acme-dnsd is not running any more:\n" + srv.process.output()[-4000:])


# ---------------------------------------------------------------- DNS

RCODES = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5,
          "BADVERS": 16}
RCODE_NAMES = {v: k for k, v in RCODES.items()}
PROBE_ID = 0xBEEF


def wire_name(text):
    out = bytearray()
    for label in text.strip(".").split("."):
        if label:
            out.append(len(label))
            out += label.encode()
    return bytes(out) + b"\x00"


def dns_bytes(text):
    out = bytearray()
    for piece in re.split(r"(\$\{[^}]*\})", text):
        if piece.startswith("${"):
            kind, _, arg = piece[2:-1].partition(":")
            if kind == "name":
                out += wire_name(arg)
            elif kind == "label":
                n, c = arg.split(":")
                out += bytes([int(n)]) + c.encode() * int(n)
            elif kind == "fill":
                n, hh = arg.split(":")
                out += bytes([int(hh, 16)]) * int(n)
            else:
                raise CatalogueError(f"unknown macro {piece}")
        else:
            out += bytes.fromhex(re.sub(r"\s+", "", piece))
    return bytes(out)


def parse_dns_catalogue(path):
    entries = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = [x.strip() for x in line.split("|", 3)]
            if len(fields) != 4:
                raise CatalogueError(f"dns.txt:{lineno}: needs name | transport | expect | packet")
            name, transport, expect, packet = fields
            if transport not in ("udp", "tcp", "both", "tcp-raw"):
                raise CatalogueError(f"dns.txt:{lineno}: unknown transport {transport}")
            tokens = expect.split()
            outcome, checks = tokens[0], dict(t.split("=", 1) for t in tokens[1:])
            outcomes = outcome.split(",")
            for o in outcomes:
                if o != "drop" and o not in RCODES:
                    raise CatalogueError(f"dns.txt:{lineno}: unknown outcome {o}")
            entries.append({"name": name, "transport": transport, "outcomes": outcomes,
                            "checks": checks, "packet": dns_bytes(packet), "line": lineno})
    return entries


def skip_name(msg, pos):
    while True:
        if pos >= len(msg):
            raise AssertionError(f"answer is malformed: name runs past the end ({msg.hex()})")
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            return pos + 2
        if n == 0:
            return pos + 1
        pos += 1 + n


def parse_answer(msg):
    if len(msg) < 12:
        raise AssertionError(f"answer shorter than a header: {msg.hex()}")
    ident, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    pos = 12
    for _ in range(qd):
        pos = skip_name(msg, pos) + 4
    opt_ttl = None
    for i in range(an + ns + ar):
        pos = skip_name(msg, pos)
        if pos + 10 > len(msg):
            raise AssertionError(f"answer is malformed: record cut ({msg.hex()})")
        rtype, _, ttl, rdlen = struct.unpack("!HHIH", msg[pos:pos + 10])
        if rtype == 41 and i >= an + ns:
            opt_ttl = ttl
        pos += 10 + rdlen
    if pos != len(msg):
        raise AssertionError(f"answer is malformed: {len(msg) - pos} bytes left over ({msg.hex()})")
    ext = (opt_ttl >> 24) if opt_ttl is not None else 0
    return {"id": ident, "qr": flags >> 15, "opcode": (flags >> 11) & 0xF, "aa": (flags >> 10) & 1,
            "tc": (flags >> 9) & 1, "rcode": (ext << 4) | (flags & 0xF), "qd": qd, "an": an, "ns": ns,
            "opt": int(opt_ttl is not None)}


def probe_query():
    return struct.pack("!HHHHHH", PROBE_ID, 0, 1, 0, 0, 0) + wire_name(DOMAIN) + struct.pack("!HH", 6, 1)


def udp_exchange(port, payload):
    """Sends the entry then a probe; the answers come back in order, so everything
    before the probe's answer is the entry's (and nothing means it was dropped)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        s.send(payload)
        s.send(probe_query())
        replies = []
        while True:
            try:
                data = s.recv(65535)
            except socket.timeout:
                raise AssertionError("no answer to the probe sent after this entry: the server stopped answering")
            if len(data) >= 2 and struct.unpack("!H", data[:2])[0] == PROBE_ID:
                return replies
            replies.append(data)


def tcp_exchange(port, stream):
    """Sends the bytes, half-closes, and reads every framed answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.settimeout(10)
        try:
            s.sendall(stream)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                raise AssertionError("the server neither answered nor closed the connection within 10 s")
            if not chunk:
                break
            data += chunk
    replies = []
    while data:
        if len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
            raise AssertionError(f"incomplete TCP frame from the server: {data.hex()}")
        n = struct.unpack("!H", data[:2])[0]
        replies.append(data[2:2 + n])
        data = data[2 + n:]
    return replies


def check_dns_entry(srv, entry, transport):
    query = entry["packet"]
    if transport == "udp":
        replies = udp_exchange(srv.dns_port, query)
    elif transport == "tcp":
        replies = tcp_exchange(srv.dns_port, struct.pack("!H", len(query)) + query)
    else:
        replies = tcp_exchange(srv.dns_port, query)
    answers = [parse_answer(r) for r in replies]
    got = [RCODE_NAMES.get(a["rcode"], str(a["rcode"])) for a in answers]
    if entry["outcomes"] == ["drop"]:
        assert not answers, f"expected no answer (drop), got {got}: {[r.hex() for r in replies]}"
        return
    if transport == "tcp-raw":
        assert sorted(got) == sorted(entry["outcomes"]), f"expected answers {entry['outcomes']}, got {got}"
        return
    assert len(answers) == 1, f"expected one {entry['outcomes'][0]} answer, got {got or 'none (dropped)'}"
    a = answers[0]
    assert got[0] == entry["outcomes"][0], f"expected {entry['outcomes'][0]}, got {got[0]} ({replies[0].hex()})"
    assert a["qr"] == 1, "QR is not set in the answer"
    if len(query) >= 2:
        assert a["id"] == struct.unpack("!H", query[:2])[0], "the answer does not echo the ID"
    if len(query) >= 3:
        assert a["opcode"] == (query[2] >> 3) & 0xF, "the answer does not echo the opcode"
    for key, want in entry["checks"].items():
        assert key in a, f"unknown check {key}"
        assert a[key] == int(want), f"expected {key}={want}, got {key}={a[key]}"


def dns_checks(state):
    checks = []
    for entry in parse_dns_catalogue(os.path.join(HERE, "dns.txt")):
        transports = ["udp", "tcp"] if entry["transport"] == "both" else [entry["transport"]]
        for t in transports:
            def check(entry=entry, t=t):
                srv = state["server"]
                check_dns_entry(srv, entry, t)
                check_alive(srv)
            check.__name__ = f"dns.txt:{entry['line']} {entry['name']} [{t}]"
            checks.append(check)
    return checks


# ---------------------------------------------------------------- HTTP

def parse_http_catalogue(path):
    entries = []
    current = None
    in_request = False
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for lineno, line in enumerate(lines, 1):
        if line.startswith("#"):
            continue
        if line.startswith("=== "):
            current = {"name": line[4:].strip(), "line": lineno, "meta": [], "request": []}
            entries.append(current)
            in_request = False
            continue
        if current is None:
            if line.strip():
                raise CatalogueError(f"http.txt:{lineno}: text outside an entry")
            continue
        if in_request:
            current["request"].append(line)
        elif line.strip() == "---":
            in_request = True
        elif line.strip():
            key, sep, value = line.partition(":")
            if not sep or key.strip() not in ("status", "error", "body", "header", "close", "registers",
                                              "raw", "shutdown"):
                raise CatalogueError(f"http.txt:{lineno}: unknown expectation line {line!r}")
            current["meta"].append((key.strip(), value.strip()))
    for e in entries:
        while e["request"] and not e["request"][-1].strip():
            e["request"].pop()
        meta = dict(e["meta"])
        if "status" not in meta or not e["request"]:
            raise CatalogueError(f"http.txt:{e['line']}: {e['name']}: needs status and a request")
    return entries


def build_request(entry, values):
    meta = dict(entry["meta"])
    lines = entry["request"]
    if meta.get("raw") == "yes":
        return expand("".join(lines), values)
    if "" in lines:
        split = lines.index("")
        head, body = lines[:split], "\n".join(lines[split + 1:])
    else:
        head, body = lines, ""
    body_bytes = expand(body, values)
    head_bytes = expand("\r\n".join(head), dict(values, len=str(len(body_bytes))))
    return head_bytes + b"\r\n\r\n" + body_bytes


def check_http_entry(srv, entry, values):
    meta = dict(entry["meta"])
    data = build_request(entry, values)
    sock = raw_http.connect(srv.api_port, timeout=10)
    try:
        try:
            sock.sendall(data)
            if meta.get("shutdown") == "yes":
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        try:
            resp = raw_http.read_response(sock)
        except (ConnectionError, OSError) as e:
            if isinstance(e, socket.timeout):
                raise AssertionError("the server neither answered nor closed the connection within 10 s")
            resp = None
        if meta["status"] == "none":
            assert resp is None, f"expected no answer, got {resp.status} {resp.body!r}"
            return
        assert resp is not None, f"expected {meta['status']}, got no answer (connection closed)"
        assert resp.status == int(meta["status"]), \
            f"expected status {meta['status']}, got {resp.status} {resp.body[:300]!r}"
        if "error" in meta:
            want = b'{"error": "' + meta["error"].encode() + b'"}'
            assert resp.body == want, f"expected body {want!r}, got {resp.body[:300]!r}"
            ctype = resp.header("Content-Type")
            assert ctype == "application/json", f"expected Content-Type application/json, got {ctype!r}"
        if "body" in meta:
            want = unescape(meta["body"])
            assert resp.body == want, f"expected body {want!r}, got {resp.body[:300]!r}"
        for key, value in entry["meta"]:
            if key == "header":
                name, _, hv = value.partition(":")
                got = resp.header(name.strip())
                assert got == hv.strip(), f"expected header {name.strip()}: {hv.strip()!r}, got {got!r}"
        if meta.get("close") == "yes":
            assert raw_http.closed_by_peer(sock, 5), "the server kept the connection open after the error"
    finally:
        sock.close()


def http_checks(state):
    checks = []
    for entry in parse_http_catalogue(os.path.join(HERE, "http.txt")):
        def check(entry=entry):
            srv = state["server"]
            check_http_entry(srv, entry, state["values"])
            check_alive(srv)
        check.__name__ = f"http.txt:{entry['line']} {entry['name']}"
        checks.append(check)
        state["expected_registrations"] += int(dict(entry["meta"]).get("registers", "0"))
    return checks


# ---------------------------------------------------------------- server setup and "changed nothing"

def metric(srv, name):
    status, _, body = srv.request("GET", "/metrics")
    assert status == 200, status
    m = re.search(rf"^{name} (\d+)$", body.decode(), re.M)
    assert m, f"{name} missing from /metrics"
    return int(m.group(1))


def setup_checks(state):
    def setup_start_server_register_and_set_values():
        srv = Server({"general": {"tcp_idle_timeout_ms": 2000},
                      "api": {"read_timeout_ms": 2000}})
        state["server"] = srv
        acct = srv.register()
        values = sorted([txt_value(1), txt_value(2)])
        for v in values:
            status, _, body = srv.update(acct, v)
            assert status == 200, (status, body)
        assert srv.txt_values(acct["fulldomain"]) == values
        key = acct["password"]
        wrong = ("B" if key[0] == "A" else "A") + key[1:]
        state["account"] = acct
        state["txt"] = values
        state["accounts_before"] = metric(srv, "acmednsd_accounts")
        state["values"] = {
            "user": acct["username"], "key": key, "sub": acct["subdomain"], "wrongkey": wrong,
            "unknownuser": str(uuid.uuid4()), "newtxt": txt_value(99),
            "basic": base64.b64encode(f"{acct['username']}:{key}".encode()).decode(),
            "basicwrong": base64.b64encode(f"{acct['username']}:{wrong}".encode()).decode(),
        }
    return [setup_start_server_register_and_set_values]


def final_checks(state):
    def changed_nothing_server_alive_and_healthy():
        srv = state["server"]
        check_alive(srv)
        status, _, body = srv.request("GET", "/health")
        assert status == 200 and body == b"", (status, body)

    def changed_nothing_txt_values_in_dns():
        srv = state["server"]
        name = state["account"]["fulldomain"]
        for extra in ((), ("+tcp",)):
            got = srv.txt_values(name, *extra)
            assert got == state["txt"], f"TXT values {extra or 'udp'}: expected {state['txt']}, got {got}"

    def changed_nothing_account_key_allowfrom_values():
        srv = state["server"]
        acct = state["account"]
        status, _, body = srv.request("GET", "/account", headers={
            "X-Api-User": acct["username"], "X-Api-Key": acct["password"]})
        assert status == 200, f"the original key no longer works: {status} {body!r}"
        info = json.loads(body)
        assert info["allowfrom"] == [], f"allowfrom changed: {info['allowfrom']}"
        got = sorted(v["value"] for v in info["txt"])
        assert got == state["txt"], f"GET /account values: expected {state['txt']}, got {got}"

    def changed_nothing_account_count():
        srv = state["server"]
        want = state["accounts_before"] + state["expected_registrations"]
        got = metric(srv, "acmednsd_accounts")
        assert got == want, f"acmednsd_accounts is {got}, expected {want}"
        db = sqlite3.connect(f"file:{srv.db_path}?mode=ro", uri=True, timeout=10)
        try:
            assert db.execute("SELECT count(*) FROM accounts").fetchone()[0] == want
            names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert {"accounts", "txt_values", "meta"} <= names, names
        finally:
            db.close()

    def changed_nothing_persist_records():
        # /persist entries above are all refusals: no dns-persist-01 record exists.
        srv = state["server"]
        db = sqlite3.connect(f"file:{srv.db_path}?mode=ro", uri=True, timeout=10)
        try:
            assert db.execute("SELECT count(*) FROM persist_values").fetchone()[0] == 0
        finally:
            db.close()
        name = f"_validation-persist.{state['account']['subdomain']}.{DOMAIN}"
        assert srv.txt_values(name) == [], srv.txt_values(name)

    def changed_nothing_server_stops_cleanly():
        srv = state["server"]
        code = srv.stop()
        assert code == 0, f"exit code {code} on SIGTERM:\n{srv.process.output()[-4000:]}"
        srv.close()

    return [changed_nothing_server_alive_and_healthy, changed_nothing_txt_values_in_dns,
            changed_nothing_account_key_allowfrom_values, changed_nothing_account_count,
            changed_nothing_persist_records, changed_nothing_server_stops_cleanly]


# ---------------------------------------------------------------- config files

def header_directives(path, prefix):
    """The leading comment lines' `key: value` directives, in order."""
    out = []
    with open(path, "rb") as f:
        for raw in f.read().split(b"\n"):
            line = raw.decode("utf-8", "replace")
            if not line.startswith(prefix):
                break
            m = re.match(rf"{re.escape(prefix)}\s*([a-z-]+):(.*)$", line)
            if m:
                out.append((m.group(1), m.group(2).strip()))
            elif re.match(rf"{re.escape(prefix)}\s*([a-z-]+)$", line):
                out.append((line[len(prefix):].strip(), ""))
    return out


def config_checks(state):
    folder = os.path.join(HERE, "config")
    checks = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)

        def check(path=path, name=name):
            directives = header_directives(path, "#")
            expects = [v for k, v in directives if k == "expect"]
            exits = [int(v) for k, v in directives if k == "exit"]
            if not expects:
                raise CatalogueError(f"{name}: no `# expect:` line")
            want_exit = exits[0] if exits else 2
            with tempfile.TemporaryDirectory() as cwd:
                r = subprocess.run([harness.BIN, "-c", path, "--check-config"], capture_output=True,
                                   text=True, errors="replace", timeout=30, cwd=cwd)
            output = r.stdout + r.stderr
            assert r.returncode == want_exit, f"exit code {r.returncode}, expected {want_exit}:\n{output}"
            for e in expects:
                want = e.replace("{file}", path)
                assert want in output, f"message lacks {want!r}; it was:\n{output}"
            if want_exit != 0:
                assert "configuration OK" not in output, output
        check.__name__ = f"config/{name}"
        checks.append(check)
    return checks


# ---------------------------------------------------------------- import-acme-dns

def target_config(folder):
    path = os.path.join(folder, "config.toml")
    with open(path, "w") as f:
        f.write(f'[general]\ndomain = "{DOMAIN}"\nlisten = "127.0.0.1:5353"\n\n'
                f'[database]\nconnection = "{os.path.join(folder, "target.db")}"\n\n'
                '[logconfig]\nloglevel = "error"\n')
    return path


def build_source(sql_path, db_path):
    """Creates the acme-dns file a case describes (SQL, or raw bytes, or nothing)."""
    directives = dict(header_directives(sql_path, "--"))
    if "no-file" in directives:
        return directives
    if "raw-file" in directives:
        with open(db_path, "wb") as f:
            f.write(unescape(directives["raw-file"]))
        return directives
    with open(sql_path, encoding="utf-8") as f:
        script = f.read()
    db = sqlite3.connect(db_path)
    try:
        db.executescript(script)
        db.commit()
    finally:
        db.close()
    if "truncate-to" in directives:
        with open(db_path, "r+b") as f:
            f.truncate(int(directives["truncate-to"]))
    return directives


def snapshot(db_path):
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        accounts = db.execute("SELECT username, key_hash, subdomain, allowfrom, allowfrom_invalid "
                              "FROM accounts ORDER BY username").fetchall()
        values = db.execute("SELECT name, value FROM txt_values ORDER BY name, value").fetchall()
    finally:
        db.close()
    return accounts, values


def file_digest(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run_cli(*args):
    return subprocess.run([harness.BIN, *args], capture_output=True, text=True, errors="replace", timeout=120)


def import_checks(state):
    folder = os.path.join(HERE, "import")

    def import_baseline_target():
        work = tempfile.mkdtemp(prefix="acmednsd-bad-import-")
        state["import_dir"] = work
        base = os.path.join(work, "baseline")
        os.mkdir(base)
        source = os.path.join(base, "acme-dns.db")
        build_source(os.path.join(folder, "_baseline.sql"), source)
        r = run_cli("-c", target_config(base), "import-acme-dns", source)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "imported 2 accounts and 2 TXT values" in r.stdout, r.stdout
        state["import_baseline"] = os.path.join(base, "target.db")
        accounts, values = snapshot(state["import_baseline"])
        assert len(accounts) == 2 and len(values) == 2, (accounts, values)

    checks = [import_baseline_target]
    for name in sorted(n for n in os.listdir(folder) if n.endswith(".sql") and not n.startswith("_")):
        def check(name=name):
            if "import_baseline" not in state:
                raise AssertionError("no baseline target (see import_baseline_target)")
            case_dir = os.path.join(state["import_dir"], name[:-4])
            os.mkdir(case_dir)
            config = target_config(case_dir)
            target = os.path.join(case_dir, "target.db")
            src = sqlite3.connect(state["import_baseline"])
            dst = sqlite3.connect(target)
            src.backup(dst)
            src.close()
            dst.close()
            source = os.path.join(case_dir, "acme-dns.db")
            directives = build_source(os.path.join(folder, name), source)
            meta = header_directives(os.path.join(folder, name), "--")
            expects = [v for k, v in meta if k == "expect"]
            want_exit = int(directives.get("expect-exit", "0"))
            if not expects or (want_exit == 0 and "imported" not in directives):
                raise CatalogueError(f"{name}: needs `-- expect:` lines (and `-- imported:` when it succeeds)")
            before = snapshot(target)
            digest = file_digest(source)
            r = run_cli("-c", config, "import-acme-dns", source)
            output = r.stdout + r.stderr
            after = snapshot(target)
            assert file_digest(source) == digest, "the acme-dns file was changed (or created) by the import"
            assert r.returncode == want_exit, f"exit code {r.returncode}, expected {want_exit}:\n{output}"
            for e in expects:
                assert e in output, f"output lacks {e!r}; it was:\n{output}"
            if want_exit != 0:
                assert after == before, f"a refused import changed the database:\n{before}\n->\n{after}"
                return
            old_accounts, old_values = before
            new_accounts, new_values = after
            assert set(old_accounts) <= set(new_accounts), "an existing account was changed or removed"
            assert set(old_values) <= set(new_values), "an existing TXT value was changed or removed"
            added = [a for a in new_accounts if a not in old_accounts]
            assert len(added) == int(directives["imported"]), \
                f"{len(added)} accounts added, expected {directives['imported']}:\n{output}"
            if "flagged" in directives:
                flagged = [a for a in added if a[4] == 1]
                assert len(flagged) == int(directives["flagged"]), f"flagged accounts: {flagged}"
        check.__name__ = f"import/{name}"
        checks.append(check)

    def import_cleanup():
        shutil.rmtree(state.pop("import_dir", ""), ignore_errors=True)
    checks.append(import_cleanup)
    return checks


if __name__ == "__main__":
    state = {"expected_registrations": 0}
    tests = setup_checks(state) + dns_checks(state) + http_checks(state) + final_checks(state)
    tests += config_checks(state) + import_checks(state)
    try:
        run_main(tests)
    finally:
        srv = state.get("server")
        if srv is not None and srv.process is not None and srv.process.alive():
            srv.close()
