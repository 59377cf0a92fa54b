"""The embedded ACME client with several acme-dnsd instances on one PostgreSQL database.

A private cluster, Pebble, and three instances started together on one empty database,
each with `[api] tls = "acme"` and one [[certificate]] (with a deploy_command), each
with its own state_dir, API certificate folder and certificate files. Pebble validates
through the first instance's DNS only: values presented by the others reach it through
the database. Checked: each certificate was ordered once across the instances (their
logs, and Pebble's), one ACME account (one row, one URL in every log), every instance's
HTTPS API presents the same certificate, every instance has the same [[certificate]]
files and ran its deploy_command once; `cert list` on PostgreSQL; a `cert renew` by
the CLI of one instance reaches every instance's TLS within the poll interval (15 s)
plus margin; a lease held by a dead holder blocks the CLI until it expires; with the
database stopped every instance keeps serving its copy and nothing is ordered.
"""
import hashlib
import os
import re
import socket
import ssl
import subprocess
import time

import harness
import peers
import postgres

ZONE = "auth.example.test"
WWW = f"www.{ZONE}"
INSTANCES = 3
PICKUP_BOUND = 40.0  # kSharedPollInterval (15 s) + an order's worth of margin


def served_der(port, root):
    """The API's certificate (DER) over TLS, verified against Pebble's root for ZONE."""
    context = ssl.create_default_context(cafile=root)
    with socket.create_connection(("127.0.0.1", port), timeout=3.0) as raw:
        with context.wrap_socket(raw, server_hostname=ZONE) as tls:
            return tls.getpeercert(binary_form=True)


def try_served(port, root):
    try:
        return served_der(port, root)
    except (OSError, ssl.SSLError):
        return None


def fingerprint(der):
    return hashlib.sha256(der).hexdigest()[:16] if der else None


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


class Instance:
    def __init__(self, root, i, url, acme_keys):
        self.dir = os.path.join(root, f"i{i}")
        os.makedirs(self.dir)
        self.api_dir = os.path.join(self.dir, "api-certs")
        self.www_cert = os.path.join(self.dir, "www", "fullchain.pem")
        self.www_key = os.path.join(self.dir, "www", "privkey.pem")
        self.deployed = os.path.join(self.dir, "deployed.log")
        certificate = (
            "[[certificate]]\n"
            'name = "www"\n'
            f'domains = ["{WWW}"]\n'
            f'cert_path = "{self.www_cert}"\n'
            f'key_path = "{self.www_key}"\n'
            f"deploy_command = 'echo \"$ACMEDNSD_CERT_NAME\" >> {self.deployed}'\n")
        self.server = harness.Server(
            workdir=self.dir, domain=ZONE, start=False, extra_toml=certificate,
            sections={"general": {"threads": 1},
                      "database": {"engine": "postgres", "connection": url},
                      "api": {"tls": "acme", "acme_cache_dir": self.api_dir},
                      "acme": dict(acme_keys, state_dir=os.path.join(self.dir, "acme-state"))})
        self.process = None

    @property
    def api_cert(self):
        return os.path.join(self.api_dir, ZONE, "fullchain.pem")

    def start(self):
        self.process = harness.Process([harness.BIN, "-c", self.server.config_path],
                                       os.path.join(self.dir, "server.log"))

    def wait_dns(self):
        def up():
            if not self.process.alive():
                raise AssertionError("acme-dnsd exited:\n" + self.process.output()[-5000:])
            return "status: NOERROR" in self.server.dig(ZONE, "SOA").stdout
        harness.wait_until(up, 20, what="DNS up before any certificate")

    def log(self):
        return self.process.output() if self.process else ""

    def cli(self, *args, timeout=180):
        return subprocess.run([harness.BIN, "-c", self.server.config_path, *args],
                              capture_output=True, text=True, timeout=timeout)

    def stop(self):
        if self.process is not None:
            self.process.stop()


def orders(logs, name):
    return sum(1 for log in logs for line in log.splitlines()
               if "requesting a certificate" in line and f"certificate={name} " in line + " ")


def pebble_count(pebble, what):
    """Pebble's own count ("There are now N orders in the db" / "N accounts in memory")."""
    found = re.findall(rf"There are now (\d+) {what}", pebble.output())
    return int(found[-1]) if found else 0


