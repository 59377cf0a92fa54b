"""DNSSEC with secondaries (docs/dnssec.md): acme-dnsd transfers its zone unsigned, so
the secondaries of a signed delegation sign themselves. Topology:

    acme-dnsd ([dnssec] on, hidden primary) --NOTIFY/IXFR, TSIG--> Knot (dnssec-signing: on)
        --NOTIFY/IXFR, TSIG--> NSD   <-- validating unbound (trust anchor: Knot's DS)

Every answer NSD gives validates (AD), including a value added after the start, and no
RRSIG/DNSKEY of acme-dnsd's own goes out in the transfer."""
import os
import subprocess
import tempfile

import harness
import peers
import transfer_lib as tl

ZONE = tl.ZONE


class SigningKnot(tl.KnotSecondary):
    """Knot transferring from acme-dnsd, signing with its own key, serving NSD."""

    def __init__(self, dir, primary_port, secret, nsd_port):
        super().__init__(dir, primary_port, secret)
        self.nsd_port = nsd_port

    def write_config(self):
        d = self.dir
        os.makedirs(os.path.join(d, "knot-db"), exist_ok=True)  # its KASP database lives there
        text = "\n".join([
            "server:", f'    rundir: "{d}"', f'    pidfile: "{d}/knot.pid"', f"    listen: {tl.LOOPBACK}@{self.port}",
            "", "log:", "  - target: stderr", "    any: info",
            "", "database:", f'    storage: "{d}/knot-db"',
            "", "control:", f'    listen: "{d}/knot.sock"',
            "", "key:", f"  - id: {tl.KEY_NAME}", "    algorithm: hmac-sha256", f"    secret: {self.secret}",
            "", "remote:",
            "  - id: primary", f"    address: {tl.LOOPBACK}@{self.primary_port}", f"    key: {tl.KEY_NAME}",
            "  - id: nsd", f"    address: {tl.LOOPBACK}@{self.nsd_port}", f"    key: {tl.KEY_NAME}",
            "", "acl:",
            "  - id: notify-from-primary", f"    address: {tl.LOOPBACK}", f"    key: {tl.KEY_NAME}",
            "    action: notify",
            "  - id: transfer-to-nsd", f"    address: {tl.LOOPBACK}", f"    key: {tl.KEY_NAME}",
            "    action: transfer",
            "", "template:", "  - id: default", f'    storage: "{d}"', '    file: "%s.zone"',
            "    zonefile-sync: -1", "    zonefile-load: none", "    journal-content: changes",
            "    semantic-checks: off",
            "", "zone:", f"  - domain: {ZONE}.", "    master: primary", "    notify: nsd",
            "    acl: [notify-from-primary, transfer-to-nsd]", "    dnssec-signing: on", "",
        ])
        self.config_path = os.path.join(d, "knot.conf")
        with open(self.config_path, "w") as f:
            f.write(text)
        peers._run(["knotc", "-c", self.config_path, "conf-check"])

    def ds(self):
        out = subprocess.run(["keymgr", "-c", self.config_path, ZONE + ".", "ds"], capture_output=True, text=True,
                             timeout=30)
        return [l for l in out.stdout.splitlines() if " DS " in l and " 2 " in l]


def ad(out):
    for line in out.splitlines():
        if line.startswith(";; flags:"):
            return "ad" in line.split(":")[1].split(";")[0].split()
    return False


def test_signing_knot_feeds_nsd_and_answers_validate():
    secret = tl.new_secret()
    with tempfile.TemporaryDirectory(prefix="acmednsd-dnssec-xfr-") as d:
        nsd = tl.NsdSecondary(os.path.join(d, "nsd"), 0, secret)
        knot = SigningKnot(os.path.join(d, "knot"), 0, secret, nsd.port)
        sections = tl.primary_sections([knot.port])
        sections["dnssec"] = {"enabled": True}
        os.makedirs(os.path.join(d, "primary"))
        with harness.Server(sections, workdir=os.path.join(d, "primary"), start=False,
                            extra_toml=tl.tsig_toml(secret)) as primary:
            primary.start()
            knot.primary_port = primary.dns_port
            nsd.primary_port = knot.port
            with knot.start(), nsd.start():
                try:
                    acct = primary.register()
                    assert primary.update(acct, harness.txt_value(1))[0] == 200
                    name = f"{acct['subdomain']}.{ZONE}"
                    harness.wait_until(lambda: nsd.txt_values(name) == [harness.txt_value(1)], 30,
                                       what="the value at NSD through the signing Knot")
                    # acme-dnsd's own DNSSEC records never went out in the transfer: the
                    # DNSKEY at NSD is Knot's alone.
                    ours = subprocess.run([harness.BIN, "-c", primary.config_path, "dnssec", "ds"],
                                          capture_output=True, text=True, timeout=30).stdout
                    our_tag = [l for l in ours.splitlines() if " DS " in l][0].split()[4]
                    keys = nsd.dig(ZONE + ".", "DNSKEY", "+dnssec").stdout
                    assert "DNSKEY" in keys and f" {our_tag} " not in keys, keys
                    ds = knot.ds()
                    assert ds, "keymgr gave no DS:\n" + knot.output()[-3000:]
                    with tempfile.TemporaryDirectory() as tmp, \
                            peers.Unbound(tmp, {ZONE: f"127.0.0.1@{nsd.port}"},
                                          trust_anchors=ds[:1], cache_max_ttl=1, cache_max_negative_ttl=1) as unbound:
                        for qname, rtype in ((name, "TXT"), (ZONE, "SOA"), (ZONE, "NS"),
                                             ("nothing." + ZONE, "TXT"), (name, "A")):
                            out = unbound.dig(qname, rtype, "+dnssec").stdout
                            assert ad(out), f"{qname} {rtype} not secure at NSD:\n{out}\n" + unbound.output()[-2000:]
                        # A change flows through and is signed on the way.
                        assert primary.update(acct, harness.txt_value(2))[0] == 200
                        want = sorted([harness.txt_value(1), harness.txt_value(2)])
                        harness.wait_until(lambda: nsd.txt_values(name) == want, 30, what="second value at NSD")
                        # unbound may still hold the 1-second-old RRset: ask until it expired.
                        harness.wait_until(lambda: harness.txt_value(2) in unbound.dig(name, "TXT").stdout, 10,
                                           what="unbound sees the second value")
                        out = unbound.dig(name, "TXT", "+dnssec").stdout
                        assert ad(out) and harness.txt_value(2) in out, out
                except BaseException:
                    for peer in (knot, nsd):
                        print(f"---- {peer.name} log ----\n" + peer.output()[-5000:])
                    raise


if __name__ == "__main__":
    harness.run_main([test_signing_knot_feeds_nsd_and_answers_validate])
