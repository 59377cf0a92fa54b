"""dns-persist-01 (draft-ietf-acme-dns-persist) end to end against Pebble 2.10, validating
through unbound -> NSD (parent zone with the CNAMEs) -> acme-dnsd:

- the first order writes the _validation-persist record once; a second order for the
  same names validates again (Pebble reuses no authorization here) and writes nothing:
  the database rows, the stored and the served SOA serial stay as they were;
- a certificate of ten names, five inside our zone and five CNAME-delegated, the
  CNAMEs taken from `acme-dnsd cert list` as an operator would; doctor checks them;
- a record set through the HTTP API (/persist) at an account's subdomain is what the
  client uses for a delegated name; its persistUntil is respected.
"""
import os
import re
import sqlite3
import subprocess
import time

import harness
import peers
from acme_e2e import PARENT, ZONE, AcmeSetup, account_url, new_subdomain, presented, san_names

ISSUER = "pebble.letsencrypt.org"  # Pebble's default caaIdentities / issuer-domain-names


def persist_rows(s):
    with sqlite3.connect(f"file:{s.server.db_path}?mode=ro", uri=True) as db:
        return db.execute("SELECT name, value, updated_ms FROM persist_values ORDER BY name").fetchall()


def stored_serial(s):
    with sqlite3.connect(f"file:{s.server.db_path}?mode=ro", uri=True) as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'serial'").fetchone()
    return row[0] if row else None


def served_serial(s):
    out = s.server.dig(ZONE, "SOA", "+short").stdout.split()
    assert len(out) >= 3, out
    return int(out[2])


def cert_serial(path):
    r = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-serial"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def issue_twice_and_check_the_repeat_writes_nothing(s, name, expected):
    """Issues `name` twice: the first order writes `expected` records, the second none."""
    r = s.cli("cert", "issue", name)
    assert r.returncode == 0, (r.stdout, r.stderr)
    first = presented(r.stdout, name, counters=True)
    assert first["persist_records_written"] == expected, r.stdout
    s.verify_chain(name)
    first_serial = cert_serial(s.certificates[name][0])
    rows = persist_rows(s)
    serials = (stored_serial(s), served_serial(s))

    r = s.cli("cert", "issue", name)
    assert r.returncode == 0, (r.stdout, r.stderr)
    second = presented(r.stdout, name, counters=True)
    # The same authorizations were validated again by dns-persist-01 ... except those
    # Pebble 2.10 reuses: even with PEBBLE_AUTHZREUSE=0 it reuses a valid authorization
    # 1 time in 100 (`rand.Intn(100) > 0` in wfe.go), which the client counts.
    validations = lambda summary: summary["dns-persist-01"] + summary.get("already_valid", 0)  # noqa: E731
    assert validations(second) == validations(first), (first, second)
    assert second["dns-persist-01"] >= 1, second
    # ... and the store saw no write at all.
    assert second["persist_records_written"] == 0, r.stdout
    assert "dns-persist-01 record written" not in r.stdout, r.stdout
    assert persist_rows(s) == rows
    time.sleep(0.6)  # the daemon notices another process's commit within 250 ms
    assert (stored_serial(s), served_serial(s)) == serials
    assert cert_serial(s.certificates[name][0]) != first_serial  # a new certificate all the same
    s.verify_chain(name)
    return first, rows


def test_first_order_writes_the_record_and_a_repeat_writes_nothing():
    certs = [{"name": "one", "domains": [f"p.{ZONE}", f"*.p.{ZONE}"], "challenge": "dns-persist-01"}]
    with AcmeSetup(certificates=certs, cnames={}, start_server=False,
                   pebble_binary=peers.pebble_unstable()) as s:
        s.start_dns_only()
        first, rows = issue_twice_and_check_the_repeat_writes_nothing(s, "one", expected=1)
        assert first["dns-persist-01"] == 2, first
        url = account_url(s)
        # Draft-00/01 form (Pebble 2.10 has no accountHashPrefix): the plain account URL;
        # the wildcard name needs policy=wildcard, and one record serves both names.
        value = f"{ISSUER}; accounturi={url}; policy=wildcard"
        assert [(n, v) for n, v, _ in rows] == [("_validation-persist.p", value)], rows
        assert s.server.txt_values(f"_validation-persist.p.{ZONE}") == [value]


