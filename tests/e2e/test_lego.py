"""lego 4.9.1 `--dns httpreq` against acme-dnsd's /present and /cleanup (default mode and
HTTPREQ_MODE=RAW), validated by Pebble through unbound and an NSD parent zone holding
the _acme-challenge CNAMEs.

Cases per mode: one name; a name and its wildcard; three and then ten names sharing
one credential (all CNAMEs to one subdomain). lego's httpreq provider presents every value
before it asks Pebble to validate, so the values must be served together. After each run
lego's /cleanup calls must have removed every value.

Control: the same three-name case against acme-dnsd configured like acme-dns (txt_limit =
2, only the two newest values served) must fail validation, so these cases do detect the
"only two values" problem.
"""
import concurrent.futures
import os

import harness
import e2e_common as E

def lego_argv(topo, case, names, account, mode):
    d = os.path.join(topo.dir, f"lego-{case}")
    env = dict(os.environ,
               LEGO_CA_CERTIFICATES=topo.pebble.tls_ca_bundle,
               HTTPREQ_ENDPOINT=topo.api_url,
               HTTPREQ_USERNAME=account["username"],
               HTTPREQ_PASSWORD=account["password"],
               HTTPREQ_POLLING_INTERVAL="1", HTTPREQ_PROPAGATION_TIMEOUT="30")
    env.pop("HTTPREQ_MODE", None)
    if mode == "raw":
        env["HTTPREQ_MODE"] = "RAW"
    argv = ["lego", "--accept-tos", "--email", "e2e@example.test",
            "--server", topo.pebble.directory_url, "--path", d,
            "--dns", "httpreq", "--dns.resolvers", topo.unbound.hostport, "--dns.disable-cp"]
    for n in names:
        argv += ["-d", n]
    argv.append("run")
    base = names[0].replace("*", "_")
    files = (os.path.join(d, "certificates", f"{base}.crt"),
             os.path.join(d, "certificates", f"{base}.issuer.crt"))
    return argv, env, files


class Case:
    """One lego run: its account and CNAMEs are set up first (one NSD reload for all
    cases), then every case's lego runs at the same time; lego waits about 5 s between
    authorization polls, so running the cases one after another would take minutes."""

    def __init__(self, topo, mode, label, names, expect_success=True):
        self.topo, self.mode, self.label, self.names = topo, mode, label, names
        self.expect_success = expect_success
        self.account = topo.server.register()
        self.cnames = {f"_acme-challenge.{n[2:] if n.startswith('*.') else n}":
                       self.account["fulldomain"] for n in names}
        self.future = None

    def start(self, pool):
        argv, env, self.files = lego_argv(self.topo, f"{self.mode}-{self.label}", self.names,
                                          self.account, self.mode)
        self.future = pool.submit(E.run, argv, env=env, cwd=self.topo.dir)

    def check(self):
        r = self.future.result()
        if not self.expect_success:
            assert r.returncode != 0, "lego succeeded although only two values are served"
            assert "Correct value not found for DNS challenge" in r.stderr, r.stderr[-4000:]
            return
        if r.returncode != 0:
            raise AssertionError(f"lego failed ({r.returncode}):\n{r.stdout}\n{r.stderr[-8000:]}")
        E.check_certificate(self.topo, *self.files, self.names)
        # lego called /cleanup for every value it presented.
        left = self.topo.server.txt_values(self.account["fulldomain"])
        assert left == [], left

    def test(self):
        def fn():
            self.check()
        fn.__name__ = f"test_{self.mode}_{self.label}"
        return fn


def make_cases(topo):
    out = []
    for mode in ("default", "raw"):
        out += [
            Case(topo, mode, "one_name", [f"one-{mode}.example.test"]),
            Case(topo, mode, "name_and_wildcard",
                 [f"wild-{mode}.example.test", f"*.wild-{mode}.example.test"]),
            Case(topo, mode, "three_names_one_credential",
                 [f"n{i}.three-{mode}.example.test" for i in range(3)]),
            Case(topo, mode, "ten_names_one_credential",
                 [f"n{i}.ten-{mode}.example.test" for i in range(10)]),
        ]
    return out


def publish(topo, cases):
    cnames = {}
    for c in cases:
        cnames.update(c.cnames)
    topo.set_cnames(cnames)


def main():
    topos = []
    ok = False
    try:
        topos.append(E.Topology())
        # acme-dns behaviour: only the two newest values of an account are served.
        topos.append(E.Topology(server_sections={"general": {"txt_limit": 2}}))
        cases = make_cases(topos[0])
        control = [Case(topos[1], "control", "acme_dns_two_values_fail_three_names",
                        [f"n{i}.control.example.test" for i in range(3)], expect_success=False)]
        publish(topos[0], cases)
        publish(topos[1], control)
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(cases) + 1) as pool:
            for c in cases + control:
                c.start(pool)
            try:
                harness.run_main([c.test() for c in cases + control])
            except SystemExit as e:
                ok = e.code == 0
                raise
    finally:
        for t in topos:
            t.close(failed=not ok)


if __name__ == "__main__":
    main()
