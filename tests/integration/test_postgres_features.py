"""dns-persist-01 records and DNSSEC keys with two acme-dnsd instances on one PostgreSQL.

Both instances start together with [dnssec] enabled on an empty database: they create
one key between them and serve the same DNSKEY; `dnssec ds` (the CLI on engine =
postgres) prints the same DS from either config. A /persist record set at A is served
by B's DNS (the change log carries it), replaced and removed through B is seen by A, and
goes with its account. A `dnssec roll` from the CLI reaches both instances on SIGHUP.

IXFR: writes taken by either instance are one chain of diffs in both instances'
journals, so a secondary of A gets an incremental transfer of B's changes too (not the
whole zone each time the other instance wrote).
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


def soa_serial(srv):
    return int(srv.dig(DOMAIN, "SOA", "+short", "+norec").stdout.split()[2])


def ixfr_records(srv, serial):
    """(type, rdata) of every record of an IXFR from `serial`, in order (dig over TCP)."""
    out = srv.dig(DOMAIN, f"IXFR={serial}", "+nocmd", "+nostats", "+noall", "+answer").stdout
    records = []
    for line in out.splitlines():
        fields = line.split(None, 4)
        if len(fields) == 5 and fields[2] == "IN":
            records.append((fields[3], fields[4]))
    return records


def test_ixfr_from_either_instance_carries_both_instances_changes(pg, tmp):
    url = pg.create_database("journal")
    servers = []
    for i in range(2):
        d = os.path.join(tmp, f"i{i}")
        os.makedirs(d)
        servers.append(harness.Server(workdir=d, sections={
            "general": {"threads": 1},
            "transfer": {"allow": ["127.0.0.0/8"], "ixfr_journal": 1000},
            "database": {"engine": "postgres", "connection": url}}))
    a, b = servers
    try:
        acct = a.register()
        harness.wait_until(lambda: soa_serial(a) == soa_serial(b), 2.0, what="one serial at both")
        start = soa_serial(a)
        name = f"{acct['subdomain']}.{DOMAIN}"
        values = []
        for i, srv in enumerate((b, a, b, a)):  # alternate: each write breaks the other's chain today
            values.append(f"ixfr-chain-value-{i:02d}".ljust(43, "x"))
            status, _, body = srv.update(acct, values[-1])
            assert status == 200, body
            for other in servers:
                harness.wait_until(lambda: values[-1] in other.txt_values(name), 1.0,
                                   what=f"value {i} at both instances")
        harness.wait_until(lambda: soa_serial(a) == soa_serial(b), 2.0, what="one serial at both")
        end = soa_serial(a)
        for srv in servers:
            recs = ixfr_records(srv, start)
            soas = [r for r in recs if r[0] == "SOA"]
            added = [r[1].strip('"') for r in recs if r[0] == "TXT"]
            # Incremental form: the new SOA, then per diff (old SOA, removed, new SOA,
            # added), then the new SOA again; the whole zone would have two SOAs only.
            assert len(soas) >= 2 + 2 * len(values), (srv.dns_port, recs)
            assert soas[0][1].split()[2] == str(end) and soas[1][1].split()[2] == str(start), soas[:2]
            assert sorted(added) == sorted(values), (added, values)
    finally:
        for s in servers:
            s.close()


def main():
    postgres.run_cases([test_two_instances_share_the_dnssec_key_and_the_persist_records,
                        test_ixfr_from_either_instance_carries_both_instances_changes],
                       "acmednsd-pgf-")


if __name__ == "__main__":
    main()
