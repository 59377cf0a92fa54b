"""unbound resolves `_acme-challenge.www.example.test` TXT the way a CA's resolver does:
NSD serves the parent zone example.test (NS + glue delegating auth.example.test, and the
_acme-challenge CNAME into it); acme-dnsd serves auth.example.test. unbound has stub
zones for both and refuses everything else.
"""
import json
import os
import re

import harness
import e2e_common as E

NAME = "_acme-challenge.www.example.test"


def dig_status(out):
    m = re.search(r"status: (\w+)", out)
    return m.group(1) if m else None


def answer_types(out):
    """(name, type) of every ANSWER section record in dig's full output."""
    section, rows = None, []
    for line in out.splitlines():
        if line.startswith(";; ") and line.endswith("SECTION:"):
            section = line
            continue
        if section == ";; ANSWER SECTION:" and line.strip() and not line.startswith(";"):
            f = line.split()
            rows.append((f[0].lower(), f[3]))
    return rows


def wait_values(unbound, expected, timeout=8.0):
    """unbound caches the RRset for its TTL (txt_ttl, 1 s): poll, bounded."""
    got = []

    def match():
        nonlocal got
        got = unbound.txt_values(NAME)
        return got == sorted(expected)

    try:
        harness.wait_until(match, timeout, interval=0.2, what="unbound answer")
    except AssertionError:
        raise AssertionError(f"unbound answers {got}, expected {sorted(expected)}")


def test_chain():
    with E.Topology(pebble=False) as topo:
        srv, ub = topo.server, topo.unbound
        acct = srv.register()
        target = acct["fulldomain"] + "."
        topo.set_cnames({NAME: acct["fulldomain"]})

        # The parent delegates our zone with glue.
        out = topo.nsd.dig(E.ZONE, "NS").stdout
        assert dig_status(out) == "NOERROR" and f"ns1.{E.ZONE}." in out, out
        # Before any update our server answers NODATA (NOERROR, no answer).
        out = srv.dig(acct["fulldomain"], "TXT").stdout
        assert dig_status(out) == "NOERROR" and answer_types(out) == [], out

        values = [harness.txt_value(i) for i in (101, 102, 103)]
        for v in values:
            status, _, body = srv.update(acct, v)
            assert status == 200 and body == json.dumps({"txt": v}).encode(), (status, body)
        assert srv.txt_values(acct["fulldomain"]) == sorted(values)

        out = ub.dig(NAME, "TXT").stdout
        assert dig_status(out) == "NOERROR", out
        rows = answer_types(out)
        assert (NAME + ".", "CNAME") in rows, out
        assert rows.count((target.lower(), "TXT")) == 3, out
        assert ub.txt_values(NAME) == sorted(values)

        # DELETE /update removes one value: gone from our server at once, from unbound
        # once its 1-second TTL has run out.
        headers = {"X-Api-User": acct["username"], "X-Api-Key": acct["password"]}
        status, _, body = srv.request("DELETE", "/update",
                                      {"subdomain": acct["subdomain"], "txt": values[1]}, headers)
        assert status == 200 and body == json.dumps({"txt": values[1]}).encode(), (status, body)
        remaining = [values[0], values[2]]
        assert srv.txt_values(acct["fulldomain"]) == sorted(remaining)
        wait_values(ub, remaining)

        # Removing the rest leaves NODATA behind the CNAME.
        for v in remaining:
            status, _, body = srv.request("DELETE", "/update",
                                          {"subdomain": acct["subdomain"], "txt": v}, headers)
            assert status == 200, (status, body)
        wait_values(ub, [])
        out = ub.dig(NAME, "TXT").stdout
        assert dig_status(out) == "NOERROR" and (NAME + ".", "CNAME") in answer_types(out), out


def test_many_values_tcp_fallback():
    """60 values do not fit in a 1232-byte UDP answer: acme-dnsd sets TC and unbound
    retries over TCP, still returning every value."""
    with E.Topology(pebble=False) as topo:
        srv, ub = topo.server, topo.unbound
        acct = srv.register()
        topo.set_cnames({NAME: acct["fulldomain"]})
        values = [harness.txt_value(200 + i) for i in range(60)]
        for v in values:
            status, _, body = srv.update(acct, v)
            assert status == 200, (status, body)
        out = srv.dig(acct["fulldomain"], "TXT", "+notcp", "+ignore", "+bufsize=1232").stdout
        assert " tc" in out.split("flags:")[1].split(";")[0], out
        wait_values(ub, values)


if __name__ == "__main__":
    harness.run_main([test_chain, test_many_values_tcp_fallback])
