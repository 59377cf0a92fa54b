"""Zone transfer refusals and bad input (issue 13): wrong source, unsigned when a key
is required, wrong secret, clock skew, malformed TSIG, IXFR with garbage serials,
AXFR/IXFR over UDP, and a flood of transfers bounded by max_transfers while UDP
keeps answering. TSIG requests here are signed by an independent implementation
(Python's hmac, transfer_lib.tsig_sign); dig and kdig check our signed answers."""
import concurrent.futures
import os
import socket
import struct
import subprocess
import tempfile
import threading
import time

import harness
import transfer_lib as tl

ZONE = tl.ZONE
NOTAUTH, REFUSED, FORMERR, NOERROR = 9, 5, 1, 0


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def tsig_error(resp):
    """The Error field of the response's TSIG record (the last record)."""
    t = tl.tsig_record(resp)
    return None if t is None else t[1]


def server(secret, **transfer):
    t = {"allow": ["127.0.0.1/32"], "require_tsig": [tl.KEY_NAME], "max_transfers": 2}
    t.update(transfer)
    return harness.Server({"transfer": t}, extra_toml=tl.tsig_toml(secret))


def fill(srv, n):
    accounts = [srv.register() for _ in range(n)]
    for i, a in enumerate(accounts):
        assert srv.update(a, harness.txt_value(i))[0] == 200
    return accounts


def test_signed_axfr_with_dig_and_kdig():
    secret = tl.new_secret()
    with server(secret) as s:
        fill(s, 5)
        for tool in (["dig", "-y", f"hmac-sha256:{tl.KEY_NAME}:{secret}", "+tries=1"],
                     ["kdig", "-y", f"hmac-sha256:{tl.KEY_NAME}:{secret}", "+retry=0"]):
            out = subprocess.run(tool + ["@127.0.0.1", "-p", str(s.dns_port), ZONE, "AXFR", "+time=3"],
                                 capture_output=True, text=True, timeout=30).stdout
            txt = [l for l in out.splitlines() if "\tTXT\t" in l or " TXT " in l]
            check(len(txt) == 5, f"{tool[0]}: expected 5 TXT records:\n{out}")
            check("tsig" not in out.lower() or "NOERROR" in out or "failed" not in out.lower(),
                  f"{tool[0]} did not verify the signature:\n{out}")
            check(out.count("SOA") >= 2, f"{tool[0]}: AXFR without the closing SOA:\n{out}")
        # A signed SOA query over UDP (what a secondary sends to check the serial) gets a
        # signed answer that dig verifies.
        out = subprocess.run(["dig", "-y", f"hmac-sha256:{tl.KEY_NAME}:{secret}", "@127.0.0.1", "-p",
                              str(s.dns_port), ZONE, "SOA", "+time=2", "+tries=1"],
                             capture_output=True, text=True, timeout=20).stdout
        check("NOERROR" in out and "TSIG" in out and "tsig verify failure" not in out, out)


