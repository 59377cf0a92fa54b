"""dns-account-01 (draft-ietf-acme-dns-account-label) end to end against Pebble 2.10,
validating through unbound -> NSD (parent zone with the CNAMEs) -> acme-dnsd:

- a certificate of ten names, five inside our zone and five CNAME-delegated, where the
  parent zone has only `_<label>._acme-challenge` CNAMEs (no dns-01 CNAME at all), the
  records to create being read from `acme-dnsd cert list` as an operator would;
- `acme-dnsd doctor` showing the label and checking the CNAME;
- a CNAME under a wrong label: refused before ordering when CNAMEs are checked, and
  with the CA's own error shown when they are not;
- challenge = "auto": dns-account-01 where its CNAME exists, dns-01 where only the
  classic `_acme-challenge` CNAME does.
"""
import base64
import hashlib
import re

import harness
import peers
from acme_e2e import PARENT, ZONE, AcmeSetup, account_url, new_subdomain, presented, san_names


def label_of(account_url):
    digest = hashlib.sha256(account_url.encode()).digest()[:10]
    return base64.b32encode(digest).decode().lower()


def reload_parent(s, cnames, serial):
    s.nsd.reload({PARENT: AcmeSetup.parent_zone(cnames, serial=serial)})


def test_ten_names_inside_and_delegated_by_account_label():
    sub = new_subdomain()
    inside = [ZONE, f"*.{ZONE}", f"a.{ZONE}", f"b.{ZONE}", f"c.{ZONE}"]
    delegated = [PARENT, f"*.{PARENT}", f"api.{PARENT}", f"mail.{PARENT}", f"shop.{PARENT}"]
    certs = [{"name": "warmup", "domains": [f"warmup.{ZONE}"], "challenge": "dns-account-01"},
             {"name": "ten", "domains": inside + delegated, "challenge_subdomain": sub,
              "challenge": "dns-account-01"}]
    with AcmeSetup(certificates=certs, cnames={}, start_server=False,
                   pebble_binary=peers.pebble_unstable()) as s:
        s.start_dns_only()
        # The account exists after the first order; until then the label is unknown.
        r = s.cli("cert", "list")
        assert "label known after the first order" in r.stdout, r.stdout
        r = s.cli("cert", "issue", "warmup")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert presented(r.stdout, "warmup") == {"dns-account-01": 1}, r.stdout
        label = label_of(account_url(s))

        # Before the CNAMEs exist the client names the exact record to create.
        r = s.cli("cert", "issue", "ten")
        assert r.returncode == 1, (r.stdout, r.stderr)
        wanted = f'"_{label}._acme-challenge.{PARENT}. CNAME {sub}.{ZONE}."'
        assert wanted in r.stderr, (wanted, r.stderr)

        # `cert list` prints the records to create; the operator creates exactly those.
        r = s.cli("cert", "list")
        assert f"dns-account-01 label: _{label}" in r.stdout, r.stdout
        records = dict(re.findall(r"create: (\S+) CNAME (\S+)", r.stdout))
        assert sorted(records) == sorted(f"_{label}._acme-challenge.{d}."
                                         for d in (PARENT, f"api.{PARENT}", f"mail.{PARENT}", f"shop.{PARENT}"))
        assert set(records.values()) == {f"{sub}.{ZONE}."}
        assert f"_{label}._acme-challenge.a.{ZONE}. (inside our zone" in r.stdout, r.stdout
        reload_parent(s, records, serial=2)

        r = s.cli("doctor", f"mail.{PARENT}", "--resolver", s.unbound.hostport)
        assert f"(dns-account-01 of certificate ten, account label _{label})" in r.stdout, r.stdout
        assert f"OK    _{label}._acme-challenge.mail.{PARENT}. CNAME {sub}.{ZONE}." in r.stdout, r.stdout
        # The classic dns-01 CNAME is not needed for a name validated by dns-account-01 only.
        assert f"NOTE  no CNAME at _acme-challenge.mail.{PARENT}.: not needed" in r.stdout, r.stdout
        assert f"FAIL  no CNAME at _acme-challenge.mail.{PARENT}." not in r.stdout, r.stdout

        r = s.cli("cert", "issue", "ten")
        assert r.returncode == 0, (r.stdout, r.stderr)
        cert, _ = s.certificates["ten"]
        s.verify_chain("ten")
        assert san_names(cert) == sorted(inside + delegated)
        # Ten authorizations, all by dns-account-01: the parent zone has no dns-01 CNAME.
        assert presented(r.stdout, "ten") == {"dns-account-01": 10}, r.stdout
        harness.wait_until(lambda: s.server.txt_values(sub + "." + ZONE) == [], 5, what="TXT cleanup")


