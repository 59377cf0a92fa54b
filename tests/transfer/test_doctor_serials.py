"""`acme-dnsd doctor` compares the SOA serial of every NS of the zone with this server's
(issue 13): a secondary in sync passes, one that lags (it refuses our NOTIFY and waits
for its SOA refresh) fails with advice.

    doctor --resolver--> unbound --stub example.test--> NSD (parent: NS ns1, ns2 of the zone)
    ns1 = 127.0.0.1:P (acme-dnsd), ns2 = 127.0.0.2:P (NSD secondary of acme-dnsd)
"""
import os
import subprocess
import tempfile

import harness
import peers
import transfer_lib as tl

ZONE = tl.ZONE


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run(notify):
    secret = tl.new_secret()
    with tempfile.TemporaryDirectory(prefix="acmednsd-doctor-xfr-") as d:
        os.makedirs(os.path.join(d, "primary"))
        port = harness.free_port("127.0.0.1")
        nsd = tl.NsdSecondary(os.path.join(d, "secondary"), 0, secret, port=port, address="127.0.0.2",
                              notify=notify)
        sections = tl.primary_sections([])
        sections["transfer"]["notify"] = [f"127.0.0.2:{port}"]
        with harness.Server(sections, workdir=os.path.join(d, "primary"), start=False,
                            extra_toml=tl.tsig_toml(secret)) as primary:
            primary.dns_port = port
            primary.config["general"]["listen"] = [f"127.0.0.1:{port}"]
            primary.config["general"]["records"] = [f"{ZONE}. NS ns1.{ZONE}.", f"{ZONE}. NS ns2.{ZONE}.",
                                                    f"ns1.{ZONE}. A 127.0.0.1", f"ns2.{ZONE}. A 127.0.0.2"]
            primary.write_config()
            primary.start()
            account = primary.register()
            nsd.primary_port = port
            records = ["auth IN NS ns1.auth", "auth IN NS ns2.auth", "ns1.auth IN A 127.0.0.1",
                       "ns2.auth IN A 127.0.0.2", f"_acme-challenge.ok IN CNAME {account['subdomain']}.{ZONE}."]
            with nsd.start(), \
                    peers.Nsd(os.path.join(d, "parent"), {"example.test": peers.zone_text("example.test", records)}) \
                    as parent, \
                    peers.Unbound(os.path.join(d, "unbound"), stubs={"example.test": parent.addr,
                                                                     ZONE: f"127.0.0.1@{port}"}) as unbound:
                harness.wait_until(lambda: nsd.serial() is not None, 10, what="the secondary's first transfer")
                check(primary.update(account, harness.txt_value(1))[0] == 200, "update failed")
                if notify:
                    harness.wait_until(lambda: nsd.txt_values(f"{account['subdomain']}.{ZONE}") ==
                                       [harness.txt_value(1)], 10, what="the secondary to follow")
                r = subprocess.run([harness.BIN, "-c", primary.config_path, "doctor", "--resolver", unbound.hostport,
                                    "--ns-port", str(port), "ok.example.test"],
                                   capture_output=True, text=True, timeout=60)
                print(r.stdout + r.stderr, flush=True)
                return r, primary, nsd


def test_secondary_in_sync_passes():
    r, _, _ = run(notify=True)
    check(r.returncode == 0, "doctor failed with a secondary in sync")
    check(r.stdout.count(", the same as this server") == 2, "both NS must be compared")


def test_lagging_secondary_fails():
    r, _, _ = run(notify=False)
    check(r.returncode == 1, "doctor passed with a lagging secondary")
    check("FAIL  NS ns2.auth.example.test. (127.0.0.2 port" in r.stdout and "serves serial" in r.stdout, r.stdout)
    check("check [transfer] allow, notify and the TSIG key" in r.stdout, r.stdout)


if __name__ == "__main__":
    harness.run_main([test_secondary_in_sync_passes, test_lagging_secondary_fails])