def test_refusals():
    secret = tl.new_secret()
    with server(secret) as s:
        fill(s, 2)
        axfr = tl.query(ZONE, 252)
        # Unsigned while a key is required: REFUSED.
        r = tl.tcp_messages(s.dns_port, axfr)
        check(len(r) == 1 and tl.rcode(r[0]) == REFUSED, f"unsigned AXFR: {[tl.rcode(m) for m in r]}")
        # Signed correctly but from a source outside `allow` (127.0.0.2): REFUSED, signed.
        r = tl.tcp_messages(s.dns_port, tl.tsig_sign(axfr, secret), source="127.0.0.2")
        check(len(r) == 1 and tl.rcode(r[0]) == REFUSED and tl.counts(r[0])[3] == 1,
              "signed AXFR from a wrong source must be REFUSED (and signed)")
        # Correct source and key: the zone.
        r = tl.tcp_messages(s.dns_port, tl.tsig_sign(axfr, secret))
        check(r and tl.rcode(r[0]) == NOERROR and sum(tl.soa_count(m) for m in r) == 2, "signed AXFR failed")
        # Wrong secret: NOTAUTH with BADSIG.
        r = tl.tcp_messages(s.dns_port, tl.tsig_sign(axfr, tl.new_secret()))
        check(len(r) == 1 and tl.rcode(r[0]) == NOTAUTH and tsig_error(r[0]) == 16, "wrong secret: not BADSIG")
        # Unknown key name: BADKEY.
        r = tl.tcp_messages(s.dns_port, tl.tsig_sign(axfr, secret, name="other-key"))
        check(len(r) == 1 and tl.rcode(r[0]) == NOTAUTH and tsig_error(r[0]) == 17, "unknown key: not BADKEY")
        # Clock skew beyond the 300 s fudge: BADTIME, with our time in Other Data.
        r = tl.tcp_messages(s.dns_port, tl.tsig_sign(axfr, secret, time_signed=int(time.time()) - 1000))
        check(len(r) == 1 and tl.rcode(r[0]) == NOTAUTH and tsig_error(r[0]) == 18, "skewed clock: not BADTIME")
        ours = int.from_bytes(tl.tsig_record(r[0])[2], "big")
        check(abs(ours - time.time()) < 5, f"BADTIME Other Data is not our time: {ours}")
        # Inside the fudge: accepted.
        r = tl.tcp_messages(s.dns_port, tl.tsig_sign(axfr, secret, time_signed=int(time.time()) - 200))
        check(r and tl.rcode(r[0]) == NOERROR, "a 200 s skew is within the fudge")
        # A zone we are not authoritative for, signed: REFUSED.
        r = tl.tcp_messages(s.dns_port, tl.tsig_sign(tl.query("example.org", 252), secret))
        check(len(r) == 1 and tl.rcode(r[0]) == REFUSED, "AXFR of another zone")
        log = s.process.output()
        check(secret not in log, "the secret appears in the log")


def test_bad_input():
    secret = tl.new_secret()
    with server(secret) as s:
        fill(s, 3)
        serial = int(s.dig(ZONE + ".", "SOA", "+short").stdout.split()[2])
        signed = tl.tsig_sign(tl.query(ZONE, 252), secret)
        # Malformed TSIG records: truncated MAC, trailing garbage, TSIG not last.
        cut = signed[:-8]
        r = tl.tcp_messages(s.dns_port, cut)
        check(len(r) == 1 and tl.rcode(r[0]) == FORMERR, f"truncated TSIG: {[tl.rcode(m) for m in r]}")
        r = tl.tcp_messages(s.dns_port, signed + b"\0\0")
        check(len(r) == 1 and tl.rcode(r[0]) == FORMERR, "TSIG with trailing bytes")
        opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)
        tsig_rr = signed[len(tl.query(ZONE, 252)):]
        not_last = signed[:10] + struct.pack("!H", 2) + tl.query(ZONE, 252)[12:] + tsig_rr + opt
        r = tl.tcp_messages(s.dns_port, not_last)
        check(len(r) == 1 and tl.rcode(r[0]) == FORMERR, "TSIG not the last record")
        flipped = bytearray(signed)
        flipped[-12] ^= 0xFF  # inside the MAC
        r = tl.tcp_messages(s.dns_port, bytes(flipped))
        check(len(r) == 1 and tl.rcode(r[0]) == NOTAUTH and tsig_error(r[0]) == 16, "flipped MAC: not BADSIG")
        # IXFR with a serial from the future (or equal): only our SOA.
        for garbage in (serial, serial + 5, (serial + 0x7FFFFFF0) & 0xFFFFFFFF):
            r = tl.tcp_messages(s.dns_port, tl.tsig_sign(tl.ixfr_query(garbage), secret))
            check(len(r) == 1 and tl.rcode(r[0]) == NOERROR and tl.counts(r[0])[1] == 1 and tl.soa_count(r[0]) == 1,
                  f"IXFR from serial {garbage}: not a single SOA")
        # IXFR from an old serial the journal does not hold (0): the whole zone.
        r = tl.tcp_messages(s.dns_port, tl.tsig_sign(tl.ixfr_query(1), secret))
        txt = sum(1 for m in r for t, _ in tl.records(m) if t == 16)
        check(txt == 3 and sum(tl.soa_count(m) for m in r) == 2, f"IXFR from an unknown serial: {txt} TXT")
        # IXFR without the SOA in the authority section, or with a broken one: FORMERR.
        r = tl.tcp_messages(s.dns_port, tl.tsig_sign(tl.query(ZONE, 251), secret))
        check(len(r) == 1 and tl.rcode(r[0]) == FORMERR, "IXFR without SOA")
        broken = tl.ixfr_query(serial)[:-6]
        broken = broken[:-2] + struct.pack("!H", 0)  # garbage in place of the SOA's rdata
        r = tl.tcp_messages(s.dns_port, tl.tsig_sign(broken, secret))
        check(len(r) == 1 and tl.rcode(r[0]) in (FORMERR,), f"IXFR with a broken SOA: {[tl.rcode(m) for m in r]}")
        # Over UDP: IXFR gets our SOA alone (RFC 1995: "use TCP"), AXFR is refused.
        r = tl.udp_ask(s.dns_port, tl.tsig_sign(tl.ixfr_query(1), secret))
        check(tl.rcode(r) == NOERROR and tl.counts(r)[1] == 1 and tl.soa_count(r) == 1, "IXFR over UDP")
        r = tl.udp_ask(s.dns_port, tl.tsig_sign(tl.query(ZONE, 252), secret))
        check(tl.rcode(r) == REFUSED, "AXFR over UDP")
        # Nothing changed: the serial is the same and the server still answers.
        check(int(s.dig(ZONE + ".", "SOA", "+short").stdout.split()[2]) == serial, "bad input changed the serial")


