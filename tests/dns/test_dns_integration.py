"""DNS plane against the real binary: register and update through the HTTP API, then
ask with dig and kdig over UDP and TCP, IPv4 and IPv6 (DNS.md, issue 3)."""
import os
import re
import socket
import struct
import subprocess
import tempfile
import time

import harness
from harness import Server, run_main, txt_value


def ask(name, rtype="TXT", port=None, server="127.0.0.1", tool="dig", tcp=False, extra=()):
    """Runs dig or kdig and parses status, flags and sections from its output."""
    if tool == "dig":
        argv = ["dig", f"@{server}", "-p", str(port), name, rtype, "+norec", "+time=2", "+tries=1"]
        if tcp:
            argv.append("+tcp")
    else:
        argv = ["kdig", f"@{server}", "-p", str(port), name, rtype, "+norec", "+time=2",
                "+retry=0"]
        argv.append("+tcp" if tcp else "+notcp")
    argv += list(extra)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout
    status = re.search(r"status: (\w+)", out)
    flags = re.search(r";; [Ff]lags: ([a-z ]*);", out)
    sections = {"ANSWER": [], "AUTHORITY": []}
    current = None
    for line in out.splitlines():
        header = re.match(r";; (\w+) SECTION:", line)
        if header:
            current = header.group(1)
            continue
        if not line.strip() or line.startswith(";"):
            current = None if not line.strip() else current
            continue
        if current in sections:
            parts = line.split(None, 4)
            sections[current].append({"owner": parts[0], "ttl": int(parts[1]), "type": parts[3],
                                      "rdata": parts[4] if len(parts) > 4 else ""})
    return {"status": status.group(1) if status else None,
            "flags": set(flags.group(1).split()) if flags else set(),
            "answer": sections["ANSWER"], "authority": sections["AUTHORITY"], "raw": out}


def txts(reply):
    return sorted(r["rdata"].strip('"') for r in reply["answer"] if r["type"] == "TXT")


def check(cond, what, reply=None):
    if not cond:
        raise AssertionError(what + ("\n" + reply["raw"] if reply else ""))


def test_txt_over_udp_and_tcp_ipv4_and_ipv6():
    with Server(ipv6=True) as s:
        acct = s.register()
        status, _, body = s.update(acct, txt_value(1))
        check(status == 200, f"update failed: {status} {body}")
        name = f"{acct['subdomain']}.{s.domain}"
        for tool in ("dig", "kdig"):
            for server, port in (("127.0.0.1", s.dns_port), ("::1", s.dns_port6)):
                for tcp in (False, True):
                    r = ask(name, port=port, server=server, tool=tool, tcp=tcp)
                    where = f"{tool} @{server} tcp={tcp}"
                    check(r["status"] == "NOERROR", where, r)
                    check("aa" in r["flags"], where + ": AA missing", r)
                    check(txts(r) == [txt_value(1)], where + ": wrong values", r)
                    check(r["answer"][0]["ttl"] == 1, where + ": TXT TTL is not txt_ttl", r)


def test_negative_answers_carry_a_short_soa():
    with Server() as s:
        acct = s.register()
        name = f"{acct['subdomain']}.{s.domain}"
        for qname, rtype, status in ((name, "TXT", "NOERROR"),  # registered, no value yet
                                     (name, "A", "NOERROR"),
                                     ("x." + name, "TXT", "NXDOMAIN"),
                                     ("nothing." + s.domain, "TXT", "NXDOMAIN")):
            r = ask(qname, rtype, port=s.dns_port)
            check(r["status"] == status, f"{qname} {rtype}", r)
            check("aa" in r["flags"] and not r["answer"], f"{qname} {rtype}: AA/empty", r)
            check(len(r["authority"]) == 1 and r["authority"][0]["type"] == "SOA",
                  f"{qname}: SOA missing", r)
            check(r["authority"][0]["ttl"] <= 60, "negative TTL too long", r)
        r = ask("example.com", "TXT", port=s.dns_port)
        check(r["status"] == "REFUSED" and "aa" not in r["flags"], "outside the zone", r)


def test_value_is_visible_at_once_and_serial_increases():
    with Server() as s:
        acct = s.register()
        name = f"{acct['subdomain']}.{s.domain}"
        serial = lambda: int(ask(s.domain, "SOA", port=s.dns_port)["answer"][0]["rdata"].split()[2])
        before = serial()
        for i in range(3):
            status, _, _ = s.update(acct, txt_value(10 + i))
            check(status == 200, "update failed")
            # No propagation delay: the very next query sees the value.
            check(txt_value(10 + i) in txts(ask(name, port=s.dns_port)), f"value {i} not visible")
        check(serial() > before, "SOA serial did not increase")


