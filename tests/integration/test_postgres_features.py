"""dns-persist-01 records and DNSSEC keys with two acme-dnsd instances on one PostgreSQL.

Both instances start together with [dnssec] enabled on an empty database: they create
one key between them and serve the same DNSKEY; `dnssec ds` (the CLI on engine =
postgres) prints the same DS from either config. A /persist record set at A is served
by B's DNS (the change log carries it), replaced and removed through B is seen by A, and
goes with its account. A `dnssec roll` from the CLI reaches both instances on SIGHUP.
"""
import json
import os
import signal
import subprocess
import threading

import harness
import postgres

DOMAIN = "auth.example.test"
ACCT_URI = "https://ca.test/acme/acct/77"


def headers(acct):
    return {"X-Api-User": acct["username"], "X-Api-Key": acct["password"]}


def persist(srv, acct, method="POST", **fields):
    status, _, data = srv.request(method, "/persist", {"subdomain": acct["subdomain"], **fields}, headers(acct))
    return status, json.loads(data) if data else None


def dnskeys(srv):
    return sorted(srv.dig(DOMAIN, "DNSKEY", "+short", "+norec").stdout.strip().splitlines())


def cli(srv, *args):
    r = subprocess.run([harness.BIN, "-c", srv.config_path, *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def ds_lines(srv):
    return sorted(l for l in cli(srv, "dnssec", "ds").splitlines() if " IN DS " in l)


def test_two_instances_share_the_dnssec_key_and_the_persist_records(pg, tmp):
    url = pg.create_database("features")
    servers = []
    for i in range(2):
        d = os.path.join(tmp, f"i{i}")
        os.makedirs(d)
        servers.append(harness.Server(workdir=d, start=False, sections={
            "general": {"threads": 1},
            "dnssec": {"enabled": True},
            "database": {"engine": "postgres", "connection": url}}))
    a, b = servers
    try:
        # Started together on an empty database: one first key between them.
        errors = []

        def start(srv):
            try:
                srv.start()
            except Exception as e:  # reported below, with the instance's log
                errors.append(f"{e}\n{srv.process.output() if srv.process else ''}")

        threads = [threading.Thread(target=start, args=(s,)) for s in servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        assert pg.psql("SELECT count(*) FROM dnssec_keys", "features").strip() == "1"
        keys = [dnskeys(s) for s in servers]
        assert len(keys[0]) == 1 and keys[0] == keys[1], keys
        ds = [ds_lines(s) for s in servers]
        assert len(ds[0]) == 1 and ds[0] == ds[1], ds
        assert "PRIVATE" not in cli(a, "dnssec", "keys")

        # A record set at A is served, signed, by B.
        acct = a.register()
        owner = f"_validation-persist.{acct['subdomain']}.{DOMAIN}"
        status, body = persist(a, acct, issuer="ca.test", accounturi=ACCT_URI)
        assert status == 200, body
        first = body["txt"]
        harness.wait_until(lambda: b.txt_values(owner) == [first], 1.0, what="A's persist record served by B")
        signed = b.dig(owner, "TXT", "+dnssec", "+norec").stdout
        assert "RRSIG" in signed and first in signed, signed

        # Replaced through B, seen by A; removed through B, gone at A.
        status, body = persist(b, acct, issuer="ca.test", accounturi=ACCT_URI, policy="wildcard")
        assert status == 200, body
        assert body["txt"] != first
        harness.wait_until(lambda: a.txt_values(owner) == [body["txt"]], 1.0, what="B's replacement at A")
        status, _ = persist(b, acct, "DELETE", issuer="ca.test", accounturi=ACCT_URI)
        assert status == 200
        harness.wait_until(lambda: a.txt_values(owner) == [], 1.0, what="B's removal at A")

        # Set again at A, the account deleted at B: gone at both.
        assert persist(a, acct, issuer="ca.test", accounturi=ACCT_URI)[0] == 200
        harness.wait_until(lambda: b.txt_values(owner) == [first], 1.0, what="the record again at B")
        status, _, _ = b.request("DELETE", "/account", None, headers(acct))
        assert status in (200, 204), status
        for srv in servers:
            harness.wait_until(lambda: srv.txt_values(owner) == [], 1.0, what="records gone with the account")
        assert pg.psql("SELECT count(*) FROM persist_values", "features").strip() == "0"

        # A roll from the CLI reaches both on SIGHUP: the same two DNSKEYs.
        cli(a, "dnssec", "roll")
        assert pg.psql("SELECT count(*) FROM dnssec_keys", "features").strip() == "2"
        for srv in servers:
            os.kill(srv.process.pid, signal.SIGHUP)
        for srv in servers:
            harness.wait_until(lambda: len(dnskeys(srv)) == 2, 10.0, what="both keys published after SIGHUP")
        assert dnskeys(a) == dnskeys(b)
    finally:
        for s in servers:
            s.close()


def main():
    postgres.run_cases([test_two_instances_share_the_dnssec_key_and_the_persist_records],
                       "acmednsd-pgf-")


if __name__ == "__main__":
    main()