def test_ten_names_inside_and_delegated_by_dns01_on_pebble_210():
    # The same ten-name mix with classic dns-01: Pebble 2.10 asks over TCP, so the five
    # values at the shared delegation target are read whole.
    sub = new_subdomain()
    target = f"{sub}.{ZONE}"
    inside = [ZONE, f"*.{ZONE}", f"a.{ZONE}", f"b.{ZONE}", f"c.{ZONE}"]
    delegated = [PARENT, f"*.{PARENT}", f"api.{PARENT}", f"mail.{PARENT}", f"shop.{PARENT}"]
    cnames = {f"_acme-challenge.{d}": target for d in (PARENT, f"api.{PARENT}", f"mail.{PARENT}",
                                                        f"shop.{PARENT}")}
    certs = [{"name": "ten01", "domains": inside + delegated, "challenge_subdomain": sub}]
    with AcmeSetup(certificates=certs, cnames=cnames, start_server=False,
                   pebble_binary=peers.pebble_unstable()) as s:
        s.start_dns_only()
        r = s.cli("cert", "issue", "ten01")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert presented(r.stdout, "ten01") == {"dns-01": 10}, r.stdout
        s.verify_chain("ten01")
        assert san_names(s.certificates["ten01"][0]) == sorted(inside + delegated)


def test_wrong_label_is_refused_with_the_record_to_create_or_the_ca_error():
    sub = new_subdomain()
    wrong = "_aaaaaaaaaaaaaaaa._acme-challenge"
    certs = [{"name": "warmup", "domains": [f"warmup.{ZONE}"], "challenge": "dns-account-01"},
             {"name": "wrong", "domains": [f"shop.{PARENT}"], "challenge_subdomain": sub,
              "challenge": "dns-account-01"}]
    cnames = {f"{wrong}.shop.{PARENT}": f"{sub}.{ZONE}"}
    with AcmeSetup(certificates=certs, cnames=cnames, start_server=False,
                   pebble_binary=peers.pebble_unstable()) as s:
        s.start_dns_only()
        r = s.cli("cert", "issue", "warmup")
        assert r.returncode == 0, (r.stdout, r.stderr)
        label = label_of(account_url(s))
        assert f"_{label}" != wrong.split(".")[0]
        r = s.cli("cert", "issue", "wrong")
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert f'"_{label}._acme-challenge.shop.{PARENT}. CNAME {sub}.{ZONE}."' in r.stderr, r.stderr

        # Without the client's own check the CA looks, finds nothing, and says so.
        s.server.stop()
        s.replace_in_config("check_cnames = true", "check_cnames = false")
        s.start_dns_only()
        r = s.cli("cert", "issue", "wrong")
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert f"shop.{PARENT}: dns-account-01 validation failed: unauthorized:" in r.stderr, r.stderr
        assert "DNS-ACCOUNT-01" in r.stderr, r.stderr  # Pebble's own detail


def test_auto_takes_the_account_label_where_its_cname_exists():
    sub = new_subdomain()
    certs = [{"name": "warmup", "domains": [f"warmup.{ZONE}"], "challenge": "dns-account-01"},
             {"name": "auto", "domains": [f"in.{ZONE}", f"classic.{PARENT}", f"labelled.{PARENT}"],
              "challenge_subdomain": sub, "challenge": "auto"}]
    with AcmeSetup(certificates=certs, cnames={}, start_server=False,
                   pebble_binary=peers.pebble_unstable()) as s:
        s.start_dns_only()
        r = s.cli("cert", "issue", "warmup")
        assert r.returncode == 0, (r.stdout, r.stderr)
        label = label_of(account_url(s))
        target = f"{sub}.{ZONE}"
        reload_parent(s, {f"_acme-challenge.classic.{PARENT}": target,
                          f"_{label}._acme-challenge.labelled.{PARENT}": target}, serial=2)
        r = s.cli("cert", "issue", "auto")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert presented(r.stdout, "auto") == {"dns-01": 1, "dns-account-01": 2}, r.stdout
        s.verify_chain("auto")


if __name__ == "__main__":
    harness.run_main([
        test_ten_names_inside_and_delegated_by_account_label,
        test_ten_names_inside_and_delegated_by_dns01_on_pebble_210,
        test_wrong_label_is_refused_with_the_record_to_create_or_the_ca_error,
        test_auto_takes_the_account_label_where_its_cname_exists,
    ])
