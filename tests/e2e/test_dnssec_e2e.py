"""A signed delegation end to end (issue 15): acme-dnsd signs auth.example.test; the
parent example.test (NSD) is signed with BIND's dnssec-signzone and holds our DS;
unbound validates with only the parent's DS as trust anchor; Pebble validates DNS-01
through that unbound; certbot and lego obtain certificates. Control: with a wrong DS at
the parent the same lookups are SERVFAIL and certbot is refused, so the validator is
really on the path."""
import concurrent.futures
import re

import harness
import e2e_common as E
import test_certbot as C
import test_lego as L

TOPO = None


def dig(name, rtype="TXT"):
    out = TOPO.unbound.dig(name, rtype, "+dnssec").stdout
    status = re.search(r"status: (\w+)", out)
    flags = re.search(r";; flags: ([a-z ]*);", out)
    return (status.group(1) if status else None), set(flags.group(1).split() if flags else ()), out


def test_chain_is_secure():
    acct = TOPO.server.register()
    TOPO.set_cnames({"_acme-challenge.sec.example.test": acct["fulldomain"]})
    assert TOPO.server.update(acct, harness.txt_value(1))[0] == 200
    for name, rtype in (("_acme-challenge.sec.example.test", "TXT"), (E.ZONE, "DS"), (E.ZONE, "DNSKEY"),
                        (acct["fulldomain"], "TXT"), ("nothing." + E.ZONE, "TXT")):
        status, flags, out = dig(name, rtype)
        assert status == "NOERROR" and "ad" in flags, f"{name} {rtype} not secure:\n{out}\n" + \
            TOPO.unbound.output()[-3000:]
    _, _, out = dig("_acme-challenge.sec.example.test")
    assert harness.txt_value(1) in out, out


def test_certbot_through_signed_delegation():
    C.TOPO = TOPO
    C.obtain("signed", ["signed.example.test", "*.signed.example.test"], shared=False)


def test_lego_through_signed_delegation():
    case = L.Case(TOPO, "default", "signed", ["lego-signed.example.test", "n2.lego-signed.example.test"])
    L.publish(TOPO, [case])
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        case.start(pool)
        case.check()


def test_wrong_ds_at_parent_is_bogus_and_the_ca_refuses():
    acct = TOPO.server.register()
    good = TOPO.child_ds
    TOPO.child_ds = [good[0].rsplit(" ", 1)[0] + " " + "cd" * 32]
    TOPO.set_cnames({"_acme-challenge.bogus.example.test": acct["fulldomain"]})
    TOPO.unbound.stop()  # forget the good DS and DNSKEY it validated before
    TOPO.unbound.start()
    assert TOPO.server.update(acct, harness.txt_value(9))[0] == 200
    status, _, out = dig("_acme-challenge.bogus.example.test")
    assert status == "SERVFAIL", out
    storage, _ = C.preregister("bogus", ["bogus.example.test"], shared=False)
    try:
        C.certbot("bogus", ["bogus.example.test"], storage)
    except AssertionError as e:
        # Go's resolver reports the validator's SERVFAIL as "server misbehaving".
        assert "server misbehaving" in str(e), str(e)[-3000:]
    else:
        raise AssertionError("certbot obtained a certificate through a bogus delegation")


def main():
    global TOPO
    TOPO = E.Topology(signed=True)
    ok = False
    try:
        try:
            harness.run_main([test_chain_is_secure, test_certbot_through_signed_delegation,
                              test_lego_through_signed_delegation,
                              test_wrong_ds_at_parent_is_bogus_and_the_ca_refuses])
        except SystemExit as e:
            ok = e.code == 0
            raise
    finally:
        TOPO.close(failed=not ok)


if __name__ == "__main__":
    main()