def wait_all_serving(instances, root, old, bound):
    """Seconds until each instance's API serves a certificate other than `old`, polled
    together so each figure is that instance's own pick-up time."""
    start = time.monotonic()
    waits = [None] * len(instances)
    while None in waits:
        for i, inst in enumerate(instances):
            if waits[i] is None and try_served(inst.server.api_port, root) not in (None, old):
                waits[i] = time.monotonic() - start
        assert time.monotonic() - start < bound, f"instances not serving the new certificate: {waits}"
        time.sleep(0.1)
    return waits


def account_urls(logs):
    return {m.group(1) for log in logs for m in re.finditer(r"using ACME account .*account=(\S+)", log)}


def test_instances_share_one_account_and_order_each_certificate_once(pg, tmp):
    url = pg.create_database("acme")
    instances, pebble = [], None
    try:
        pebble_dir = os.path.join(tmp, "pebble")
        acme_keys = {"agree_terms": True, "email": "ops@example.test", "check_cnames": False}
        for i in range(INSTANCES):
            instances.append(Instance(tmp, i, url, acme_keys))
        # Pebble asks the first instance only: the others' values reach it via the database.
        pebble = peers.Pebble(pebble_dir, dns_server=f"127.0.0.1:{instances[0].server.dns_port}")
        for inst in instances:
            inst.server.config["acme"].update(directory=pebble.directory_url, ca_bundle=pebble.tls_ca_bundle)
            inst.server.write_config()
        root = pebble.write_root(os.path.join(tmp, "pebble-root.pem"))

        started = time.monotonic()
        for inst in instances:  # together: they race for the same leases
            inst.start()
        for inst in instances:
            inst.wait_dns()

        # Every instance gets both certificates; the first file appears where it was ordered.
        first_file = None
        while True:
            have = [read(inst.api_cert) is not None and read(inst.www_cert) is not None for inst in instances]
            if first_file is None and any(read(inst.api_cert) for inst in instances):
                first_file = time.monotonic()
            if all(have):
                break
            for inst in instances:
                assert inst.process.alive(), inst.log()[-5000:]
            assert time.monotonic() - started < 120, ("not every instance has its certificates", have,
                                                      [inst.log()[-3000:] for inst in instances])
            time.sleep(0.2)

        # Every HTTPS API presents the same certificate, valid under Pebble's root.
        def one_certificate():
            ders = [try_served(inst.server.api_port, root) for inst in instances]
            return ders[0] is not None and all(d == ders[0] for d in ders)
        harness.wait_until(one_certificate, PICKUP_BOUND, interval=0.2, what="one API certificate on every instance")
        all_serving = time.monotonic()
        print(f"first API certificate file after {first_file - started:.1f} s; all {INSTANCES} instances "
              f"serve it over TLS {all_serving - first_file:.1f} s later", flush=True)
        ders = [served_der(inst.server.api_port, root) for inst in instances]
        assert len({fingerprint(d) for d in ders}) == 1, [fingerprint(d) for d in ders]
        assert len({read(inst.api_cert) for inst in instances}) == 1
        assert len({read(inst.www_cert) for inst in instances}) == 1
        assert len({read(inst.www_key) for inst in instances}) == 1
        stored = pg.psql("SELECT fullchain FROM acme_certificates WHERE name = 'www'", "acme")
        assert stored.strip() == read(instances[0].www_cert).strip()
        for inst in instances:
            harness.wait_until(lambda: read(inst.deployed) is not None, 10, what="deploy_command on every instance")
            assert read(inst.deployed) == "www\n", (inst.dir, read(inst.deployed))

        # Ordered once each, across the instances, on one account.
        logs = [inst.log() for inst in instances]
        assert orders(logs, "api") == 1, [l[-3000:] for l in logs]
        assert orders(logs, "www") == 1, [l[-3000:] for l in logs]
        assert pebble_count(pebble, "orders") == 2, pebble.output()[-3000:]
        assert pebble_count(pebble, "accounts") == 1, pebble.output()[-3000:]
        assert pg.psql("SELECT count(*) FROM acme_accounts", "acme").strip() == "1"
        account = pg.psql("SELECT url FROM acme_accounts", "acme").strip()
        assert account.startswith("https://"), account
        assert account_urls(logs) == {account}, account_urls(logs)
        assert pg.psql("SELECT count(*) FROM acme_leases", "acme").strip() == "0"
        for inst in instances:  # nothing of the ACME state in the instance's own files
            assert not os.path.exists(os.path.join(inst.dir, "acme-state", "accounts")), inst.dir

        # `cert list` on PostgreSQL: the stored certificates, from any instance's config.
        listing = instances[2].cli("cert", "list")
        assert listing.returncode == 0, (listing.stdout, listing.stderr)
        assert listing.stdout.count("expires: 20") == 2, listing.stdout

        # A renewal by one instance's CLI reaches every instance's TLS.
        before = ders[0]
        renewed_at = time.monotonic()
        r = instances[1].cli("cert", "renew", "api")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert ": issued " in r.stdout, r.stdout
        cli_done = time.monotonic()
        waits = wait_all_serving(instances, root, before, PICKUP_BOUND)
        print(f"cert renew took {cli_done - renewed_at:.1f} s; the instances serve the new certificate "
              f"{', '.join(f'{w:.1f}' for w in waits)} s after it returned", flush=True)
        assert pebble_count(pebble, "orders") == 3
        ders = [served_der(inst.server.api_port, root) for inst in instances]
        assert len({fingerprint(d) for d in ders}) == 1 and ders[0] != before
        logs = [inst.log() for inst in instances]
        assert orders(logs, "api") == 1, "an instance ordered the renewed certificate again"
        assert pg.psql("SELECT count(*) FROM acme_accounts", "acme").strip() == "1"

        # A lease whose holder died: the CLI neither orders nor waits; once expired, it orders.
        pg.psql("INSERT INTO acme_leases VALUES ('www', 'dead-host:1:00', "
                "(extract(epoch from now()) * 1000)::bigint + 600000)", "acme")
        r = instances[0].cli("cert", "renew", "www")
        assert r.returncode == 1 and "dead-host:1:00" in r.stderr, (r.stdout, r.stderr)
        listing = instances[1].cli("cert", "list")
        assert "holds the lease: dead-host:1:00 until 20" in listing.stdout, listing.stdout
        assert "requesting a certificate" not in r.stdout
        pg.psql("UPDATE acme_leases SET expires_ms = 0 WHERE name = 'www'", "acme")
        old_www = read(instances[0].www_cert)
        r = instances[0].cli("cert", "renew", "www")
        assert r.returncode == 0 and ": issued " in r.stdout, (r.stdout, r.stderr)
        for inst in instances:
            harness.wait_until(lambda: read(inst.www_cert) not in (None, old_www), PICKUP_BOUND,
                               what=f"the renewed www certificate at {inst.dir}")
            harness.wait_until(lambda: read(inst.deployed) == "www\nwww\n", 10,
                               what=f"the second deploy_command at {inst.dir}")
        assert pebble_count(pebble, "orders") == 4
        assert pebble_count(pebble, "accounts") == 1
        assert pg.psql("SELECT count(*) FROM acme_leases", "acme").strip() == "0"

        # The database away for more than one poll: every instance keeps serving its copy
        # over TLS, nobody orders; back, the instances use it again.
        serving = fingerprint(served_der(instances[0].server.api_port, root))
        pg.stop()
        try:
            harness.wait_until(lambda: all("cannot read the shared certificate" in inst.log() for inst in instances),
                               PICKUP_BOUND, interval=0.5, what="every instance noticing the outage")
            for inst in instances:
                assert inst.process.alive(), inst.log()[-3000:]
                assert fingerprint(served_der(inst.server.api_port, root)) == serving
        finally:
            pg.start()
        assert pebble_count(pebble, "orders") == 4
        r = instances[2].cli("cert", "list")
        assert r.returncode == 0 and r.stdout.count("expires: 20") == 2, (r.stdout, r.stderr)
        assert orders([inst.log() for inst in instances], "api") == 1
        for inst in instances:  # a clean stop: no sanitizer report, no error at exit
            code = inst.process.stop()
            assert code == 0 and "Sanitizer" not in inst.log(), (code, inst.log()[-4000:])
    except BaseException:
        for inst in instances:
            if inst.process is not None:
                print(f"---- {inst.dir} log ----\n{inst.log()[-6000:]}")
        if pebble is not None and pebble.alive():
            print("---- pebble log ----\n" + pebble.output()[-4000:])
        raise
    finally:
        for inst in instances:
            inst.stop()
        if pebble is not None:
            pebble.stop()


def main():
    postgres.run_cases([test_instances_share_one_account_and_order_each_certificate_once], "acmednsd-pgacme-")


if __name__ == "__main__":
    main()
