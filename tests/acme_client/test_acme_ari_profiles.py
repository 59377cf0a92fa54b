"""Issue 18 end to end, against Debian unstable's Pebble 2.10 (peers.pebble_unstable()):
ARI renewal (RFC 9773) with `replaces`, alreadyReplaced, Retry-After on renewalInfo, a
malformed renewalInfo, the one-third fallback on a CA without ARI (bookworm's Pebble
2.4), and certificate profiles (selection, a short-lived profile renewing on time, an
unknown profile, a directory without profiles).

Evidence comes from the CA's side where it can: Pebble logs "has been marked as
replaced" only when a finalized order carried `replaces`, and answers alreadyReplaced
to a second order replacing the same certificate.
"""
import datetime
import json
import os
import re
import subprocess
import time

import harness
import peers
from acme_e2e import ZONE, AcmeSetup, split_pem

SHORT = 3600  # seconds: the lifetime rule would renew after 40 min, ARI decides sooner
PROFILES = {"default": 90 * 86400, "shortlived": SHORT, "tiny": 60}


def cert_dates(path):
    """(notBefore, notAfter) of the leaf as unix seconds."""
    r = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-startdate", "-enddate"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    values = dict(line.split("=", 1) for line in r.stdout.strip().splitlines())
    parse = lambda v: datetime.datetime.strptime(v, "%b %d %H:%M:%S %Y %Z").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    return int(parse(values["notBefore"])), int(parse(values["notAfter"]))


