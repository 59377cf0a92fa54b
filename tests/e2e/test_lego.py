"""lego 4.9.1 `--dns httpreq` against acme-dnsd's /present and /cleanup (default mode and
HTTPREQ_MODE=RAW), validated by Pebble through unbound and an NSD parent zone holding
the _acme-challenge CNAMEs.

Cases per mode: one name; a name and its wildcard; three and then ten names sharing one
credential (all CNAMEs to one subdomain). lego's httpreq provider presents every value
before it asks Pebble to validate, so the values must be served together. After each run
lego's /cleanup calls must have removed every value.
"""
import os

import harness
import e2e_common as E

TOPO = None


def lego(case, names, account, mode):
    d = os.path.join(TOPO.dir, f"lego-{case}")
    env = dict(os.environ,
               LEGO_CA_CERTIFICATES=TOPO.pebble.tls_ca_bundle,
               HTTPREQ_ENDPOINT=TOPO.api_url,
               HTTPREQ_USERNAME=account["username"],
               HTTPREQ_PASSWORD=account["password"])
    env.pop("HTTPREQ_MODE", None)
    if mode == "raw":
        env["HTTPREQ_MODE"] = "RAW"
    argv = ["lego", "--accept-tos", "--email", "e2e@example.test",
            "--server", TOPO.pebble.directory_url, "--path", d,
            "--dns", "httpreq", "--dns.resolvers", TOPO.unbound.hostport, "--dns.disable-cp"]
    for n in names:
        argv += ["-d", n]
    argv.append("run")
    r = E.run(argv, env=env, cwd=TOPO.dir)
    if r.returncode != 0:
        raise AssertionError(f"lego failed ({r.returncode}):\n{r.stdout}\n{r.stderr[-8000:]}")
    base = names[0].replace("*", "_")
    return (os.path.join(d, "certificates", f"{base}.crt"),
            os.path.join(d, "certificates", f"{base}.issuer.crt"))


def obtain(case, names, mode):
    account = TOPO.server.register()
    bases = {n[2:] if n.startswith("*.") else n for n in names}
    TOPO.set_cnames({f"_acme-challenge.{b}": account["fulldomain"] for b in bases})
    cert, issuer = lego(f"{mode}-{case}", names, account, mode)
    E.check_certificate(TOPO, cert, issuer, names)
    # lego called /cleanup for every value it presented.
    left = TOPO.server.txt_values(account["fulldomain"])
    assert left == [], left


def cases(mode):
    def one():
        obtain("one", [f"one-{mode}.example.test"], mode)

    def wildcard():
        obtain("wild", [f"wild-{mode}.example.test", f"*.wild-{mode}.example.test"], mode)

    def three():
        obtain("three", [f"n{i}.three-{mode}.example.test" for i in range(3)], mode)

    def ten():
        obtain("ten", [f"n{i}.ten-{mode}.example.test" for i in range(10)], mode)

    out = []
    for fn, label in ((one, "one_name"), (wildcard, "name_and_wildcard"),
                      (three, "three_names_one_credential"), (ten, "ten_names_one_credential")):
        fn.__name__ = f"test_{mode}_{label}"
        out.append(fn)
    return out


def main():
    global TOPO
    TOPO = E.Topology()
    ok = False
    try:
        try:
            harness.run_main(cases("default") + cases("raw"))
        except SystemExit as e:
            ok = e.code == 0
            raise
    finally:
        TOPO.close(failed=not ok)


if __name__ == "__main__":
    main()
