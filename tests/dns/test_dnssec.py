"""DNSSEC (issue 15, DNSSEC.md) against real validators: a validating unbound with our
DS as its trust anchor, delv with our DNSKEY, kdig +dnssec. Every case of DNS.md must
come back SECURE (AD); a wrong anchor must be BOGUS (SERVFAIL); DO=0 answers must be
byte-identical to an unsigned server's; bad input gets the same clear answers."""
import os
import socket
import struct
import subprocess
import tempfile
import time

import harness
import peers
from harness import BIN, Server, run_main, txt_value

RECORDS_EXTRA = ["*.wild.{d}. TXT \"Wild Card\"", "www.{d}. CNAME Target.{d}.", "target.{d}. A 192.0.2.1",
                 "{d}. MX 10 Mail.{d}.", "mail.{d}. A 192.0.2.2",
                 "*.walias.{d}. CNAME www.{d}.", "deep.ent.{d}. TXT \"below an empty non-terminal\""]


def signed_server(enabled=True, algorithm=None, workdir=None, start=True):
    domain = "auth.example.test"
    records = [f"{domain}. A 127.0.0.1", f"ns1.{domain}. A 127.0.0.1", f"{domain}. NS ns1.{domain}."]
    records += [r.format(d=domain) for r in RECORDS_EXTRA]
    dnssec = {"enabled": enabled}
    if algorithm:
        dnssec["algorithm"] = algorithm
    return Server(sections={"general": {"records": records}, "dnssec": dnssec}, workdir=workdir, start=start)