def test_signed_udp_answer_fits_the_client():
    # A TXT RRset that just fits 1232 bytes unsigned: the signed answer must still fit
    # the client's EDNS size (TC=1 when it cannot), and carry a full MAC.
    secret = tl.new_secret()
    with server(secret) as s:
        a = s.register()
        for i in range(20):
            assert s.update(a, harness.txt_value(i))[0] == 200
        name = f"{a['subdomain']}.{ZONE}"
        q = tl.query(name, 16)
        q = q[:10] + struct.pack("!H", 1) + q[12:] + b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)
        unsigned = tl.udp_ask(s.dns_port, q)
        check(1000 < len(unsigned) <= 1232, f"unsigned answer of {len(unsigned)} bytes")
        r = tl.udp_ask(s.dns_port, tl.tsig_sign(q, secret))
        check(len(r) <= 1232, f"signed answer of {len(r)} bytes exceeds the client's 1232")
        t = tl.tsig_record(r)
        check(t is not None and len(t[0]) == 32 and t[1] == 0, "the answer is not signed")
        check(tl.counts(r)[1] == 20 or (r[2] & 0x02) != 0, "neither the full RRset nor TC=1")


def test_transfer_flood_is_bounded():
    secret = tl.new_secret()
    with server(secret, max_transfers=2) as s:
        # A zone larger than what the kernel buffers for a reader that does not read
        # (2,000 values, ~200 KB), so the first transfers stay open.
        accounts = [s.register() for _ in range(20)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda i: s.update(accounts[i % 20], harness.txt_value(i))[0], range(2000)))
        check(codes == [200] * 2000, "updates failed")
        # 30 connections ask AXFR and never read: at most 2 streams run, the rest are
        # REFUSED at once; meanwhile UDP queries keep being answered.
        signed = tl.tsig_sign(tl.query(ZONE, 252), secret)
        socks = []
        try:
            for _ in range(30):
                c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # before connect: a small window
                c.settimeout(5)
                c.connect(("127.0.0.1", s.dns_port))
                c.sendall(struct.pack("!H", len(signed)) + signed)
                socks.append(c)
            refused = 0
            for c in socks:
                c.settimeout(5)
                n = struct.unpack("!H", harness.recv_exact(c, 2))[0]
                first = harness.recv_exact(c, n)
                refused += tl.rcode(first) == REFUSED
            check(refused >= 28, f"only {refused} of 30 transfers refused with max_transfers = 2")
            # UDP still answers promptly.
            started = time.monotonic()
            for _ in range(50):
                check(tl.rcode(tl.udp_ask(s.dns_port, tl.query(ZONE, 6))) == NOERROR, "UDP SOA failed")
            check(time.monotonic() - started < 2.0, "UDP slowed down during the flood")
        finally:
            for c in socks:
                c.close()
        # The slots come back once the connections are gone.
        harness.wait_until(lambda: tl.rcode(tl.tcp_messages(s.dns_port, signed)[0]) == NOERROR, 10,
                           what="transfers accepted again")


if __name__ == "__main__":
    harness.run_main([test_signed_axfr_with_dig_and_kdig, test_refusals, test_bad_input,
                      test_signed_udp_answer_fits_the_client, test_transfer_flood_is_bounded])
