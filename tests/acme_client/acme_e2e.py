"""Shared set-up of the embedded ACME client's end-to-end tests: acme-dnsd with [acme]
pointed at a real Pebble, optionally behind unbound + NSD for CNAME-delegated names.

    Pebble --DNS-01--> acme-dnsd                      (names inside our zone)
    Pebble --DNS-01--> unbound --> NSD (parent zone example.test: CNAMEs)
                               --> acme-dnsd (auth.example.test)

Everything on free loopback ports, stopped by PID in close(); every wait bounded.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import harness
import peers

ZONE = "auth.example.test"
PARENT = "example.test"


def toml(v):
    return harness.toml_value(v)


def certificate_toml(name, domains, cert_path, key_path, **extra):
    lines = ["[[certificate]]", f"name = {toml(name)}", f"domains = {toml(domains)}",
             f"cert_path = {toml(cert_path)}", f"key_path = {toml(key_path)}"]
    lines += [f"{k} = {toml(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n\n"


class AcmeSetup:
    """Pebble + acme-dnsd (+ NSD and unbound when `cnames` is not None).

    certificates: list of dicts {name, domains, ...extra keys}; cert_path/key_path are
    placed under <dir>/out/<name>/. acme: extra [acme] keys. api: extra [api] keys.
    directory_without: directory fields the client must not see (peers.DirectoryFilter),
    e.g. ("renewalInfo",) for a CA without ARI.
    """

    def __init__(self, certificates=(), cnames=None, acme=None, api=None, eab=False,
                 nonce_reject=0, start_server=True, wait_health=True, pebble_env=None,
                 pebble_binary="pebble", pebble_profiles=None, directory_without=()):
        self.dir = tempfile.mkdtemp(prefix="acmednsd-acme-")
        self.server = self.pebble = self.nsd = self.unbound = self.directory_filter = None
        self.certificates = {}
        try:
            self.pebble = peers.Pebble(os.path.join(self.dir, "pebble"), dns_server="",
                                       eab=eab, nonce_reject=nonce_reject, start=False,
                                       extra_env=pebble_env, binary=pebble_binary,
                                       profiles=pebble_profiles)
            directory_url = self.pebble.directory_url
            if directory_without:
                self.directory_filter = peers.DirectoryFilter(self.pebble, directory_without)
                directory_url = self.directory_filter.directory_url
            acme_keys = {
                "directory": directory_url,
                "ca_bundle": self.pebble.tls_ca_bundle,
                "state_dir": os.path.join(self.dir, "acme-state"),
                "agree_terms": True,
                "email": "ops@example.test",
                "check_cnames": cnames is not None,
            }
            acme_keys.update(acme or {})
            extra = ""
            for c in certificates:
                c = dict(c)
                name = c.pop("name")
                domains = c.pop("domains")
                out = os.path.join(self.dir, "out", name)
                self.certificates[name] = (os.path.join(out, "fullchain.pem"),
                                           os.path.join(out, "privkey.pem"))
                extra += certificate_toml(name, domains, *self.certificates[name], **c)
            sections = {"acme": acme_keys}
            if api:
                sections["api"] = dict(api)
            os.makedirs(os.path.join(self.dir, "acme-dnsd"))
            self.server = harness.Server(sections=sections, workdir=os.path.join(self.dir, "acme-dnsd"),
                                         domain=ZONE, start=False, extra_toml=extra)
            dns_for_pebble = f"127.0.0.1:{self.server.dns_port}"
            if cnames is not None:
                self.nsd = peers.Nsd(os.path.join(self.dir, "nsd"), {PARENT: self.parent_zone(cnames)})
                self.unbound = peers.Unbound(
                    os.path.join(self.dir, "unbound"),
                    stubs={PARENT: self.nsd.addr, ZONE: f"127.0.0.1@{self.server.dns_port}"},
                    cache_max_ttl=1, cache_max_negative_ttl=1)
                dns_for_pebble = self.unbound.hostport
                self.rewrite_config(resolver=self.unbound.hostport)
            self.pebble.dns_server = dns_for_pebble
            self.pebble.start()
            if start_server:
                if wait_health:
                    self.server.start()
                else:
                    self.server.process = harness.Process(
                        [harness.BIN, "-c", self.server.config_path],
                        os.path.join(self.server.dir, "server.log"))
        except BaseException:
            self.close(failed=True)
            raise

    @staticmethod
    def parent_zone(cnames, serial=1):
        records = ["auth IN NS ns1.auth", "ns1.auth IN A 127.0.0.1"]
        for name, target in sorted(cnames.items()):
            records.append(f"{name.rstrip('.')}. IN CNAME {target.rstrip('.')}.")
        return peers.zone_text(PARENT, records, serial=serial)

    def rewrite_config(self, **acme_keys):
        """Adds [acme] keys to the written config (before the server starts)."""
        with open(self.server.config_path) as f:
            text = f.read()
        lines = "".join(f"{k} = {toml(v)}\n" for k, v in acme_keys.items())
        text = text.replace("[acme]\n", "[acme]\n" + lines, 1)
        with open(self.server.config_path, "w") as f:
            f.write(text)

    def start_dns_only(self):
        """Starts acme-dnsd without the [[certificate]] tables, so it serves DNS for the
        CLI's orders but orders nothing itself; the file keeps them for the CLI (a
        restart of the server then takes them up)."""
        with open(self.server.config_path) as f:
            full = f.read()
        with open(self.server.config_path, "w") as f:
            f.write(full.partition("[[certificate]]")[0])
        try:
            self.server.start()
        finally:
            with open(self.server.config_path, "w") as f:
                f.write(full)

    # ---- the CLI ----
    def cli(self, *args, timeout=180):
        return subprocess.run([harness.BIN, "-c", self.server.config_path, *args],
                              capture_output=True, text=True, timeout=timeout)

    # ---- checks ----
    def replace_in_config(self, old, new):
        with open(self.server.config_path) as f:
            text = f.read()
        assert old in text, old
        with open(self.server.config_path, "w") as f:
            f.write(text.replace(old, new))

    def wait_for_certificate(self, name, timeout=90.0, previous=None):
        cert, _ = self.certificates[name]

        def ready():
            if self.server.process is not None and not self.server.process.alive():
                raise AssertionError("acme-dnsd exited:\n" + self.server.process.output()[-5000:])
            if not os.path.exists(cert):
                return False
            with open(cert) as f:
                return f.read() != previous
        harness.wait_until(ready, timeout, interval=0.2, what=f"certificate {name}")
        with open(cert) as f:
            return f.read()

    def verify_chain(self, name, root_index=0):
        """openssl verify of the leaf against Pebble's root, intermediates from the file."""
        cert, _ = self.certificates[name]
        return verify_chain_file(self.pebble, cert, os.path.join(self.dir, f"{name}-parts"), root_index)

    def log(self):
        return self.server.process.output() if self.server.process else ""

    def close(self, failed=False):
        for peer in (self.server, self.directory_filter, self.pebble, self.unbound, self.nsd):
            if peer is None:
                continue
            try:
                if failed and peer is self.server and self.server.process is not None:
                    sys.stderr.write("---- acme-dnsd log ----\n" + self.server.process.output()[-20000:] + "\n")
                if failed and peer is self.pebble and self.pebble.alive():
                    sys.stderr.write("---- pebble log ----\n" + self.pebble.output()[-8000:] + "\n")
                peer.stop()
            except Exception as e:  # noqa: BLE001 - stop the others anyway
                sys.stderr.write(f"stopping {peer}: {e}\n")
        if os.environ.get("ACMEDNSD_KEEP_TMP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(failed=exc[0] is not None)


def split_pem(text):
    blocks, current = [], []
    for line in text.splitlines():
        current.append(line)
        if line.startswith("-----END"):
            blocks.append("\n".join(current) + "\n")
            current = []
    return blocks


def verify_chain_file(pebble, cert_path, work_dir, root_index=0):
    os.makedirs(work_dir, exist_ok=True)
    with open(cert_path) as f:
        blocks = split_pem(f.read())
    assert len(blocks) >= 2, f"expected leaf + intermediate, got {len(blocks)} certificates"
    leaf = os.path.join(work_dir, "leaf.pem")
    rest = os.path.join(work_dir, "intermediates.pem")
    with open(leaf, "w") as f:
        f.write(blocks[0])
    with open(rest, "w") as f:
        f.write("".join(blocks[1:]))
    root = os.path.join(work_dir, f"root{root_index}.pem")
    with open(root, "w") as f:
        f.write(pebble.root_pem(root_index))
    r = subprocess.run(["openssl", "verify", "-CAfile", root, "-untrusted", rest, leaf],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and ": OK" in r.stdout, (r.stdout, r.stderr)
    return leaf


def san_names(cert_path):
    r = subprocess.run(["openssl", "x509", "-in", cert_path, "-noout", "-ext", "subjectAltName"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return sorted(part.strip()[4:] for part in r.stdout.split("\n", 1)[1].split(",")
                  if part.strip().startswith("DNS:"))


def mode_of(path):
    return os.stat(path).st_mode & 0o777


def new_subdomain():
    return str(uuid.uuid4())


def account_url(s):
    """The ACME account URL the client stored under the setup's state_dir."""
    for root, _, files in os.walk(os.path.join(s.dir, "acme-state", "accounts")):
        if "account.json" in files:
            with open(os.path.join(root, "account.json")) as f:
                return json.load(f)["url"]
    raise AssertionError("no account.json")


def presented(out, name, counters=False):
    """{challenge type: count} of the last "challenges presented" line for certificate
    `name`; with counters=True also persist_records_written and already_valid."""
    lines = [l for l in out.splitlines() if "challenges presented" in l and f"certificate={name}" in l]
    assert lines, out[-3000:]
    fields = r"dns-(?:[a-z]+-)?01" + (r"|persist_records_written|already_valid" if counters else "")
    return {k: int(v) for k, v in re.findall(rf"\b({fields})=\"?(\d+)", lines[-1])}
