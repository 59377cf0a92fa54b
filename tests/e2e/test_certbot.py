"""certbot 2.1 + contrib/certbot/acme-dns-auth.py against acme-dnsd, validated by Pebble
through unbound and an NSD parent zone holding the _acme-challenge CNAMEs.

Cases: one name; a name and its wildcard; three and then ten names sharing
one credential (all CNAMEs to one subdomain), every value presented before Pebble validates
them concurrently. One topology serves every case; each case uses fresh names.
"""
import json
import os
import re
import sys

import harness
import e2e_common as E

TOPO = None
# Extra hook settings of a topology, e.g. ACMEDNS_PROPAGATION_SERVERS for a secondary.
HOOK_ENV = {}


def hook_env(storage, **extra):
    env = dict(os.environ, ACMEDNS_URL=TOPO.api_url, ACMEDNS_STORAGE_PATH=storage, **HOOK_ENV)
    env.update(extra)
    return env


def load(storage):
    with open(storage) as f:
        return json.load(f)


def preregister(case, names, shared):
    """Registers through the hook (as an operator would before the first run) and
    publishes the CNAMEs it prints. shared=True: one credential for all names, written
    into the hook's storage file for every name."""
    storage = os.path.join(TOPO.dir, f"acmedns-{case}.json")
    bases = sorted({n[2:] if n.startswith("*.") else n for n in names})
    first = bases[0] if shared else None
    r = E.run([sys.executable, E.HOOK, "register", *([first] if shared else bases)],
              env=hook_env(storage), timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    data = load(storage)
    if shared:
        for b in bases:
            data[b] = data[first]
        with open(storage, "w") as f:
            json.dump(data, f)
    cnames = {}
    for b in bases:
        acct = data[b]
        assert re.fullmatch(r"[0-9a-f-]{36}", acct["username"]), acct
        assert acct["fulldomain"] == f"{acct['subdomain']}.{E.ZONE}", acct
        cnames[f"_acme-challenge.{b}"] = acct["fulldomain"]
    # The hook told the operator exactly which CNAME(s) to create.
    printed = re.findall(r"^_acme-challenge\.(\S+)\. CNAME (\S+)\.$", r.stdout, re.M)
    for name, target in printed:
        assert cnames[f"_acme-challenge.{name}"] == target, (name, target)
    assert len(printed) == (1 if shared else len(bases)), r.stdout
    TOPO.set_cnames(cnames)
    return storage, data


def certbot(case, names, storage):
    d = os.path.join(TOPO.dir, f"certbot-{case}")
    argv = ["certbot", "certonly", "--manual", "--preferred-challenges", "dns",
            "--manual-auth-hook", f"{sys.executable} {E.HOOK}",
            "--non-interactive", "--agree-tos", "--register-unsafely-without-email",
            "--server", TOPO.pebble.directory_url,
            "--config-dir", f"{d}/config", "--work-dir", f"{d}/work", "--logs-dir", f"{d}/logs",
            "--cert-name", case]
    for n in names:
        argv += ["-d", n]
    r = E.run(argv, env=hook_env(storage, REQUESTS_CA_BUNDLE=TOPO.pebble.tls_ca_bundle))
    if r.returncode != 0:
        log = os.path.join(d, "logs", "letsencrypt.log")
        tail = open(log).read()[-6000:] if os.path.exists(log) else ""
        raise AssertionError(f"certbot failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n{tail}")
    return os.path.join(d, "config", "live", case)


def obtain(case, names, shared):
    storage, before = preregister(case, names, shared)
    live = certbot(case, names, storage)
    E.check_certificate(TOPO, os.path.join(live, "cert.pem"), os.path.join(live, "chain.pem"), names)
    # The hook reused the stored credentials: no second registration happened.
    assert load(storage) == before
    # Every value certbot presented is still served (no cleanup hook), on one name when shared.
    fulldomains = {before[n[2:] if n.startswith("*.") else n]["fulldomain"] for n in names}
    served = sum(len(TOPO.server.txt_values(fd)) for fd in fulldomains)
    assert served == len(names), (served, names)


def test_hook_first_run_registers():
    """Run as certbot runs it, for a domain not yet stored: registers, prints the CNAME,
    updates the value; the second run reuses the account."""
    storage = os.path.join(TOPO.dir, "acmedns-firstrun.json")
    env = hook_env(storage, CERTBOT_DOMAIN="*.first.example.test",
                   CERTBOT_VALIDATION=harness.txt_value(1))
    r = E.run([sys.executable, E.HOOK], env=env, timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    data = load(storage)
    assert list(data) == ["first.example.test"], data
    acct = data["first.example.test"]
    assert f"_acme-challenge.first.example.test. CNAME {acct['fulldomain']}." in r.stdout, r.stdout
    assert oct(os.stat(storage).st_mode & 0o777) == "0o600"
    env["CERTBOT_DOMAIN"] = "first.example.test"
    env["CERTBOT_VALIDATION"] = harness.txt_value(2)
    r = E.run([sys.executable, E.HOOK], env=env, timeout=60)
    assert r.returncode == 0 and "CNAME" not in r.stdout, (r.stdout, r.stderr)
    assert load(storage) == data
    assert TOPO.server.txt_values(acct["fulldomain"]) == sorted(
        [harness.txt_value(1), harness.txt_value(2)])


def test_hook_fails_on_bad_credentials():
    """A rejected /update (not 200) makes the hook exit non-zero, so certbot stops."""
    storage = os.path.join(TOPO.dir, "acmedns-bad.json")
    acct = TOPO.server.register()
    acct["password"] = "x" * 40
    with open(storage, "w") as f:
        json.dump({"bad.example.test": acct}, f)
    env = hook_env(storage, CERTBOT_DOMAIN="bad.example.test", CERTBOT_VALIDATION=harness.txt_value(3))
    r = E.run([sys.executable, E.HOOK], env=env, timeout=60)
    assert r.returncode != 0 and "401" in r.stderr, (r.returncode, r.stdout, r.stderr)


def test_hook_allowfrom():
    """ACMEDNS_ALLOW_FROM is sent as the registration's allowfrom and stored as written."""
    storage = os.path.join(TOPO.dir, "acmedns-allowfrom.json")
    env = hook_env(storage, ACMEDNS_ALLOW_FROM="127.0.0.0/8, ::1/128")
    r = E.run([sys.executable, E.HOOK, "register", "af.example.test"], env=env, timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    acct = load(storage)["af.example.test"]
    assert acct["allowfrom"] == ["127.0.0.0/8", "::1/128"], acct
    status, _, body = TOPO.server.request(
        "GET", "/account", headers={"X-Api-User": acct["username"], "X-Api-Key": acct["password"]})
    assert status == 200 and json.loads(body)["allowfrom"] == ["127.0.0.0/8", "::1/128"], (status, body)


def test_one_name():
    obtain("one", ["one.example.test"], shared=False)


def test_name_and_wildcard():
    obtain("wild", ["wild.example.test", "*.wild.example.test"], shared=False)


def test_three_names_one_credential():
    obtain("three", [f"n{i}.three.example.test" for i in range(3)], shared=True)


def test_ten_names_one_credential():
    obtain("ten", [f"n{i}.ten.example.test" for i in range(10)], shared=True)


def main():
    global TOPO
    TOPO = E.Topology()
    ok = False
    try:
        try:
            harness.run_main([test_hook_first_run_registers, test_hook_fails_on_bad_credentials,
                              test_hook_allowfrom,
                              test_one_name, test_name_and_wildcard,
                              test_three_names_one_credential, test_ten_names_one_credential])
        except SystemExit as e:
            ok = e.code == 0
            raise
    finally:
        TOPO.close(failed=not ok)


if __name__ == "__main__":
    main()