def dnssec_lines(s):
    out = subprocess.run([BIN, "-c", s.config_path, "dnssec", "ds"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    ds = [l for l in out.stdout.splitlines() if " IN DS " in l]
    dnskey = [l for l in out.stdout.splitlines() if " IN DNSKEY " in l]
    assert len(ds) == 1 and len(dnskey) == 1, out.stdout
    return ds, dnskey


def accounts_with_values(s):
    """name -> expected sorted TXT values: 1, 3 and 10 values, and an empty account."""
    expected = {}
    for count in (1, 3, 10, 0):
        acct = s.register()
        values = [txt_value(100 * count + i) for i in range(count)]
        for v in values:
            status, _, body = s.update(acct, v)
            assert status == 200, (status, body)
        expected[f"{acct['subdomain']}.{s.domain}"] = sorted(values)
    return expected


def dig_flags(out):
    for line in out.splitlines():
        if line.startswith(";; flags:"):
            return set(line.split(":")[1].split(";")[0].split())
    return set()


def status_of(out):
    for line in out.splitlines():
        if "status:" in line:
            return line.split("status:")[1].split(",")[0].strip()
    return None


def cases(s, expected):
    """(name, type, expected status, expected TXT values or None)."""
    d = s.domain
    out = [(name, "TXT", "NOERROR", values) for name, values in expected.items()]
    empty = next(name for name, values in expected.items() if not values)
    out += [
        (empty, "A", "NOERROR", None),               # NODATA at a registered name
        ("unknown." + d, "TXT", "NOERROR", None),     # compact denial: NOERROR + NXNAME
        ("x." + empty, "TXT", "NOERROR", None),       # below a registered name
        (d, "SOA", "NOERROR", None),
        (d, "NS", "NOERROR", None),
        (d, "DNSKEY", "NOERROR", None),
        (d, "CDS", "NOERROR", None),
        (d, "MX", "NOERROR", None),
        (d, "AAAA", "NOERROR", None),                 # NODATA at the apex
        ("anything.wild." + d, "TXT", "NOERROR", ["Wild Card"]),
        ("anything.wild." + d, "A", "NOERROR", None),  # NODATA via the wildcard
        ("b.a.wild." + d, "TXT", "NOERROR", ["Wild Card"]),  # two labels below the encloser
        ("!x.wild." + d, "TXT", "NOERROR", ["Wild Card"]),   # sorts before '*': signed as itself
        ("x-y.walias." + d, "A", "NOERROR", None),   # wildcard CNAME -> CNAME -> A
        ("wild." + d, "TXT", "NOERROR", None),        # empty non-terminal
        ("ent." + d, "A", "NOERROR", None),
        ("www." + d, "A", "NOERROR", None),           # CNAME then the target's A
        ("www." + d, "TXT", "NOERROR", None),         # CNAME then the target's NODATA
    ]
    return out


def test_validating_unbound_and_delv_say_secure_for_every_case():
    with signed_server() as s:
        expected = accounts_with_values(s)
        ds, dnskey = dnssec_lines(s)
        anchors = os.path.join(s.dir, "anchors.conf")
        f = dnskey[0].split()
        with open(anchors, "w") as fh:
            fh.write('trust-anchors { "%s" static-key %s %s %s "%s"; };\n' % (f[0], f[4], f[5], f[6], "".join(f[7:])))
        with tempfile.TemporaryDirectory() as tmp, \
                peers.Unbound(tmp, {s.domain: f"127.0.0.1@{s.dns_port}"}, trust_anchors=ds) as unbound:
            for name, rtype, status, values in cases(s, expected):
                out = unbound.dig(name, rtype, "+dnssec").stdout
                what = f"unbound {name} {rtype}"
                assert status_of(out) == status, what + "\n" + out
                assert "ad" in dig_flags(out), what + ": not SECURE (no AD)\n" + out + unbound.output()[-3000:]
                if values is not None:
                    got = sorted(l.split(None, 4)[4].strip('"') for l in out.splitlines()
                                 if not l.startswith(";") and len(l.split()) > 4 and l.split()[3] == "TXT")
                    assert got == values, f"{what}: {got} != {values}\n{out}"
                # delv (BIND's validator) asks our server directly with our DNSKEY as anchor.
                delv = subprocess.run(["delv", "-a", anchors, "@127.0.0.1", "-p", str(s.dns_port),
                                       "+root=" + s.domain, name, rtype], capture_output=True, text=True,
                                      timeout=30)
                text = delv.stdout + delv.stderr
                assert "fully validated" in text, f"delv {name} {rtype}:\n{text}"
                # kdig sees the signatures on the wire.
                kd = subprocess.run(["kdig", "@127.0.0.1", "-p", str(s.dns_port), "+dnssec", "+norec",
                                     name, rtype], capture_output=True, text=True, timeout=30).stdout
                assert "RRSIG" in kd, f"kdig {name} {rtype}: no RRSIG\n{kd}"


def test_ed25519_validates_too():
    with signed_server(algorithm="ed25519") as s:
        expected = accounts_with_values(s)
        ds, _ = dnssec_lines(s)
        assert " 15 2 " in ds[0], ds
        with tempfile.TemporaryDirectory() as tmp, \
                peers.Unbound(tmp, {s.domain: f"127.0.0.1@{s.dns_port}"}, trust_anchors=ds) as unbound:
            for name, values in expected.items():
                out = unbound.dig(name, "TXT", "+dnssec").stdout
                assert "ad" in dig_flags(out), out
            out = unbound.dig("nothing." + s.domain, "TXT", "+dnssec").stdout
            assert "ad" in dig_flags(out) and status_of(out) == "NOERROR", out


def test_a_wrong_trust_anchor_is_bogus():
    # Another server's key: our answers cannot validate against it.
    with signed_server() as other:
        wrong_ds, _ = dnssec_lines(other)
    with signed_server() as s:
        expected = accounts_with_values(s)
        with tempfile.TemporaryDirectory() as tmp, \
                peers.Unbound(tmp, {s.domain: f"127.0.0.1@{s.dns_port}"}, trust_anchors=wrong_ds) as unbound:
            name = next(iter(expected))
            out = unbound.dig(name, "TXT", "+dnssec").stdout
            assert status_of(out) == "SERVFAIL", out
            assert "validation failure" in unbound.output(), unbound.output()[-3000:]


# ---- raw queries: DO=0 bytes, CO flag, bad input ----

def query(name, qtype, do=False, co=False, edns=True, qid=0x1234, udp_size=1232, opt=None):
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
    header = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1 if edns else 0)
    msg = header + wire + struct.pack(">HH", qtype, 1)
    if edns:
        flags = (0x8000 if do else 0) | (0x4000 if co else 0)
        msg += opt if opt is not None else b"\0" + struct.pack(">HHBBHH", 41, udp_size, 0, 0, flags, 0)
    return msg


def ask_udp(port, msg):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(msg, ("127.0.0.1", port))
        return sock.recv(65535)


def ask_tcp(port, msg):
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(struct.pack(">H", len(msg)) + msg)
        size = struct.unpack(">H", harness.recv_exact(sock, 2))[0]
        return harness.recv_exact(sock, size)


def rcode(resp):
    return resp[3] & 0x0F


def counts(resp):
    return struct.unpack(">HHHH", resp[4:12])


def test_do0_answers_are_byte_identical_to_unsigned():
    workdir = tempfile.mkdtemp(prefix="acmednsd-dnssec-")
    s = signed_server(enabled=False, workdir=workdir)
    try:
        expected = accounts_with_values(s)
        names = list(expected) + ["unknown." + s.domain, s.domain, "www." + s.domain, "x.wild." + s.domain,
                                  "wild." + s.domain]
        queries = [query(n, t, edns=e) for n in names for t in (16, 1, 6, 2, 15, 46, 47) for e in (True, False)]
        # The SOA serial moves on at every start; it is masked, the rest must not differ.
        def answers():
            soa = ask_udp(s.dns_port, query(s.domain, 6, edns=False))
            serial = soa[-20:-16]
            assert len(serial) == 4
            return [r.replace(serial, b"SSSS") for r in
                    [ask_udp(s.dns_port, q) for q in queries] + [ask_tcp(s.dns_port, q) for q in queries]]
        before = answers()
        s.stop()
        s.config["dnssec"]["enabled"] = True
        s.write_config()
        s.start()
        after = answers()
        for i, (a, b) in enumerate(zip(before, after)):
            assert a == b, f"query {i % len(queries)}: DO=0 answer changed\n{a.hex()}\n{b.hex()}"
        # The same queries with DO=1 are signed (the check above compared something).
        signed = ask_udp(s.dns_port, query(names[0], 16, do=True))
        assert b"\x00\x2e\x00\x01" in signed, signed.hex()  # an RRSIG record
    finally:
        s.close()
        harness.shutil.rmtree(workdir, ignore_errors=True)


def test_compact_denial_rcode_follows_the_co_flag():
    with signed_server() as s:
        nx = "no-such-name." + s.domain
        plain = ask_udp(s.dns_port, query(nx, 16, do=True))
        assert rcode(plain) == 0, plain.hex()  # RFC 9824: NOERROR without CO
        assert plain[-4] & 0x40 == 0
        with_co = ask_udp(s.dns_port, query(nx, 16, do=True, co=True))
        assert rcode(with_co) == 3, with_co.hex()  # NXDOMAIN restored for CO clients
        assert with_co[-4] & 0xC0 == 0xC0, "DO and CO not echoed"
        # Unsigned (DO=0) clients get the classic NXDOMAIN, CO or not.
        assert rcode(ask_udp(s.dns_port, query(nx, 16))) == 3
        # NXNAME is a meta-type: FORMERR (RFC 9824 3.5).
        assert rcode(ask_udp(s.dns_port, query(nx, 128, do=True))) == 1


def test_bad_input_with_do_set():
    with signed_server() as s:
        d = s.domain
        # DO set but the OPT is malformed: options that do not fill its rdata -> FORMERR.
        bad_opt = b"\0" + struct.pack(">HHBBHH", 41, 1232, 0, 0, 0x8000, 3) + b"\x00\x0a\x00"
        assert rcode(ask_udp(s.dns_port, query(d, 16, do=True, opt=bad_opt))) == 1
        # Two OPT records -> FORMERR.
        two = query(d, 16, do=True)
        two = two[:10] + struct.pack(">H", 2) + two[12:] + two[-11:]
        assert rcode(ask_udp(s.dns_port, two)) == 1
        # EDNS version 1 with DO -> BADVERS, unsigned.
        v1 = b"\0" + struct.pack(">HHBBHH", 41, 1232, 0, 1, 0x8000, 0)
        resp = ask_udp(s.dns_port, query(d, 16, opt=v1))
        assert counts(resp)[1:3] == (0, 0) and resp[-6] == 1, resp.hex()
        # Queries for the DNSSEC types themselves: answered, never a crash.
        for qtype in (48, 46, 47, 43, 59, 60, 50, 255):
            for name in (d, "www." + d, "nothing." + d, "a.wild." + d):
                resp = ask_udp(s.dns_port, query(name, qtype, do=True))
                assert rcode(resp) == 0, (name, qtype, resp.hex())
        # A tiny UDP size: TC=1 and nothing else; TCP carries the signed answer.
        resp = ask_udp(s.dns_port, query(d, 48, do=True, udp_size=512))
        assert rcode(resp) == 0
        assert s.dig(d, "SOA").returncode == 0  # still serving
        assert s.process.alive()


def test_ten_values_fit_1232_bytes_and_huge_rrsets_fall_back_to_tcp():
    with signed_server() as s:
        acct = s.register()
        name = f"{acct['subdomain']}.{s.domain}"
        for i in range(10):
            assert s.update(acct, txt_value(i))[0] == 200
        resp = ask_udp(s.dns_port, query(name, 16, do=True, udp_size=1232))
        assert resp[2] & 0x02 == 0, f"10 values + RRSIG truncated at 1232 bytes ({len(resp)})"
        assert counts(resp)[1] == 11, counts(resp)
        for i in range(10, 40):
            assert s.update(acct, txt_value(i))[0] == 200
        resp = ask_udp(s.dns_port, query(name, 16, do=True, udp_size=1232))
        assert resp[2] & 0x02 and counts(resp)[1] == 0, "40 values must be TC=1 and empty"
        resp = ask_tcp(s.dns_port, query(name, 16, do=True))
        assert resp[2] & 0x02 == 0 and counts(resp)[1] == 41, counts(resp)


def doctor_with_parent_ds(s, ds_lines):
    """doctor against a parent zone (NSD) that delegates to `s` with `ds_lines`."""
    sub = s.register()["subdomain"]
    with tempfile.TemporaryDirectory() as tmp:
        records = ["auth IN NS ns1.auth", "ns1.auth IN A 127.0.0.1",
                   f"_acme-challenge.ok IN CNAME {sub}.{s.domain}.", "ok IN A 127.0.0.1"]
        records += [l.replace(f"{s.domain}. {s.config['general'].get('static_ttl', 3600)} IN", "auth IN")
                    for l in ds_lines]
        with peers.Nsd(os.path.join(tmp, "nsd"), {"example.test": peers.zone_text("example.test", records)}) as nsd, \
                peers.Unbound(os.path.join(tmp, "unbound"), {"example.test": nsd.addr,
                                                             s.domain: f"127.0.0.1@{s.dns_port}"}) as unbound:
            r = subprocess.run([BIN, "-c", s.config_path, "doctor", "--resolver", unbound.hostport,
                                "--ns-port", str(s.dns_port), "ok.example.test"],
                               capture_output=True, text=True, timeout=60)
            print(r.stdout, flush=True)
            return r


def test_doctor_checks_the_ds_at_the_parent_and_the_signatures():
    with signed_server() as s:
        ds, _ = dnssec_lines(s)
        good = doctor_with_parent_ds(s, ds)
        assert good.returncode == 0, good.stdout + good.stderr
        assert "OK    DS at the parent matches a published key of auth.example.test." in good.stdout
        assert "OK    DNSKEY of auth.example.test. at name server #1 is signed by our key" in good.stdout
        assert "OK    SOA of auth.example.test. at name server #1 is signed by our key" in good.stdout
        wrong = ds[0].rsplit(" ", 1)[0] + " " + "ab" * 32
        bad = doctor_with_parent_ds(s, [wrong])
        assert bad.returncode == 1, bad.stdout
        assert "FAIL  the DS at the parent names none of our keys" in bad.stdout
        assert "fix: replace the DS at the parent with: auth.example.test. IN DS " in bad.stdout
        none = doctor_with_parent_ds(s, [])
        assert none.returncode == 1, none.stdout
        assert "FAIL  no DS for auth.example.test. at the parent" in none.stdout
    # Signatures valid for less than two days are reported (validity 2 d, back-dated 1 h).
    with Server(sections={"dnssec": {"enabled": True, "signature_validity": "2d", "refresh": "1d"}}) as s:
        ds, _ = dnssec_lines(s)
        short = doctor_with_parent_ds(s, ds)
        assert short.returncode == 1, short.stdout
        assert "FAIL  SOA of auth.example.test. at name server #1: its signature expires within two days" \
            in short.stdout, short.stdout


def test_dnssec_cli():
    with signed_server(start=False) as s:
        # Before any start: `keys` has nothing to show, `ds` makes the key, `roll` rolls.
        keys = subprocess.run([BIN, "-c", s.config_path, "dnssec", "keys"], capture_output=True, text=True, timeout=30)
        assert keys.returncode == 1 and "no DNSSEC key stored" in keys.stderr, keys.stderr
        ds, dnskey = dnssec_lines(s)
        again, _ = dnssec_lines(s)
        assert ds == again, "a second `dnssec ds` must not make another key"
        roll = subprocess.run([BIN, "-c", s.config_path, "dnssec", "roll"], capture_output=True, text=True, timeout=30)
        assert roll.returncode == 0 and "roll started" in roll.stdout, roll.stdout + roll.stderr
        twice = subprocess.run([BIN, "-c", s.config_path, "dnssec", "roll"], capture_output=True, text=True, timeout=30)
        assert twice.returncode == 1 and "already in progress" in twice.stderr, twice.stderr
        keys = subprocess.run([BIN, "-c", s.config_path, "dnssec", "keys"], capture_output=True, text=True, timeout=30)
        lines = keys.stdout.splitlines()
        assert keys.returncode == 0 and len(lines) == 3, keys.stdout
        assert "active (retiring)" in lines[1] and "published" in lines[2], keys.stdout
        # Both keys published now: `ds` (and CDS) name both, so a parent may hold both DS
        # through the roll; once the old key retires only the new one is named.
        ds_now = subprocess.run([BIN, "-c", s.config_path, "dnssec", "ds"], capture_output=True, text=True,
                                timeout=30).stdout
        assert ds_now.count(" IN DS ") == 2 and ds[0] in ds_now, ds_now
        assert "PRIVATE" not in keys.stdout + roll.stdout, "a private key was printed"
        # The running server publishes both DNSKEYs and answers validate.
        s.start()
        out = s.dig(s.domain, "DNSKEY", "+dnssec", "+norec").stdout
        assert out.count("\tDNSKEY\t") == 2, out
        with tempfile.TemporaryDirectory() as tmp, \
                peers.Unbound(tmp, {s.domain: f"127.0.0.1@{s.dns_port}"}, trust_anchors=ds) as unbound:
            out = unbound.dig(s.domain, "SOA", "+dnssec").stdout
            assert "ad" in dig_flags(out), out
        usage = subprocess.run([BIN, "-c", s.config_path, "dnssec", "nope"], capture_output=True, text=True, timeout=30)
        assert usage.returncode == 2


def test_instances_on_one_database_share_the_key():
    with signed_server() as first:
        second = Server(sections={"general": {"records": first.config["general"]["records"]},
                                  "dnssec": {"enabled": True},
                                  "database": {"connection": first.db_path}})
        try:
            keys = [x.dig(x.domain, "DNSKEY", "+short", "+norec").stdout.strip() for x in (first, second)]
            assert keys[0] and keys[0] == keys[1], keys
            assert len(keys[0].splitlines()) == 1, keys
        finally:
            second.close()
        assert oct(os.stat(first.db_path).st_mode & 0o777) == "0o600"


def test_a_scheduled_roll_starts_when_the_key_is_key_roll_old():
    import signal
    with signed_server() as s:
        ds, _ = dnssec_lines(s)
        # The key was made now; key_roll = 1d and the key's dates moved 2 days back make
        # it due. The config change needs a restart ([dnssec] is read at start).
        s.stop()
        s.config["dnssec"]["key_roll"] = "1d"
        s.write_config()
        subprocess.run(["sqlite3", s.db_path, "UPDATE dnssec_keys SET created = created - 172800, "
                        "publish = publish - 172800, activate = activate - 172800"], check=True, timeout=30)
        s.start()
        assert s.dig(s.domain, "DNSKEY", "+norec").stdout.count("\tDNSKEY\t") == 1
        os.kill(s.process.pid, signal.SIGHUP)  # the minute timer, without the minute
        harness.wait_until(lambda: s.dig(s.domain, "DNSKEY", "+norec").stdout.count("\tDNSKEY\t") == 2, 10,
                           what="the scheduled roll's new key published")
        assert "dnssec: scheduled key roll started" in s.process.output()
        keys = subprocess.run([BIN, "-c", s.config_path, "dnssec", "keys"], capture_output=True, text=True,
                              timeout=30).stdout
        assert "active (retiring)" in keys and "published" in keys, keys
        # Another SIGHUP does not start a second roll while this one runs.
        os.kill(s.process.pid, signal.SIGHUP)
        time.sleep(1)
        assert s.process.output().count("dnssec: scheduled key roll started") == 1
        with tempfile.TemporaryDirectory() as tmp, \
                peers.Unbound(tmp, {s.domain: f"127.0.0.1@{s.dns_port}"}, trust_anchors=ds) as unbound:
            assert "ad" in dig_flags(unbound.dig(s.domain, "SOA", "+dnssec").stdout)


def test_wildcard_at_the_apex_validates():
    d = "auth.example.test"
    records = [f"{d}. A 127.0.0.1", f"ns1.{d}. A 127.0.0.1", f"{d}. NS ns1.{d}.", f"*.{d}. MX 10 mail.{d}.",
               f"mail.{d}. A 192.0.2.2"]
    with Server(sections={"general": {"records": records}, "dnssec": {"enabled": True}}) as s:
        acct = s.register()
        assert s.update(acct, txt_value(3))[0] == 200
        ds, _ = dnssec_lines(s)
        with tempfile.TemporaryDirectory() as tmp, \
                peers.Unbound(tmp, {d: f"127.0.0.1@{s.dns_port}"}, trust_anchors=ds) as unbound:
            for name, rtype, want in (("zzz." + d, "MX", "mail"), ("a.b." + d, "MX", "mail"),
                                      ("zzz." + d, "TXT", None), (f"{acct['subdomain']}.{d}", "TXT", txt_value(3)),
                                      # below a registered name: not covered by the wildcard (RFC 4592)
                                      (f"x.{acct['subdomain']}.{d}", "MX", None)):
                out = unbound.dig(name, rtype, "+dnssec").stdout
                assert status_of(out) == "NOERROR" and "ad" in dig_flags(out), f"{name} {rtype}:\n{out}"
                if want:
                    assert want in out, out


def test_a_roll_reaches_the_running_server_on_sighup():
    import signal
    with signed_server() as s:
        ds, _ = dnssec_lines(s)
        with tempfile.TemporaryDirectory() as tmp, \
                peers.Unbound(tmp, {s.domain: f"127.0.0.1@{s.dns_port}"}, trust_anchors=ds,
                              cache_max_ttl=1) as unbound:
            assert "ad" in dig_flags(unbound.dig(s.domain, "SOA", "+dnssec").stdout)
            roll = subprocess.run([BIN, "-c", s.config_path, "dnssec", "roll"], capture_output=True, text=True,
                                  timeout=30)
            assert roll.returncode == 0, roll.stderr
            os.kill(s.process.pid, signal.SIGHUP)
            harness.wait_until(lambda: s.dig(s.domain, "DNSKEY", "+norec").stdout.count("\tDNSKEY\t") == 2, 10,
                               what="the new key published after SIGHUP")
            # Pre-publish: the old key still signs, so the old DS still validates everything.
            acct = s.register()
            assert s.update(acct, txt_value(5))[0] == 200
            for name, rtype in ((s.domain, "DNSKEY"), (s.domain, "SOA"), (f"{acct['subdomain']}.{s.domain}", "TXT"),
                                ("none." + s.domain, "A")):
                out = unbound.dig(name, rtype, "+dnssec").stdout
                assert "ad" in dig_flags(out), f"{name} {rtype} after the roll started:\n{out}"


if __name__ == "__main__":
    run_main([
        test_validating_unbound_and_delv_say_secure_for_every_case,
        test_ed25519_validates_too,
        test_a_wrong_trust_anchor_is_bogus,
        test_do0_answers_are_byte_identical_to_unsigned,
        test_compact_denial_rcode_follows_the_co_flag,
        test_bad_input_with_do_set,
        test_ten_values_fit_1232_bytes_and_huge_rrsets_fall_back_to_tcp,
        test_doctor_checks_the_ds_at_the_parent_and_the_signatures,
        test_dnssec_cli,
        test_a_roll_reaches_the_running_server_on_sighup,
        test_wildcard_at_the_apex_validates,
        test_instances_on_one_database_share_the_key,
        test_a_scheduled_roll_starts_when_the_key_is_key_roll_old,
    ])
