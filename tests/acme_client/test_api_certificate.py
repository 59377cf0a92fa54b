"""[api] tls = "acme": acme-dnsd starts without a certificate, answers DNS (which Pebble
needs to validate), obtains a certificate for general.domain from Pebble with its own
client, and serves it on the API without a restart."""
import os
import socket
import ssl
import subprocess

import harness
from acme_e2e import ZONE, AcmeSetup, san_names, verify_chain_file


def served_certificate(port, root, timeout=3.0):
    """The API's certificate as DER, verified against Pebble's root for ZONE."""
    context = ssl.create_default_context(cafile=root)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=ZONE) as tls:
            return tls.getpeercert(binary_form=True)


def test_api_serves_its_own_acme_certificate_without_restart():
    cache = None
    with AcmeSetup(api={"tls": "acme"}, start_server=False) as s:
        cache = os.path.join(s.dir, "api-certs")
        s.server.config["api"]["acme_cache_dir"] = cache
        with open(s.server.config_path) as f:
            text = f.read()
        text = text.replace('tls = "acme"\n', f'tls = "acme"\nacme_cache_dir = "{cache}"\n', 1)
        with open(s.server.config_path, "w") as f:
            f.write(text)
        s.server.process = harness.Process([harness.BIN, "-c", s.server.config_path],
                                           os.path.join(s.server.dir, "server.log"))
        pid = s.server.process.pid
        s.certificates["api"] = (os.path.join(cache, ZONE, "fullchain.pem"),
                                 os.path.join(cache, ZONE, "privkey.pem"))
        # DNS answers while the certificate does not exist yet.
        harness.wait_until(lambda: s.server.dig(ZONE, "SOA").returncode == 0 and
                           "status: NOERROR" in s.server.dig(ZONE, "SOA").stdout, 15,
                           what="DNS up before the certificate")
        s.wait_for_certificate("api", timeout=90)
        s.verify_chain("api")
        assert san_names(s.certificates["api"][0]) == [ZONE]
        root = s.pebble.write_root(os.path.join(s.dir, "root.pem"))

        leaf_pem = open(os.path.join(s.dir, "api-parts", "leaf.pem")).read()
        leaf_der = ssl.PEM_cert_to_DER_cert(leaf_pem)

        def serving_new_certificate():
            try:
                return served_certificate(s.server.api_port, root) == leaf_der
            except (OSError, ssl.SSLError):
                return False
        harness.wait_until(serving_new_certificate, 20, interval=0.3,
                           what="the API serving the ACME certificate over TLS")
        assert s.server.process.alive() and s.server.process.pid == pid


if __name__ == "__main__":
    harness.run_main([test_api_serves_its_own_acme_certificate_without_restart])
