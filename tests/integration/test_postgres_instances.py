"""Several acme-dnsd instances on one PostgreSQL database behave as one server.

A private cluster (tests/lib/postgres.py) and three instances on it: an account
registered at one authenticates at the others; a value written through one is answered
by every instance's DNS within 1 s; rotate-key and DELETE are seen by all; the SOA
serial agrees. Then the outage: PostgreSQL stopped under load, DNS keeps answering,
writes fail fast with 503 db_error, /ready is 503; restarted, writes resume and every
instance converges. Then kill -9 rounds: every acknowledged value is served by all.
"""
import http.client
import json
import os
import random
import subprocess
import threading
import time

import harness
import postgres

DOMAIN = "auth.example.test"


def start_instances(url, n, workdir_root):
    servers = []
    try:
        for i in range(n):
            d = os.path.join(workdir_root, f"i{i}")
            os.makedirs(d)
            servers.append(harness.Server(
                workdir=d,
                sections={"general": {"threads": 1, "txt_limit": 1000, "txt_retention": "24h"},
                          "database": {"engine": "postgres", "connection": url}}))
    except BaseException:
        for s in servers:  # the ones already started: stopped by PID, never leaked
            s.close()
        raise
    return servers


def soa_serial(server):
    out = server.dig(DOMAIN, "SOA", "+short").stdout.split()
    return int(out[2]) if len(out) >= 3 else None


def fqdn(account):
    return f"{account['subdomain']}.{DOMAIN}"


def served_within(server, account, expected, timeout=1.0):
    """Seconds until `server` answers exactly `expected` (a set), or None."""
    start = time.monotonic()
    while True:
        if set(server.txt_values(fqdn(account))) == expected:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            return None
        time.sleep(0.005)


def auth_headers(account):
    return {"X-Api-User": account["username"], "X-Api-Key": account["password"]}