def rfc3339(unix):
    return datetime.datetime.fromtimestamp(unix, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def state(s, name):
    path = os.path.join(s.dir, "acme-state", "certificates", f"{name}.json")
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def read(path):
    with open(path) as f:
        return f.read()


def pebble210(**kw):
    return dict(pebble_binary=peers.pebble_unstable(), pebble_profiles=PROFILES, **kw)


def test_ari_window_drives_the_renewal_with_replaces():
    certs = [{"name": "ari", "domains": [f"ari.{ZONE}", f"*.ari.{ZONE}"], "profile": "shortlived"}]
    with AcmeSetup(certificates=certs, start_server=False, **pebble210()) as s:
        cert, key = s.certificates["ari"]
        s.start_dns_only()
        r = s.cli("cert", "issue", "ari")
        assert r.returncode == 0, (r.stdout, r.stderr)
        first, first_key = read(cert), read(key)
        not_before, not_after = cert_dates(cert)
        assert not_after - not_before == SHORT - 1, (not_before, not_after)  # the profile's validity

        # The CA moves this certificate's window to a few seconds from now (Pebble's
        # management API); the daemon, started afterwards, asks renewalInfo first.
        start, end = int(time.time()) + 6, int(time.time()) + 26
        window = {"suggestedWindow": {"start": rfc3339(start), "end": rfc3339(end)},
                  "explanationURL": "https://ca.test/ari-e2e"}
        s.pebble.set_renewal_info(split_pem(first)[0], json.dumps(window))
        s.server.stop()
        s.server.start()  # now with the certificate: the daemon takes over its renewal
        second = s.wait_for_certificate("ari", timeout=90, previous=first)
        renewed_not_before, _ = cert_dates(cert)
        s.verify_chain("ari")

        log = s.log()
        m = re.search(r"renewal window from the CA .*renew_at=\"?([0-9TZ:-]+)", log)
        assert m, log[-3000:]
        renew_at = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        assert start <= renew_at < end, (start, renew_at, end)
        # Pebble stamps notBefore at issuance: not before the window, and soon after the
        # chosen point (one order takes a few seconds), not 40 minutes later.
        assert start <= renewed_not_before <= end + 20, (start, renewed_not_before, end)
        harness.wait_until(lambda: "has been marked as replaced" in s.pebble.output(), 10,
                           what="Pebble marking the first certificate's order replaced")

        # Retry-After on renewalInfo: the daemon asked for the new certificate's window
        # and waits Pebble's 6 h before asking again.
        def asked_again():
            ari = state(s, "ari").get("ari") or {}
            return ari.get("fetched_at", 0) > 0 and ari.get("chosen_time", 0) > 0
        harness.wait_until(asked_again, 20, interval=0.2, what="renewalInfo of the new certificate")
        ari = state(s, "ari")["ari"]
        assert ari["refetch_after"] - ari["fetched_at"] == 6 * 3600, ari
        assert ari["window_start"] >= renewed_not_before, ari  # Pebble's window of the new one

        # alreadyReplaced: with the first certificate back on disk, an order that
        # replaces it again is refused by the CA; the client orders without `replaces`.
        s.server.stop()
        with open(cert, "w") as f:
            f.write(first)
        with open(key, "w") as f:
            f.write(first_key)
        s.start_dns_only()
        r = s.cli("cert", "issue", "ari")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert "already replaced" in r.stdout and "alreadyReplaced" in r.stdout, r.stdout
        assert read(cert) not in (first, second)


def test_malformed_renewal_info_falls_back_to_one_third():
    certs = [{"name": "bad-ari", "domains": [f"bad-ari.{ZONE}"], "profile": "shortlived"}]
    with AcmeSetup(certificates=certs, start_server=False, **pebble210()) as s:
        cert, _ = s.certificates["bad-ari"]
        s.start_dns_only()
        r = s.cli("cert", "issue", "bad-ari")
        assert r.returncode == 0, (r.stdout, r.stderr)
        not_before, not_after = cert_dates(cert)
        s.pebble.set_renewal_info(split_pem(read(cert))[0], '{"suggestedWindow": {"start": "soon"')
        r = s.cli("cert", "renew")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert "renewalInfo unusable" in r.stdout, r.stdout
        due = not_after - (not_after - not_before) // 3
        assert f"bad-ari: not due until {rfc3339(due)} (one third of its lifetime left)" in r.stdout, \
            (r.stdout, rfc3339(due))
        ari = state(s, "bad-ari")["ari"]
        # Pebble sends Retry-After: 6 h with its override too: honoured although the body is bad.
        assert ari["chosen_time"] == 0 and ari["refetch_after"] > time.time() + 3600, ari
        # A window that ends before it starts is as unusable.
        s.pebble.set_renewal_info(split_pem(read(cert))[0], json.dumps(
            {"suggestedWindow": {"start": rfc3339(not_after), "end": rfc3339(not_before)}}))
        os.unlink(os.path.join(s.dir, "acme-state", "certificates", "bad-ari.json"))
        r = s.cli("cert", "renew")
        assert "renewalInfo unusable" in r.stdout and "window is malformed" in r.stdout, r.stdout
        assert "one third of its lifetime left" in r.stdout, r.stdout


def test_without_ari_the_client_renews_at_one_third_of_the_lifetime():
    # A CA without ARI: Pebble 2.10 behind a directory without renewalInfo (which Pebble
    # a distribution ships has ARI differs: bookworm's 2.4 none, trixie's yes).
    certs = [{"name": "no-ari", "domains": [f"no-ari.{ZONE}"]}]
    with AcmeSetup(certificates=certs, start_server=False, pebble_binary=peers.pebble_unstable(),
                   directory_without=("renewalInfo",)) as s:
        cert, _ = s.certificates["no-ari"]
        s.start_dns_only()
        r = s.cli("cert", "issue", "no-ari")
        assert r.returncode == 0, (r.stdout, r.stderr)
        not_before, not_after = cert_dates(cert)
        r = s.cli("cert", "renew")
        due = not_after - (not_after - not_before) // 3
        assert f"no-ari: not due until {rfc3339(due)} (one third of its lifetime left)" in r.stdout, r.stdout
        assert "ari" not in state(s, "no-ari"), state(s, "no-ari")
        assert s.directory_filter.requests >= 2, "the client did not read the filtered directory"


def test_short_lived_profile_renews_before_expiry_under_ari():
    # 60-second certificates: Pebble's window is [notBefore, notAfter]; the daemon must
    # renew each one at its random point (in the first 54 s), before it expires, and say
    # replaces every time.
    certs = [{"name": "tiny", "domains": [f"tiny.{ZONE}"], "profile": "tiny"}]
    with AcmeSetup(certificates=certs, **pebble210()) as s:
        cert, _ = s.certificates["tiny"]
        issued = [s.wait_for_certificate("tiny", timeout=60)]
        dates = [cert_dates(cert)]
        for _ in range(2):
            issued.append(s.wait_for_certificate("tiny", timeout=90, previous=issued[-1]))
            dates.append(cert_dates(cert))
        for (nb, na), (next_nb, _) in zip(dates, dates[1:]):
            assert na - nb == PROFILES["tiny"] - 1, (nb, na)
            assert nb <= next_nb <= na, f"renewed at {next_nb}, outside [{nb}, {na}]"
        assert s.pebble.output().count("has been marked as replaced") >= 2, s.pebble.output()[-3000:]
        assert s.log().count("renewal window from the CA") >= 2, s.log()[-3000:]


def test_profile_selection_and_unknown_profiles():
    certs = [{"name": "classic", "domains": [f"classic.{ZONE}"], "profile": "default"},
             {"name": "short", "domains": [f"short.{ZONE}"], "profile": "shortlived"},
             {"name": "typo", "domains": [f"typo.{ZONE}"], "profile": "shortlive"}]
    with AcmeSetup(certificates=certs, start_server=False, **pebble210()) as s:
        s.start_dns_only()
        r = s.cli("cert", "issue", "classic", "short")
        assert r.returncode == 0, (r.stdout, r.stderr)
        nb, na = cert_dates(s.certificates["classic"][0])
        assert na - nb == PROFILES["default"] - 1
        nb, na = cert_dates(s.certificates["short"][0])
        assert na - nb == PROFILES["shortlived"] - 1
        r = s.cli("cert", "list")
        assert "challenge: dns-01, profile: shortlived" in r.stdout, r.stdout

        r = s.cli("cert", "issue", "typo")
        assert r.returncode == 1, (r.stdout, r.stderr)
        with open(s.server.config_path) as f:
            line = 1 + f.read().split("\n").index('name = "typo"') - 1
        wanted = (f'{s.server.config_path}:{line}: [[certificate]] typo: profile = "shortlive" is not '
                  f"offered by the CA; it offers: default, shortlived, tiny")
        assert wanted in r.stderr, (wanted, r.stderr)
        assert "newOrder" not in r.stderr
        assert not os.path.exists(s.certificates["typo"][0])


def test_profile_on_a_ca_without_profiles():
    certs = [{"name": "old-ca", "domains": [f"old.{ZONE}"], "profile": "shortlived"}]
    # Pebble 2.10 with profiles configured, behind a directory without meta.profiles.
    with AcmeSetup(certificates=certs, start_server=False, directory_without=("meta.profiles",),
                   **pebble210()) as s:
        s.start_dns_only()
        r = s.cli("cert", "issue", "old-ca")
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert 'profile = "shortlived" is not offered by the CA; its directory lists no profiles' in r.stderr, \
            r.stderr


if __name__ == "__main__":
    harness.run_main([
        test_ari_window_drives_the_renewal_with_replaces,
        test_malformed_renewal_info_falls_back_to_one_third,
        test_without_ari_the_client_renews_at_one_third_of_the_lifetime,
        test_short_lived_profile_renews_before_expiry_under_ari,
        test_profile_selection_and_unknown_profiles,
        test_profile_on_a_ca_without_profiles,
    ])
