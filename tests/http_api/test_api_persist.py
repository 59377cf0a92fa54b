"""/persist (API.md Part 2, dns-persist-01 records) against the real binary: set, list,
remove; hostile values refused with 400 and nothing changed; records served over DNS
at _validation-persist.<subdomain>, never expired by txt_retention, not counted in
txt_limit, carried by AXFR and IXFR, gone with their account, kept across a restart."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, run_main, txt_value  # noqa: E402

ACCT_URI = "https://ca.test/acme/acct/1234"


def headers(acct):
    return {"X-Api-User": acct["username"], "X-Api-Key": acct["password"]}


def persist(srv, acct, method="POST", **fields):
    body = {"subdomain": acct["subdomain"], **fields}
    status, hdrs, data = srv.request(method, "/persist", body, headers(acct))
    return status, json.loads(data) if data else None


def listed(srv, acct):
    status, _, data = srv.request("GET", "/persist", None, headers(acct))
    assert status == 200, (status, data)
    return json.loads(data)


def owner(srv, acct):
    return f"_validation-persist.{acct['subdomain']}.{srv.domain}"


def serial(srv):
    out = srv.dig(srv.domain, "SOA", "+short").stdout.split()
    assert len(out) >= 3, out
    return int(out[2])


def test_set_list_serve_and_remove():
    with Server() as srv:
        acct = srv.register()
        status, body = persist(srv, acct, issuer="CA.Test", accounturi=ACCT_URI, policy="wildcard",
                               persistUntil=4102444800)
        assert status == 200, body
        wanted = f"ca.test; accounturi={ACCT_URI}; policy=wildcard; persistUntil=4102444800"
        assert body == {"fulldomain": owner(srv, acct), "txt": wanted, "written": True}, body
        assert srv.txt_values(owner(srv, acct)) == [wanted]
        # Setting the same record again writes nothing: the serial stays.
        before = serial(srv)
        status, body = persist(srv, acct, value=wanted)
        assert (status, body["written"]) == (200, False), body
        assert serial(srv) == before
        # Same issuer and accounturi: replaced, not added.
        status, body = persist(srv, acct, issuer="ca.test", accounturi=ACCT_URI)
        assert (status, body["written"]) == (200, True), body
        plain = f"ca.test; accounturi={ACCT_URI}"
        assert srv.txt_values(owner(srv, acct)) == [plain]
        # A second CA beside it.
        status, body = persist(srv, acct, value="other.example; accounturi=urn:x:1")
        assert status == 200, body
        records = listed(srv, acct)
        assert records["fulldomain"] == owner(srv, acct)
        assert [r["txt"] for r in records["records"]] == [plain, "other.example; accounturi=urn:x:1"]
        assert srv.txt_values(owner(srv, acct)) == sorted([plain, "other.example; accounturi=urn:x:1"])

        status, body = persist(srv, acct, "DELETE", issuer="CA.TEST", accounturi=ACCT_URI)
        assert (status, body) == (200, {"txt": plain}), body
        status, body = persist(srv, acct, "DELETE", issuer="ca.test", accounturi=ACCT_URI)
        assert (status, body) == (404, {"error": "not_found"}), body
        assert srv.txt_values(owner(srv, acct)) == ["other.example; accounturi=urn:x:1"]

        # Another account's key cannot touch it; a wrong subdomain is 401 as for /update.
        other = srv.register()
        status, _, _ = srv.request("POST", "/persist", {"subdomain": acct["subdomain"], "value": plain},
                                   headers(other))
        assert status == 401
        status, _, _ = srv.request("GET", "/persist", None, {"X-Api-User": acct["username"],
                                                              "X-Api-Key": "x" * 40})
        assert status == 401

        # The account goes, its records go.
        status, _, _ = srv.request("DELETE", "/account", None, headers(acct))
        assert status == 204
        out = srv.dig(owner(srv, acct), "TXT").stdout
        assert "status: NXDOMAIN" in out, out


HOSTILE_VALUES = [
    "",
    "ca.test",                                         # no accounturi
    "; accounturi=https://ca.test/a",                  # no issuer
    "ca.test; accounturi=",                            # empty accounturi
    "ca.test; accounturi=nocolon",                     # not a URI
    "ca.test; accounturi=https://ca.test/a; accounturi=https://ca.test/b",  # duplicate
    "ca.test; accounturi=https://ca.test/a;;",         # empty parameter
    "ca.test; accounturi=https://ca.test/a; policy=exact",
    "ca.test; accounturi=https://ca.test/a; persistUntil=tomorrow",
    "ca.test; accounturi=https://ca.test/a; persistUntil=-1",
    "ca.test; accounturi=https://ca.test/a\nINJECTED",
    "ca.test; accounturi=https://ca.test/a\u00e9",
    "ca..test; accounturi=https://ca.test/a",
    "ca.test; accounturi=https://ca.test/" + "a" * 600,
    "ca.test; accounturi=https://ca.test/a; bad tag=1",
]

HOSTILE_FIELDS = [
    {"issuer": "ca.test", "accounturi": "https://ca.test/a; policy=wildcard"},  # smuggled policy
    {"issuer": "ca.test; accounturi=https://evil/1", "accounturi": "https://ca.test/a"},
    {"issuer": "ca.test", "accounturi": "https://ca.test/a", "persistUntil": -5},
    {"issuer": "ca.test", "accounturi": "https://ca.test/a", "persistUntil": "1700000000"},
    {"issuer": "ca.test", "accounturi": "https://ca.test/a", "policy": "exact"},
    {"issuer": "ca.test", "accounturi": 7},
    {"issuer": "ca.test"},
    {"value": "ca.test; accounturi=https://ca.test/a", "issuer": "ca.test"},
]


def test_hostile_values_are_refused_and_change_nothing():
    with Server() as srv:
        acct = srv.register()
        ok = f"ca.test; accounturi={ACCT_URI}"
        assert persist(srv, acct, value=ok)[0] == 200
        before = serial(srv)
        for value in HOSTILE_VALUES:
            status, body = persist(srv, acct, value=value)
            if value == "":
                # An empty value means "use the fields", which are missing.
                assert (status, body["error"]) == (400, "bad_persist_value"), (value, body)
                continue
            assert status == 400, (value, status, body)
            assert body["error"] == "bad_persist_value" and body["detail"], (value, body)
        for fields in HOSTILE_FIELDS:
            status, body = persist(srv, acct, **fields)
            assert status == 400, (fields, status, body)
            assert body["error"] == "bad_persist_value" and body["detail"], (fields, body)
        status, _, data = srv.request("POST", "/persist", "{not json", headers(acct))
        assert (status, data) == (400, b'{"error": "malformed_json_payload"}')
        assert [r["txt"] for r in listed(srv, acct)["records"]] == [ok]
        assert srv.txt_values(owner(srv, acct)) == [ok]
        assert serial(srv) == before
        # The cap per name: 16 records, then a clear refusal.
        for i in range(15):
            assert persist(srv, acct, value=f"ca{i}.test; accounturi={ACCT_URI}")[0] == 200
        status, body = persist(srv, acct, value=f"ca99.test; accounturi={ACCT_URI}")
        assert (status, body["error"]) == (400, "too_many_persist_records"), body
        assert len(listed(srv, acct)["records"]) == 16


def test_never_expired_not_counted_and_transferred():
    sections = {"general": {"txt_limit": 2, "txt_retention": 2},
                "transfer": {"allow": ["127.0.0.0/8"], "ixfr_journal": 1000}}
    with Server(sections) as srv:
        acct = srv.register()
        value = f"ca.test; accounturi={ACCT_URI}"
        assert persist(srv, acct, value=value)[0] == 200
        fqdn = owner(srv, acct)
        start_serial = serial(srv)
        for i in range(4):
            assert srv.update(acct, txt_value(i))[0] == 200
        # txt_limit = 2 keeps two challenge values; the persist record is not one of them.
        subdomain_values = srv.txt_values(f"{acct['subdomain']}.{srv.domain}")
        assert subdomain_values == sorted([txt_value(2), txt_value(3)]), subdomain_values
        assert srv.txt_values(fqdn) == [value]
        # Past txt_retention (and a prune) the persist record is still served.
        time.sleep(3.5)
        harness.wait_until(lambda: srv.txt_values(fqdn) == [value], 5, what="persist record kept")
        assert srv.txt_values(fqdn) == [value]

        axfr = srv.dig(srv.domain, "AXFR").stdout
        assert re.search(rf'^{re.escape(fqdn)}\.\s+\d+\s+IN\s+TXT\s+"{re.escape(value)}"$', axfr, re.M), axfr
        # IXFR from before the /update calls: the journal lists what changed since; a
        # change of the persist record itself is in it too.
        assert persist(srv, acct, value=value + "; policy=wildcard")[0] == 200
        ixfr = srv.dig(srv.domain, f"IXFR={start_serial}").stdout
        assert f'"{value}; policy=wildcard"' in ixfr, ixfr
        assert ixfr.count(f"{fqdn}.") >= 2, ixfr  # the old value removed, the new one added

        # A restart loads the records from the database.
        srv.stop()
        srv.start()
        assert srv.txt_values(fqdn) == [value + "; policy=wildcard"]


def test_long_values_are_split_into_strings():
    with Server({"transfer": {"allow": ["127.0.0.0/8"]}}) as srv:
        acct = srv.register()
        value = "ca.test; accounturi=https://ca.test/acme/acct/" + "x" * 300
        status, body = persist(srv, acct, value=value)
        assert status == 200, body
        out = srv.dig(owner(srv, acct), "TXT", "+short").stdout.strip()
        strings = re.findall(r'"([^"]*)"', out)
        assert len(strings) == 2 and "".join(strings) == value, out
        axfr = srv.dig(srv.domain, "AXFR").stdout
        line = [l for l in axfr.splitlines() if l.startswith(owner(srv, acct))]
        assert len(line) == 1 and "".join(re.findall(r'"([^"]*)"', line[0])) == value, axfr


def cli(srv, *args):
    return subprocess.run([harness.BIN, "-c", srv.config_path, *args], capture_output=True, text=True,
                          timeout=60)


def test_the_cli_shares_the_records():
    with Server() as srv:
        acct = srv.register()
        value = f"ca.test; accounturi={ACCT_URI}"
        r = cli(srv, "accounts", "persist", acct["username"], "set", "CA.test; accounturi=" + ACCT_URI)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert r.stdout == f"set {owner(srv, acct)}\n", r.stdout
        # The running server picks up the other process's commit.
        harness.wait_until(lambda: srv.txt_values(owner(srv, acct)) == [value], 5, what="CLI record served")
        assert [x["txt"] for x in listed(srv, acct)["records"]] == [value]
        before = serial(srv)
        for bad in ("ca.test", "ca.test; accounturi=https://a/1; policy=any", "ca.test; accounturi=\x01"):
            r = cli(srv, "accounts", "persist", acct["username"], "set", bad)
            assert r.returncode == 2 and "nothing was changed" in r.stderr, (bad, r.stdout, r.stderr)
        r = cli(srv, "accounts", "persist", acct["username"], "list")
        assert r.returncode == 0 and json.loads(r.stdout)["records"][0]["txt"] == value, r.stdout
        time.sleep(0.6)
        assert serial(srv) == before
        r = cli(srv, "accounts", "persist", acct["username"], "remove", "ca.test", ACCT_URI)
        assert r.returncode == 0, (r.stdout, r.stderr)
        harness.wait_until(lambda: srv.txt_values(owner(srv, acct)) == [], 5, what="CLI removal served")
        r = cli(srv, "accounts", "persist", acct["username"], "remove", "ca.test", ACCT_URI)
        assert r.returncode == 1 and "no record" in r.stderr, (r.stdout, r.stderr)
        r = cli(srv, "accounts", "persist", acct["username"], "frobnicate")
        assert r.returncode == 2 and "usage:" in r.stderr, r.stderr


if __name__ == "__main__":
    run_main([
        test_set_list_serve_and_remove,
        test_hostile_values_are_refused_and_change_nothing,
        test_never_expired_not_counted_and_transferred,
        test_long_values_are_split_into_strings,
        test_the_cli_shares_the_records,
    ])
