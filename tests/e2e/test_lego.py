"""lego 4.9.1 `--dns httpreq` against acme-dnsd's /present and /cleanup (default mode and
HTTPREQ_MODE=RAW), validated by Pebble through unbound and an NSD parent zone holding
the _acme-challenge CNAMEs.

Cases per mode: one name; a name and its wildcard; three and then seven names sharing
one credential (all CNAMEs to one subdomain). lego's httpreq provider presents every value
before it asks Pebble to validate, so the values must be served together. After each run
lego's /cleanup calls must have removed every value.
"""
import concurrent.futures
import os

import harness
import e2e_common as E

TOPO = None


def lego_argv(case, names, account, mode):
    d = os.path.join(TOPO.dir, f"lego-{case}")
    env = dict(os.environ,
               LEGO_CA_CERTIFICATES=TOPO.pebble.tls_ca_bundle,
               HTTPREQ_ENDPOINT=TOPO.api_url,
               HTTPREQ_USERNAME=account["username"],
               HTTPREQ_PASSWORD=account["password"],
               HTTPREQ_POLLING_INTERVAL="1", HTTPREQ_PROPAGATION_TIMEOUT="30")
    env.pop("HTTPREQ_MODE", None)
    if mode == "raw":
        env["HTTPREQ_MODE"] = "RAW"
    argv = ["lego", "--accept-tos", "--email", "e2e@example.test",
            "--server", TOPO.pebble.directory_url, "--path", d,
            "--dns", "httpreq", "--dns.resolvers", TOPO.unbound.hostport, "--dns.disable-cp"]
    for n in names:
        argv += ["-d", n]
    argv.append("run")
    base = names[0].replace("*", "_")
    files = (os.path.join(d, "certificates", f"{base}.crt"),
             os.path.join(d, "certificates", f"{base}.issuer.crt"))
    return argv, env, files


class Case:
    """One lego run: its account and CNAMEs are set up first (one NSD restart for all
    cases), then every case's lego runs at the same time; lego waits about 5 s between
    authorization polls, so running the cases one after another would take minutes."""

    def __init__(self, mode, label, names):
        self.mode, self.label, self.names = mode, label, names
        self.account = TOPO.server.register()
        self.cnames = {f"_acme-challenge.{n[2:] if n.startswith('*.') else n}":
                       self.account["fulldomain"] for n in names}
        self.future = None

    def start(self, pool):
        argv, env, self.files = lego_argv(f"{self.mode}-{self.label}", self.names,
                                          self.account, self.mode)
        self.future = pool.submit(E.run, argv, env=env, cwd=TOPO.dir)

    def check(self):
        r = self.future.result()
        if r.returncode != 0:
            raise AssertionError(f"lego failed ({r.returncode}):\n{r.stdout}\n{r.stderr[-8000:]}")
        E.check_certificate(TOPO, *self.files, self.names)
        # lego called /cleanup for every value it presented.
        left = TOPO.server.txt_values(self.account["fulldomain"])
        assert left == [], left

    def test(self):
        def fn():
            self.check()
        fn.__name__ = f"test_{self.mode}_{self.label}"
        return fn


def make_cases():
    out = []
    for mode in ("default", "raw"):
        out += [
            Case(mode, "one_name", [f"one-{mode}.example.test"]),
            Case(mode, "name_and_wildcard", [f"wild-{mode}.example.test", f"*.wild-{mode}.example.test"]),
            Case(mode, "three_names_one_credential", [f"n{i}.three-{mode}.example.test" for i in range(3)]),
            Case(mode, "seven_names_one_credential", [f"n{i}.seven-{mode}.example.test" for i in range(7)]),
        ]
    return out


def main():
    global TOPO
    TOPO = E.Topology()
    ok = False
    try:
        cases = make_cases()
        cnames = {}
        for c in cases:
            cnames.update(c.cnames)
        TOPO.set_cnames(cnames)
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(cases)) as pool:
            for c in cases:
                c.start(pool)
            try:
                harness.run_main([c.test() for c in cases])
            except SystemExit as e:
                ok = e.code == 0
                raise
    finally:
        TOPO.close(failed=not ok)


if __name__ == "__main__":
    main()
