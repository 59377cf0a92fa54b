"""The end-to-end topology shared by the e2e tests:

    client (certbot / lego / curl) --HTTP--> acme-dnsd API
    Pebble --DNS-01--> unbound --stub example.test--> NSD (parent zone: NS + glue for
                                                     auth.example.test, _acme-challenge CNAMEs)
                               --stub auth.example.test--> acme-dnsd

Everything listens on free loopback ports and is stopped by PID in close(), except that
unbound also listens on port 53 of a fresh 127/8 address: Pebble validates through Go's
standard resolver (EDNS, TCP on truncation, as a production CA's resolver does), which
reads the nameserver from a private /etc/resolv.conf (peers.Pebble). Pebble's -dnsserver
client cannot read a TXT RRset over 512 bytes, and ten values on one name are ~600.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import harness
import peers

PARENT = "example.test"
ZONE = "auth.example.test"
HOOK = os.path.join(harness.SOURCE_DIR, "contrib", "certbot", "acme-dns-auth.py")


def parent_zone(cnames, serial=1, ds=()):
    """Parent zone text: delegation of ZONE with glue, plus {name: target} CNAMEs
    (absolute names, with or without trailing dot), and `ds` lines for a signed delegation."""
    records = [
        "auth IN NS ns1.auth",
        "ns1.auth IN A 127.0.0.1",
    ] + list(ds)
    for name, target in sorted(cnames.items()):
        records.append(f"{name.rstrip('.')}. IN CNAME {target.rstrip('.')}.")
    return peers.zone_text(PARENT, records, serial=serial)


class Topology:
    """acme-dnsd + NSD (parent) + unbound (+ Pebble when `pebble`), in one temp dir.

    Use set_cnames() to (re)publish the parent zone; NSD reloads it (SIGHUP).
    """

    def __init__(self, pebble=True, server_sections=None, extra_toml="", secondary=None, signed=False):
        """`secondary`: a not yet started secondary peer (tests/transfer/transfer_lib.py)
        with its port chosen; it is started against acme-dnsd and becomes the resolver's
        only path to ZONE (acme-dnsd as hidden primary).
        `signed`: a signed delegation (docs/dnssec.md): acme-dnsd signs, the parent zone
        carries its DS and is signed with dnssec-signzone, and unbound validates with the
        parent's DS as its only trust anchor."""
        self.dir = tempfile.mkdtemp(prefix="acmednsd-e2e-")
        self.server = self.nsd = self.unbound = self.pebble = None
        self.secondary = secondary
        self.cnames = {}
        self.serial = 1
        self.signed = signed
        self.child_ds = []
        if signed:
            server_sections = dict(server_sections or {})
            server_sections["dnssec"] = {"enabled": True}
        try:
            os.makedirs(os.path.join(self.dir, "acme-dnsd"))
            self.server = harness.Server(sections=server_sections,
                                         workdir=os.path.join(self.dir, "acme-dnsd"),
                                         domain=ZONE, extra_toml=extra_toml)
            zone_server = f"127.0.0.1@{self.server.dns_port}"
            if secondary is not None:
                secondary.primary_port = self.server.dns_port
                secondary.start()
                zone_server = f"{secondary.address}@{secondary.port}"
            anchors = []
            if signed:
                out = run([harness.BIN, "-c", self.server.config_path, "dnssec", "ds"], timeout=30)
                assert out.returncode == 0, out.stderr
                self.child_ds = [l for l in out.stdout.splitlines() if " IN DS " in l]
                anchors = self._make_parent_key()
            self.nsd = peers.Nsd(os.path.join(self.dir, "nsd"), {PARENT: self._parent_text()})
            self.resolver_address = peers.free_loopback_address(53) if pebble else None
            self.unbound = peers.Unbound(
                os.path.join(self.dir, "unbound"),
                trust_anchors=anchors,
                stubs={PARENT: self.nsd.addr, ZONE: zone_server},
                # Fresh names per case; a short negative cap keeps a stray early query
                # from hiding a CNAME published a moment later.
                cache_max_negative_ttl=1,
                # A signed parent re-signed with new names: NSEC records cached from its
                # previous version would deny them (RFC 8198) until they expire.
                extra_server="aggressive-nsec: no" if signed else "",
                extra_interfaces=[f"{self.resolver_address}@53"] if pebble else [])
            if pebble:
                self.pebble = peers.Pebble(os.path.join(self.dir, "pebble"), dns_server=None,
                                           resolv_conf_nameserver=self.resolver_address)
                self.root = self.pebble.write_root()
        except BaseException:
            self.close(failed=True)
            raise

    def _make_parent_key(self):
        """A KSK for the parent (BIND's dnssec-keygen); returns its DS as the anchor."""
        self.parent_keys = os.path.join(self.dir, "parent-keys")
        os.makedirs(self.parent_keys)
        r = run(["dnssec-keygen", "-q", "-a", "ECDSAP256SHA256", "-f", "KSK", "-K", self.parent_keys, PARENT],
                timeout=60)
        assert r.returncode == 0, r.stderr
        key = os.path.join(self.parent_keys, r.stdout.strip() + ".key")
        r = run(["dnssec-dsfromkey", "-2", key], timeout=30)
        assert r.returncode == 0, r.stderr
        return [r.stdout.strip()]

    def _parent_text(self):
        """The parent zone; signed (dnssec-signzone, NSEC) for a signed delegation."""
        text = parent_zone(self.cnames, self.serial, self.child_ds)
        if not self.signed:
            return text
        unsigned = os.path.join(self.parent_keys, f"{PARENT}.zone")
        with open(unsigned, "w") as f:
            f.write(text)
        r = run(["dnssec-signzone", "-O", "full", "-z", "-S", "-K", self.parent_keys, "-o", PARENT, "-f", unsigned + ".signed",
                 unsigned], timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        with open(unsigned + ".signed") as f:
            return f.read()

    @property
    def api_url(self):
        return f"http://127.0.0.1:{self.server.api_port}"

    def set_cnames(self, cnames):
        """Adds {name: target} CNAMEs to the parent zone and has NSD reload it."""
        self.cnames.update({n.rstrip("."): t.rstrip(".") for n, t in cnames.items()})
        self.serial += 1
        self.nsd.reload({PARENT: self._parent_text()})
        for name, target in cnames.items():
            out = self.nsd.dig(name, "CNAME", "+short").stdout.strip()
            assert out == target.rstrip(".") + ".", (name, out)

    def logs(self):
        parts = []
        for label, peer in (("acme-dnsd", self.server), ("nsd", self.nsd), ("secondary", self.secondary),
                            ("unbound", self.unbound), ("pebble", self.pebble)):
            if peer is not None and peer.process is not None:
                parts.append(f"---- {label} log (tail) ----\n" + peer.process.output()[-6000:])
        return "\n".join(parts)

    def close(self, failed=False):
        if failed:
            sys.stderr.write(self.logs() + "\n")
        for peer in (self.pebble, self.unbound, self.nsd, self.secondary):
            if peer is not None:
                peer.stop()
        if self.server is not None:
            self.server.stop()
        if os.environ.get("ACMEDNSD_KEEP_TMP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            sys.stderr.write(f"kept {self.dir}\n")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(failed=exc[0] is not None)


def run(argv, env=None, timeout=240, cwd=None):
    """Runs a client to completion (bounded); returns the CompletedProcess."""
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def cert_names(cert_path):
    """The DNS names in a certificate's subjectAltName, via the openssl CLI."""
    r = run(["openssl", "x509", "-in", cert_path, "-noout", "-ext", "subjectAltName"], timeout=30)
    assert r.returncode == 0, r.stderr
    return sorted(re.findall(r"DNS:([^,\s]+)", r.stdout))


def verify_chain(root, cert, chain):
    """openssl verify of `cert` against Pebble's root with `chain` as intermediates."""
    r = run(["openssl", "verify", "-CAfile", root, "-untrusted", chain, cert], timeout=30)
    assert r.returncode == 0 and r.stdout.strip() == f"{cert}: OK", (r.stdout, r.stderr)


def check_certificate(topo, cert, chain, names):
    verify_chain(topo.root, cert, chain)
    got = cert_names(cert)
    assert got == sorted(names), (got, sorted(names))