def test_ten_names_inside_and_delegated_by_persist_records():
    sub = new_subdomain()
    inside = [ZONE, f"*.{ZONE}", f"a.{ZONE}", f"b.{ZONE}", f"c.{ZONE}"]
    delegated = [PARENT, f"*.{PARENT}", f"api.{PARENT}", f"mail.{PARENT}", f"shop.{PARENT}"]
    certs = [{"name": "ten", "domains": inside + delegated, "challenge_subdomain": sub,
              "challenge": "dns-persist-01"}]
    with AcmeSetup(certificates=certs, cnames={}, start_server=False,
                   pebble_binary=peers.pebble_unstable()) as s:
        s.start_dns_only()
        target = f"_validation-persist.{sub}.{ZONE}."
        # Before the CNAMEs exist the client names the exact record to create.
        r = s.cli("cert", "issue", "ten")
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert f'"_validation-persist.{PARENT}. CNAME {target}"' in r.stderr, r.stderr
        assert persist_rows(s) == []

        # `cert list` prints the records to create (no account needed for them).
        r = s.cli("cert", "list")
        records = dict(re.findall(r"create: (\S+) CNAME (\S+)", r.stdout))
        assert sorted(records) == sorted(f"_validation-persist.{d}."
                                         for d in (PARENT, f"api.{PARENT}", f"mail.{PARENT}", f"shop.{PARENT}"))
        assert set(records.values()) == {target}, records
        assert f"_validation-persist.a.{ZONE}. (inside our zone" in r.stdout, r.stdout
        s.nsd.reload({PARENT: AcmeSetup.parent_zone(records, serial=2)})

        r = s.cli("doctor", f"mail.{PARENT}", "--resolver", s.unbound.hostport)
        assert f"(dns-persist-01 of certificate ten)" in r.stdout, r.stdout
        assert f"OK    _validation-persist.mail.{PARENT}. CNAME {target}" in r.stdout, r.stdout
        assert f"FAIL  no CNAME at _acme-challenge.mail.{PARENT}." not in r.stdout, r.stdout

        # Five records: the apex with its wildcard, a, b, c, and one shared by the five
        # delegated names (with policy=wildcard for *.example.test).
        first, rows = issue_twice_and_check_the_repeat_writes_nothing(s, "ten", expected=5)
        assert first == {"dns-persist-01": 10, "persist_records_written": 5}, first
        assert san_names(s.certificates["ten"][0]) == sorted(inside + delegated)
        names = {n: v for n, v, _ in rows}
        url = account_url(s)
        assert names == {
            "_validation-persist": f"{ISSUER}; accounturi={url}; policy=wildcard",
            "_validation-persist.a": f"{ISSUER}; accounturi={url}",
            "_validation-persist.b": f"{ISSUER}; accounturi={url}",
            "_validation-persist.c": f"{ISSUER}; accounturi={url}",
            f"_validation-persist.{sub}": f"{ISSUER}; accounturi={url}; policy=wildcard",
        }, names


def test_a_record_set_through_the_api_is_used_and_its_persist_until_respected():
    with AcmeSetup(certificates=[{"name": "warmup", "domains": [f"warmup.{ZONE}"],
                                  "challenge": "dns-persist-01"}],
                   cnames={}, start_server=False, pebble_binary=peers.pebble_unstable()) as s:
        s.start_dns_only()
        r = s.cli("cert", "issue", "warmup")
        assert r.returncode == 0, (r.stdout, r.stderr)
        url = account_url(s)
        acct = s.server.register()
        sub = acct["subdomain"]
        hdrs = {"X-Api-User": acct["username"], "X-Api-Key": acct["password"]}
        past = int(time.time()) - 60
        status, _, body = s.server.request("POST", "/persist", {"subdomain": sub, "issuer": ISSUER,
                                                                "accounturi": url, "persistUntil": past}, hdrs)
        assert status == 200, body
        s.nsd.reload({PARENT: AcmeSetup.parent_zone(
            {f"_validation-persist.shop.{PARENT}": f"_validation-persist.{sub}.{ZONE}"}, serial=2)})
        # The CLI reads the whole file; the running server keeps its DNS-only config.
        out = os.path.join(s.dir, "out", "shop")
        s.certificates["shop"] = (os.path.join(out, "fullchain.pem"), os.path.join(out, "privkey.pem"))
        with open(s.server.config_path, "a") as f:
            f.write(f"\n[[certificate]]\nname = \"shop\"\ndomains = [\"shop.{PARENT}\"]\n"
                    f"challenge_subdomain = \"{sub}\"\nchallenge = \"dns-persist-01\"\n"
                    f"cert_path = \"{s.certificates['shop'][0]}\"\nkey_path = \"{s.certificates['shop'][1]}\"\n")
        rows = persist_rows(s)

        # The owner's persistUntil has passed: the order fails and nothing is overwritten.
        r = s.cli("cert", "issue", "shop")
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert "has a persistUntil that has passed" in r.stderr, r.stderr
        assert persist_rows(s) == rows

        # The owner extends it through the API; the client then writes nothing itself.
        status, _, body = s.server.request(
            "POST", "/persist", {"subdomain": sub, "issuer": ISSUER, "accounturi": url,
                                 "persistUntil": int(time.time()) + 30 * 86400}, hdrs)
        assert status == 200, body
        r = s.cli("cert", "issue", "shop")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert presented(r.stdout, "shop", counters=True) == {"dns-persist-01": 1, "persist_records_written": 0}, r.stdout
        s.verify_chain("shop")


if __name__ == "__main__":
    harness.run_main([
        test_first_order_writes_the_record_and_a_repeat_writes_nothing,
        test_ten_names_inside_and_delegated_by_persist_records,
        test_a_record_set_through_the_api_is_used_and_its_persist_until_respected,
    ])