def test_instances_behave_as_one(pg, tmp):
    url = pg.create_database("one")
    a, b, c = start_instances(url, 3, tmp)
    try:
        acct = a.register()
        # Registered at A, updated through B, answered by C within 1 s.
        v1 = harness.txt_value(1)
        status, _, data = b.update(acct, v1)
        assert status == 200, (status, data)
        waited = served_within(c, acct, {v1})
        assert waited is not None, f"C does not answer {v1} 1 s after B acknowledged it"
        print(f"visible at C {waited * 1000:.0f} ms after B's 200", flush=True)

        # Three values at once through three instances.
        values = [harness.txt_value(i) for i in (10, 11, 12)]
        results = [None] * 3

        def put(i, srv):
            results[i] = srv.update(acct, values[i])[0]

        threads = [threading.Thread(target=put, args=(i, s)) for i, s in enumerate((a, b, c))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
        assert results == [200, 200, 200], results
        want = {v1, *values}
        for srv in (a, b, c):
            assert served_within(srv, acct, want) is not None, (srv.txt_values(fqdn(acct)), want)
        harness.wait_until(lambda: len({soa_serial(s) for s in (a, b, c)}) == 1, 1.0, what="one SOA serial")
        serial = soa_serial(a)
        assert serial == int(pg.psql("SELECT value FROM meta WHERE key = 'serial'", "one")), serial

        # DELETE /update at C: gone everywhere.
        status, _, _ = c.request("DELETE", "/update", {"subdomain": acct["subdomain"], "txt": v1},
                                 auth_headers(acct))
        assert status == 200, status
        for srv in (a, b, c):
            assert served_within(srv, acct, set(values)) is not None

        # rotate-key at A: the old key fails at B, the new one works at C.
        status, _, data = a.request("POST", "/account/rotate-key", None, auth_headers(acct))
        assert status == 200, (status, data)
        fresh = dict(acct, password=json.loads(data)["password"])
        assert b.update(acct, harness.txt_value(20))[0] == 401
        assert c.update(fresh, harness.txt_value(21))[0] == 200

        # DELETE /account at B: the name is gone from every instance's DNS.
        status, _, _ = b.request("DELETE", "/account", None, auth_headers(fresh))
        assert status in (200, 204), status

        def nxdomain(srv):
            return "NXDOMAIN" in srv.dig(fqdn(acct), "TXT").stdout

        for srv in (a, b, c):
            harness.wait_until(lambda: nxdomain(srv), 1.0, what="NXDOMAIN after DELETE /account")
    finally:
        for s in (a, b, c):
            s.close()


def test_outage_dns_answers_writes_fail_fast_then_converge(pg, tmp):
    url = pg.create_database("outage")
    servers = start_instances(url, 2, tmp)
    a, b = servers
    try:
        acct = a.register()
        v1 = harness.txt_value(1)
        assert a.update(acct, v1)[0] == 200
        assert served_within(b, acct, {v1}) is not None
        pg.stop()
        for srv in servers:
            assert srv.txt_values(fqdn(acct)) == [v1], "DNS must answer from memory during the outage"
            start = time.monotonic()
            status, _, data = srv.update(acct, harness.txt_value(2))
            took = time.monotonic() - start
            assert status == 503 and json.loads(data) == {"error": "db_error"}, (status, data)
            assert took < 2.0, f"/update took {took:.2f}s during the outage"
            start = time.monotonic()
            status, _, data = srv.request("POST", "/register")
            assert status == 503 and json.loads(data) == {"error": "db_error"}, (status, data)
            assert time.monotonic() - start < 2.0
            assert srv.request("GET", "/ready")[0] == 503
            assert srv.request("GET", "/health")[0] == 200
        pg.start()
        # Reconnects (back-off at most 2 s) and resumes; B catches up on A's write.
        harness.wait_until(lambda: a.request("GET", "/ready")[0] == 200, 10, what="/ready after restart")
        v3 = harness.txt_value(3)
        harness.wait_until(lambda: a.update(acct, v3)[0] == 200, 10, what="/update after restart")
        assert served_within(b, acct, {v1, v3}, timeout=5.0) is not None, b.txt_values(fqdn(acct))
        assert b.request("GET", "/ready")[0] == 200
    finally:
        for s in servers:
            s.close()


# One account per writer, three rounds: 3 x 330 values stay under txt_limit (1000), so
# the limit never drops an acknowledged value; and a round is long enough (2,640
# updates) to be running when the instance is killed after 200-1,500 of them.
WRITES_PER_ROUND = 330


def writer_loop(server, account, prefix, acked, stop, lock):
    i = 0
    conn = None
    while not stop.is_set() and i < WRITES_PER_ROUND:
        value = (f"{prefix}x{i:07d}" + "A" * 43)[:43]
        i += 1
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", server.api_port, timeout=5)
            conn.request("POST", "/update", body=json.dumps({"subdomain": account["subdomain"], "txt": value}),
                         headers=auth_headers(account))
            r = conn.getresponse()
            r.read()
        except (OSError, http.client.HTTPException):
            conn = None
            if stop.is_set():
                return
            time.sleep(0.01)
            continue
        if r.status == 200:
            with lock:
                acked.append((account["subdomain"], value))


def test_kill9_rounds_every_acknowledged_value_served_by_all(pg, tmp):
    rng = random.Random(14)
    url = pg.create_database("kill9")
    servers = start_instances(url, 2, tmp)
    a, b = servers
    try:
        accounts = [a.register() for _ in range(8)]
        all_acked = []
        for rnd in range(3):
            acked, lock, stop = [], threading.Lock(), threading.Event()
            threads = [threading.Thread(target=writer_loop,
                                        args=(a, accounts[w], f"r{rnd}w{w}", acked, stop, lock))
                       for w in range(8)]
            for t in threads:
                t.start()
            # Killed after a random number of acknowledgements, not a random time, so the
            # kill lands under load however fast this machine is.
            target = rng.randrange(200, 1500)
            deadline = time.monotonic() + 20.0
            while time.monotonic() < deadline:
                with lock:
                    if len(acked) >= target:
                        break
                time.sleep(0.002)
            a.kill9()
            stop.set()
            for t in threads:
                t.join(timeout=30)
                assert not t.is_alive()
            assert acked, "no update was acknowledged; the load did not run"
            assert len(acked) < 8 * WRITES_PER_ROUND, "the writers had finished: the kill was not under load"
            all_acked.extend(acked)
            print(f"round {rnd}: {len(acked)} acknowledged before SIGKILL", flush=True)
            a.start()
            by_sub = {}
            for sub, value in all_acked:
                by_sub.setdefault(sub, set()).add(value)
            for srv in servers:
                for sub, values in by_sub.items():
                    def complete():
                        return not values - set(srv.txt_values(f"{sub}.{DOMAIN}", "+tcp"))
                    harness.wait_until(complete, 5.0, what=f"every acknowledged value of {sub} served")
        print(f"total acknowledged and verified on both instances: {len(all_acked)}", flush=True)
    finally:
        for s in servers:
            s.close()


def test_bad_database_settings_are_clear_errors(pg, tmp):
    url = pg.create_database("bad")
    cfg_dir = os.path.join(tmp, "bad")
    os.makedirs(cfg_dir)
    srv = harness.Server(workdir=cfg_dir, start=False,
                         sections={"database": {"engine": "postgres",
                                                "connection": "host=127.0.0.1 password=s3cret port"}})
    r = subprocess.run([harness.BIN, "-c", srv.config_path, "--check-config"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0
    assert "[database] connection: is not a PostgreSQL connection string" in r.stderr, r.stderr
    assert "config.toml:" in r.stderr and "s3cret" not in r.stderr, r.stderr
    # A wrong password: the server does not start, says why, never shows the password.
    srv.config["database"]["connection"] = pg.url("bad", password="wrong-pw")
    srv.write_config()
    r = subprocess.run([harness.BIN, "-c", srv.config_path], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "password authentication failed" in out and "wrong-pw" not in out, out
    # A database of another application is refused and left as it was.
    pg.psql("CREATE TABLE orders (id int)", "bad")
    srv.config["database"]["connection"] = url
    srv.write_config()
    r = subprocess.run([harness.BIN, "-c", srv.config_path], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "not an acme-dnsd database" in r.stdout + r.stderr, r.stdout + r.stderr
    assert pg.psql("SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'",
                   "bad").strip() == "orders"


def test_cli_on_postgres(pg, tmp):
    url = pg.create_database("cli")
    d = os.path.join(tmp, "cli")
    os.makedirs(d)
    srv = harness.Server(workdir=d, sections={"database": {"engine": "postgres", "connection": url}})
    try:
        r = subprocess.run([harness.BIN, "-c", srv.config_path, "accounts", "add"], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr
        created = json.loads(r.stdout)
        r = subprocess.run([harness.BIN, "-c", srv.config_path, "accounts", "list"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0 and created["username"] in r.stdout, (r.stdout, r.stderr)
        # The running server follows the CLI's commit through the change log.
        assert srv.update(created, harness.txt_value(5))[0] == 200
        harness.wait_until(lambda: srv.txt_values(fqdn(created)) == [harness.txt_value(5)], 1.0, what="answer")
    finally:
        srv.close()


ACME_DNS_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS acmedns(Name TEXT, Value TEXT);
CREATE TABLE IF NOT EXISTS records(Username TEXT UNIQUE NOT NULL PRIMARY KEY, Password TEXT UNIQUE NOT NULL,
  Subdomain TEXT UNIQUE NOT NULL, AllowFrom TEXT);
CREATE TABLE IF NOT EXISTS txt(rowid SERIAL, Subdomain TEXT NOT NULL, Value TEXT NOT NULL DEFAULT '',
  LastUpdate INT);
INSERT INTO acmedns(Name, Value) VALUES ('db_version', '1');
"""


def test_acme_dns_postgres_database_taken_over(pg, tmp):
    """A database acme-dns 1.x wrote in its PostgreSQL schema: acme-dnsd started on it
    takes it over in place (its schema beside acme-dns's tables, rows imported once),
    old keys work and are upgraded, values and allowfrom kept, acme-dns's rows untouched."""
    from test_cli import bcrypt_hash
    pg.create_database("acmedns")
    keys = ["k" * 40, "K" * 39 + "x"]
    users = ["3c7f1e1a-3a6c-4e43-9a4e-5f5b5c1d0a01", "8d2b0c6e-5b1f-4f0e-8a77-0e6f1a2b3c02"]
    subs = ["1e9d2a3b-7c4d-4e5f-8a9b-0c1d2e3f4a01", "2f0e3b4c-8d5e-4f6a-9b0c-1d2e3f4a5b02"]
    rows = [ACME_DNS_PG_SCHEMA]
    allow = ["[]", '["127.0.0.0/8"]']
    for i in range(2):
        rows.append(f"INSERT INTO records VALUES ('{users[i]}', '{bcrypt_hash(keys[i])}', '{subs[i]}', "
                    f"'{allow[i]}');")
        # acme-dns creates two TXT rows per account, empty until the first update.
        rows.append(f"INSERT INTO txt(Subdomain, Value, LastUpdate) VALUES ('{subs[i]}', "
                    f"'{harness.txt_value(100 + i)}', 1700000000), ('{subs[i]}', '', 0);")
    pg.psql("\n".join(rows), "acmedns")
    url = pg.url("acmedns")
    servers = start_instances(url, 2, tmp)
    try:
        for srv in servers:
            for i in range(2):
                assert srv.txt_values(f"{subs[i]}.{DOMAIN}") == [harness.txt_value(100 + i)]
        assert pg.psql("SELECT count(*) FROM accounts", "acmedns").strip() == "2", "imported twice?"
        assert pg.psql("SELECT allowfrom FROM accounts WHERE username = '%s'" % users[1],
                       "acmedns").strip() == '["127.0.0.0/8"]'
        a, b = servers
        acct = {"username": users[0], "password": keys[0], "subdomain": subs[0]}
        assert a.update(acct, harness.txt_value(7))[0] == 200
        harness.wait_until(lambda: pg.psql("SELECT key_hash FROM accounts WHERE username = '%s'" % users[0],
                                           "acmedns").startswith("s256$"), 5.0, what="bcrypt hash upgraded")
        assert b.update(acct, harness.txt_value(8))[0] == 200
        assert b.update({"username": users[1], "password": keys[0], "subdomain": subs[1]},
                        harness.txt_value(9))[0] == 401
        assert pg.psql("SELECT count(*) FROM records", "acmedns").strip() == "2"
        assert pg.psql("SELECT count(*) FROM txt", "acmedns").strip() == "4"
    finally:
        for s in servers:
            s.close()
    # Through the CLI instead: import-acme-dns postgres://... into an empty acme-dnsd database.
    target = pg.create_database("fresh")
    d = os.path.join(tmp, "cli-import")
    os.makedirs(d)
    srv = harness.Server(workdir=d, start=False, sections={"database": {"engine": "postgres", "connection": target}})
    r = subprocess.run([harness.BIN, "-c", srv.config_path, "import-acme-dns", url], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "imported 2 accounts and 2 TXT values" in r.stdout, (r.stdout, r.stderr)
    assert pg.psql("SELECT count(*) FROM accounts", "fresh").strip() == "2"


def test_tls_to_the_database_verify_full(pg, tmp):
    """sslmode=verify-full with the CA file (acme-dns's URL form): served over TLS; a
    wrong CA and a plain-text connection are refused with libpq's reason."""
    import peers
    ca = peers.make_ca(os.path.join(tmp, "ca"))
    other = peers.make_ca(os.path.join(tmp, "other-ca"), cn="another CA")
    with postgres.Postgres(durable=False, tls=ca) as tls_pg:
        tls_pg.create_database("tls")
        base = tls_pg.url("tls")
        d = os.path.join(tmp, "tls")
        os.makedirs(d)
        srv = harness.Server(workdir=d, start=False, sections={"database": {
            "engine": "postgres", "connection": f"{base}?sslmode=verify-full&sslrootcert={ca.ca_cert}"}})
        try:
            srv.start()
            acct = srv.register()
            assert srv.update(acct, harness.txt_value(1))[0] == 200
            assert srv.txt_values(fqdn(acct)) == [harness.txt_value(1)]
            used = tls_pg.psql("SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) "
                               "WHERE ssl AND application_name = 'acme-dnsd'", "tls").strip()
            assert int(used) >= 2, f"acme-dnsd's connections over TLS: {used}"
        finally:
            srv.close()
        for conn, why in ((f"{base}?sslmode=verify-full&sslrootcert={other.ca_cert}", "certificate verify failed"),
                          (f"{base}?sslmode=disable", "no encryption")):
            srv.config["database"]["connection"] = conn
            srv.write_config()
            r = subprocess.run([harness.BIN, "-c", srv.config_path, "accounts", "list"], capture_output=True,
                               text=True, timeout=30)
            assert r.returncode != 0 and why in r.stderr, (conn, r.stderr)
            assert tls_pg.password not in r.stderr


def main():
    postgres.run_cases([test_instances_behave_as_one, test_outage_dns_answers_writes_fail_fast_then_converge,
                        test_kill9_rounds_every_acknowledged_value_served_by_all,
                        test_bad_database_settings_are_clear_errors, test_cli_on_postgres,
                        test_acme_dns_postgres_database_taken_over, test_tls_to_the_database_verify_full],
                       "acmednsd-pgi-")


if __name__ == "__main__":
    main()
