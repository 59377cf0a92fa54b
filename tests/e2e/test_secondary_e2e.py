"""End to end through a secondary (issue 13): Pebble validates through unbound, whose
only path to auth.example.test is an NSD secondary fed by acme-dnsd (hidden primary)
with NOTIFY + IXFR and TSIG; the primary is not reachable by the resolver. certbot
(with contrib/certbot/acme-dns-auth.py) and lego (httpreq) obtain certificates,
including ten names on one credential.
"""
import concurrent.futures
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "transfer"))
import harness  # noqa: E402
import e2e_common as E  # noqa: E402
import test_certbot as C  # noqa: E402
import test_lego as L  # noqa: E402
import transfer_lib as tl  # noqa: E402


def main():
    secret = tl.new_secret()
    topo = None
    ok = False
    holder = tempfile.mkdtemp(prefix="acmednsd-e2e-secondary-")
    try:
        secondary = tl.NsdSecondary(os.path.join(holder, "nsd-secondary"), 0, secret)
        sections = tl.primary_sections([secondary.port])
        topo = E.Topology(server_sections=sections, extra_toml=tl.tsig_toml(secret), secondary=secondary)
        C.TOPO = topo
        # certbot asks the CA to validate as soon as the hook returns; the hook waits
        # until the secondary (the resolver's only path) serves the value.
        C.HOOK_ENV = {"ACMEDNS_PROPAGATION_SERVERS": f"{secondary.address}:{secondary.port}"}
        lego_cases = [L.Case(topo, "default", "one_name", ["one-lego.example.test"]),
                      L.Case(topo, "default", "ten_names_one_credential",
                             [f"n{i}.ten-lego.example.test" for i in range(10)])]
        L.publish(topo, lego_cases)

        def test_resolver_reaches_only_the_secondary():
            acct = topo.server.register()
            assert topo.server.update(acct, harness.txt_value(7))[0] == 200
            harness.wait_until(lambda: topo.unbound.txt_values(acct["fulldomain"]) == [harness.txt_value(7)], 10,
                               what="the value through unbound")
            # unbound's only stub for the zone is the secondary (not the primary's port).
            with open(topo.unbound.config_path) as f:
                conf = f.read()
            assert f"@{topo.server.dns_port}" not in conf and f"@{topo.secondary.port}" in conf, conf

        def test_hook_returns_once_the_secondary_serves_the_value():
            storage = os.path.join(topo.dir, "acmedns-hook-wait.json")
            for i in range(5):
                value = harness.txt_value(100 + i)
                r = E.run([sys.executable, E.HOOK], timeout=150, env=C.hook_env(
                    storage, CERTBOT_DOMAIN="hook-wait.example.test", CERTBOT_VALIDATION=value))
                assert r.returncode == 0, (r.stdout, r.stderr)
                fulldomain = C.load(storage)["hook-wait.example.test"]["fulldomain"]
                # Asked once, at once: the hook returned only after the secondary had it.
                assert value in topo.secondary.txt_values(fulldomain), i

        def test_hook_fails_when_a_server_never_serves_the_value():
            storage = os.path.join(topo.dir, "acmedns-hook-never.json")
            silent = harness.free_port("127.0.0.1")  # nothing listens there
            r = E.run([sys.executable, E.HOOK], timeout=60, env=C.hook_env(
                storage, CERTBOT_DOMAIN="hook-never.example.test", CERTBOT_VALIDATION=harness.txt_value(9),
                ACMEDNS_PROPAGATION_SERVERS=f"127.0.0.1:{silent}", ACMEDNS_PROPAGATION_TIMEOUT="1"))
            assert r.returncode == 1, (r.stdout, r.stderr)
            assert f"127.0.0.1:{silent} does not serve the new TXT value" in r.stderr, r.stderr

        def test_certbot_one_name():
            C.obtain("secondary-one", ["one-certbot.example.test"], shared=False)

        def test_certbot_ten_names_one_credential():
            C.obtain("secondary-ten", [f"n{i}.ten-certbot.example.test" for i in range(10)], shared=True)

        with concurrent.futures.ThreadPoolExecutor(max_workers=len(lego_cases)) as pool:
            for c in lego_cases:
                c.start(pool)
            try:
                harness.run_main([test_resolver_reaches_only_the_secondary,
                                  test_hook_returns_once_the_secondary_serves_the_value,
                                  test_hook_fails_when_a_server_never_serves_the_value, test_certbot_one_name,
                                  test_certbot_ten_names_one_credential] + [c.test() for c in lego_cases])
            except SystemExit as e:
                ok = e.code == 0
                raise
    finally:
        if topo is not None:
            topo.close(failed=not ok)
        shutil.rmtree(holder, ignore_errors=True)


if __name__ == "__main__":
    main()
