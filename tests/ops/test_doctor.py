"""`acme-dnsd doctor` against a real topology, the one a CA sees:

    doctor --resolver--> unbound --stub example.test--> NSD (parent zone: delegation of
                                                         auth.example.test, CNAMEs, CAA)
                                 --stub auth.example.test--> acme-dnsd
    doctor --ns-port--> the zone's NS address (127.0.0.1) on acme-dnsd's port

One parent zone holds every case: a correct CNAME, a missing one, one outside our zone,
one to a subdomain no account has, and a name whose CAA allows only another CA. Each
case asserts the exit status and the exact advice printed.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
import peers  # noqa: E402

PARENT = "example.test"
ZONE = "auth.example.test"


class Topology:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="acmednsd-doctor-")
        self.server = self.nsd = self.unbound = None
        try:
            os.makedirs(os.path.join(self.dir, "acme-dnsd"))
            self.server = harness.Server(workdir=os.path.join(self.dir, "acme-dnsd"), domain=ZONE)
            self.account = self.server.register()
            self.sub = self.account["subdomain"]
            self.stranger = str(uuid.uuid4())  # a subdomain no account has
            records = [
                "auth IN NS ns1.auth",
                "ns1.auth IN A 127.0.0.1",
                f"_acme-challenge.ok IN CNAME {self.sub}.{ZONE}.",
                "_acme-challenge.wrong IN CNAME challenges.elsewhere.example.",
                f"_acme-challenge.unknown IN CNAME {self.stranger}.{ZONE}.",
                f"_acme-challenge.caa IN CNAME {self.sub}.{ZONE}.",
                'caa IN CAA 0 issue "ca.example.net"',
                "caa IN A 127.0.0.1",
                "ok IN A 127.0.0.1",
            ]
            self.nsd = peers.Nsd(os.path.join(self.dir, "nsd"),
                                 {PARENT: peers.zone_text(PARENT, records)})
            self.unbound = peers.Unbound(os.path.join(self.dir, "unbound"),
                                         stubs={PARENT: self.nsd.addr,
                                                ZONE: f"127.0.0.1@{self.server.dns_port}"},
                                         cache_max_negative_ttl=1)
        except BaseException:
            self.close(failed=True)
            raise

    def doctor(self, *args, ns_port=None):
        argv = [harness.BIN, "-c", self.server.config_path, "doctor",
                "--resolver", self.unbound.hostport,
                "--ns-port", str(ns_port or self.server.dns_port), *args]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        print(f"$ doctor {' '.join(args)} -> {r.returncode}\n{r.stdout}{r.stderr}", flush=True)
        return r

    def close(self, failed=False):
        for peer in (self.unbound, self.nsd):
            if peer is not None:
                if failed:
                    sys.stderr.write(peer.output()[-4000:] + "\n")
                peer.stop()
        if self.server is not None:
            if failed and self.server.process is not None:
                sys.stderr.write(self.server.process.output()[-4000:] + "\n")
            self.server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


T = None


def test_correct_cname_passes():
    r = T.doctor("ok.example.test")
    assert r.returncode == 0, r.stdout
    assert f"OK    _acme-challenge.ok.example.test. CNAME {T.sub}.{ZONE}." in r.stdout
    assert f"answers authoritatively for {ZONE}." in r.stdout
    assert "all checks passed" in r.stdout


def test_correct_cname_with_matching_subdomain_passes():
    r = T.doctor("--subdomain", T.sub, "ok.example.test")
    assert r.returncode == 0, r.stdout


def test_missing_cname_prints_the_record():
    r = T.doctor("--subdomain", T.sub, "missing.example.test")
    assert r.returncode == 1
    assert "FAIL  no CNAME at _acme-challenge.missing.example.test. (NXDOMAIN)" in r.stdout
    assert (f'fix: create "_acme-challenge.missing.example.test. CNAME {T.sub}.{ZONE}."'
            in r.stdout)


def test_missing_cname_without_subdomain_says_register():
    r = T.doctor("missing.example.test")
    assert r.returncode == 1
    assert "register an account" in r.stdout
    assert f"_acme-challenge.missing.example.test. CNAME <subdomain>.{ZONE}." in r.stdout


def test_cname_outside_zone():
    r = T.doctor("wrong.example.test")
    assert r.returncode == 1
    assert ("FAIL  _acme-challenge.wrong.example.test. is a CNAME to challenges.elsewhere.example., "
            f"outside this server's zone {ZONE}.") in r.stdout


def test_cname_to_unknown_subdomain():
    r = T.doctor("unknown.example.test")
    assert r.returncode == 1
    assert f"but no account has the subdomain {T.stranger}" in r.stdout


def test_cname_to_another_account_than_given():
    r = T.doctor("--subdomain", T.stranger, "ok.example.test")
    assert r.returncode == 1
    assert "not to the given subdomain" in r.stdout
    assert f'"_acme-challenge.ok.example.test. CNAME {T.stranger}.{ZONE}."' in r.stdout


def test_caa_forbids_letsencrypt():
    r = T.doctor("caa.example.test")
    assert r.returncode == 1
    assert "FAIL  CAA at caa.example.test. forbids letsencrypt.org (issue: ca.example.net)" in r.stdout
    assert 'caa.example.test. CAA 0 issue \\"letsencrypt.org\\"' in r.stdout
    # The CNAME itself is fine: only the CAA check fails.
    assert f"OK    _acme-challenge.caa.example.test. CNAME {T.sub}.{ZONE}." in r.stdout


def test_caa_allows_the_named_ca():
    r = T.doctor("--ca", "ca.example.net", "caa.example.test")
    assert r.returncode == 0, r.stdout
    assert "CAA at caa.example.test. allows ca.example.net" in r.stdout


def test_delegation_not_reaching_this_server():
    # The NS address asked on NSD's port: a server, but not authoritative for our zone.
    r = T.doctor("ok.example.test", ns_port=T.nsd.port)
    assert r.returncode == 1
    assert f"is not authoritative for {ZONE}." in r.stdout
    assert f'in the parent zone create "{ZONE}. NS ns1.{ZONE}."' in r.stdout


def test_delegation_nobody_listening():
    dead = harness.free_port("127.0.0.1")
    r = T.doctor("ok.example.test", ns_port=dead)
    assert r.returncode == 1
    assert "does not answer" in r.stdout


def test_several_names_one_failure():
    r = T.doctor("ok.example.test", "missing.example.test")
    assert r.returncode == 1
    assert "1 check(s) failed" in r.stdout


def test_usage():
    r = subprocess.run([harness.BIN, "-c", T.server.config_path, "doctor", "--help"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "--resolver HOST:PORT" in r.stdout
    r = subprocess.run([harness.BIN, "-c", T.server.config_path, "doctor"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "give at least one NAME" in r.stderr
    r = subprocess.run([harness.BIN, "-c", T.server.config_path, "doctor", "--resolver",
                        "127.0.0.1", "x.test"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "is not HOST:PORT" in r.stderr


if __name__ == "__main__":
    T = Topology()
    ok = False
    try:
        try:
            harness.run_main([test_correct_cname_passes,
                              test_correct_cname_with_matching_subdomain_passes,
                              test_missing_cname_prints_the_record,
                              test_missing_cname_without_subdomain_says_register,
                              test_cname_outside_zone, test_cname_to_unknown_subdomain,
                              test_cname_to_another_account_than_given,
                              test_caa_forbids_letsencrypt, test_caa_allows_the_named_ca,
                              test_delegation_not_reaching_this_server,
                              test_delegation_nobody_listening, test_several_names_one_failure,
                              test_usage])
        except SystemExit as e:
            ok = e.code == 0
            raise
    finally:
        T.close(failed=not ok)