def test_large_rrset_truncated_over_udp_complete_over_tcp():
    with Server() as s:
        acct = s.register()
        values = [txt_value(100 + i) for i in range(40)]  # 40 x 56 bytes > 1232
        for v in values:
            status, _, _ = s.update(acct, v)
            check(status == 200, "update failed")
        name = f"{acct['subdomain']}.{s.domain}"
        udp = ask(name, port=s.dns_port, extra=("+ignore",))
        check("tc" in udp["flags"], "UDP answer not truncated", udp)
        check(len(udp["answer"]) < 40, "UDP carried everything?", udp)
        tcp = ask(name, port=s.dns_port, tcp=True)
        check(txts(tcp) == sorted(values) and "tc" not in tcp["flags"], "TCP incomplete", tcp)
        # dig's own fallback on TC=1 reaches the same answer.
        check(txts(ask(name, port=s.dns_port)) == sorted(values), "TC fallback failed")


def test_case_echo_edns_badvers_any_axfr():
    with Server() as s:
        acct = s.register()
        s.update(acct, txt_value(7))
        mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(acct["subdomain"]))
        mixed += "." + s.domain.upper()
        r = ask(mixed, port=s.dns_port)
        check(r["answer"] and r["answer"][0]["owner"] == mixed + ".", "owner not in query case", r)
        bad = ask(acct["subdomain"] + "." + s.domain, port=s.dns_port, extra=("+edns=1", "+noednsneg"))
        check(bad["status"] == "BADVERS", "EDNS version 1 not BADVERS", bad)
        anyr = ask(s.domain, "ANY", port=s.dns_port)
        check(anyr["status"] == "NOERROR" and len(anyr["answer"]) == 1, "ANY not minimal", anyr)
        axfr = subprocess.run(["dig", "@127.0.0.1", "-p", str(s.dns_port), s.domain, "AXFR",
                               "+time=2", "+tries=1"], capture_output=True, text=True, timeout=20)
        check("Transfer failed" in axfr.stdout or "REFUSED" in axfr.stdout,
              "AXFR not refused:\n" + axfr.stdout)


def _query_bytes(qid, name, qtype=16):
    qname = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + qname + struct.pack("!HH", qtype, 1)


def test_tcp_pipelining_and_idle_timeout():
    with Server(sections={"general": {"tcp_idle_timeout_ms": 600}}) as s:
        acct = s.register()
        s.update(acct, txt_value(3))
        name = f"{acct['subdomain']}.{s.domain}"
        with socket.create_connection(("127.0.0.1", s.dns_port), timeout=5) as c:
            ids = [0x1111, 0x2222, 0x3333]
            # Three queries in one segment: all must be answered on this connection.
            c.sendall(b"".join(struct.pack("!H", len(q)) + q
                               for q in (_query_bytes(i, name) for i in ids)))
            got = set()
            for _ in ids:
                length = struct.unpack("!H", harness.recv_exact(c, 2))[0]
                msg = harness.recv_exact(c, length)
                got.add(struct.unpack("!H", msg[:2])[0])
                check(msg[3] & 0x0F == 0 and struct.unpack("!H", msg[6:8])[0] == 1,
                      "pipelined answer wrong")
            check(got == set(ids), f"ids {got}")
            start = time.monotonic()
            c.settimeout(5)
            check(c.recv(10) == b"", "idle connection not closed")
            waited = time.monotonic() - start
            check(0.3 < waited < 4, f"idle close after {waited:.2f}s, expected ~0.6s")


def test_protocol_udp_only_and_taken_address():
    with Server(sections={"general": {"protocol": "udp4"}}) as s:
        check(ask(s.domain, "SOA", port=s.dns_port)["status"] == "NOERROR", "udp4 not served")
        try:
            socket.create_connection(("127.0.0.1", s.dns_port), timeout=2).close()
            raise AssertionError("TCP accepted although protocol = udp4")
        except ConnectionRefusedError:
            pass
        # Same address again: the second server must exit non-zero and name it.
        other = Server(sections={"general": {"listen": [f"127.0.0.1:{s.dns_port}"]}}, start=False)
        try:
            r = subprocess.run([harness.BIN, "-c", other.config_path], capture_output=True,
                               text=True, timeout=20)
            check(r.returncode != 0, "second server started on a taken address")
            check(f"127.0.0.1:{s.dns_port}" in r.stdout + r.stderr,
                  "error does not name the address:\n" + r.stdout + r.stderr)
        finally:
            other.close()


def test_static_records_case_and_cname_into_challenge_name():
    workdir = tempfile.mkdtemp(prefix="acmednsd-dns-")
    with Server(workdir=workdir) as first:
        acct = first.register()
        first.update(acct, txt_value(5))
        domain = first.domain
    records = [f"{domain}. A 127.0.0.1", f"ns1.{domain}. A 127.0.0.1", f"{domain}. NS ns1.{domain}.",
               f'{domain}. TXT "Hello World"', f'{domain}. CAA 0 issue "LetsEncrypt.org"',
               f"_acme-challenge.www.{domain}. CNAME {acct['subdomain']}.{domain}.",
               f"*.wild.{domain}. A 192.0.2.7"]
    try:
        with Server(workdir=workdir, sections={"general": {"records": records}}) as s:
            r = ask(s.domain, "TXT", port=s.dns_port)
            check(txts(r) == ["Hello World"], "static TXT case lost", r)
            caa = ask(s.domain, "CAA", port=s.dns_port)
            check(caa["answer"] and "LetsEncrypt.org" in caa["answer"][0]["rdata"], "CAA case lost", caa)
            chain = ask(f"_acme-challenge.www.{domain}", port=s.dns_port)
            check([a["type"] for a in chain["answer"]] == ["CNAME", "TXT"], "CNAME not followed", chain)
            check(txts(chain) == [txt_value(5)], "value lost across restart", chain)
            w = ask(f"host.wild.{domain}", "A", port=s.dns_port, tool="kdig")
            check(w["answer"] and w["answer"][0]["rdata"] == "192.0.2.7", "wildcard", w)
            ns = ask(s.domain, "NS", port=s.dns_port)
            check(len(ns["answer"]) == 1, "nsname and the identical static NS not merged", ns)
    finally:
        if os.environ.get("ACMEDNSD_KEEP_TMP") is None:
            import shutil
            shutil.rmtree(workdir, ignore_errors=True)


def test_rate_limit_slips_and_drops_and_query_log():
    sections = {"general": {"rrl_responses_per_second": 5, "rrl_slip": 2, "rrl_exempt": [], "threads": 1},
                "logconfig": {"loglevel": "info", "query_log": True}}
    with Server(sections=sections) as s:
        name = "ratelimited." + s.domain
        full = truncated = 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.settimeout(0.3)
            # All within one second (the limiter counts per wall-clock second, so start
            # just after a boundary): 5 full answers, then every 2nd limited one slips.
            time.sleep(1.02 - time.time() % 1)
            for i in range(20):
                u.sendto(_query_bytes(0x4000 + i, name, 1), ("127.0.0.1", s.dns_port))
            try:
                while True:
                    msg, _ = u.recvfrom(4096)
                    if msg[2] & 0x02:
                        truncated += 1
                    else:
                        full += 1
            except socket.timeout:
                pass
        check(full == 5, f"expected 5 full answers within the budget, got {full}")
        check(5 <= truncated <= 8, f"expected about half of the 15 limited ones to slip, got {truncated}")
        check(full + truncated < 20, "nothing was dropped")
        time.sleep(1.1)
        check(ask(name, "A", port=s.dns_port)["status"] == "NXDOMAIN", "new second, new budget")
        log = s.process.output()
        check("dns query" in log and "ratelimited." in log and "NXDOMAIN" in log,
              "query log line missing:\n" + log[-2000:])
        # TCP lines name the client too (its address is looked up on the first logged query).
        s.dig(name, "A", "+tcp")
        tcp_lines = [l for l in s.process.output().splitlines() if "dns query" in l and "transport=tcp" in l]
        check(tcp_lines and "client=127.0.0.1:" in tcp_lines[-1], "TCP query log line:\n" + "\n".join(tcp_lines))


if __name__ == "__main__":
    run_main([
        test_txt_over_udp_and_tcp_ipv4_and_ipv6,
        test_negative_answers_carry_a_short_soa,
        test_value_is_visible_at_once_and_serial_increases,
        test_large_rrset_truncated_over_udp_complete_over_tcp,
        test_case_echo_edns_badvers_any_axfr,
        test_tcp_pipelining_and_idle_timeout,
        test_protocol_udp_only_and_taken_address,
        test_static_records_case_and_cname_into_challenge_name,
        test_rate_limit_slips_and_drops_and_query_log,
    ])
