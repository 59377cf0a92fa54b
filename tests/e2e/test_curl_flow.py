"""The register/update flow through `curl`, exactly as the acme-dns README shows it:
    curl -s -X POST http://HOST:PORT/register
    curl -s -X POST -H "X-Api-User: ..." -H "X-Api-Key: ..." \\
         -d '{"subdomain": "...", "txt": "..."}' http://HOST:PORT/update
(curl -d sends Content-Type: application/x-www-form-urlencoded; the server must not care).
The response bytes are checked exactly; then dig sees the value.
"""
import json
import os
import re
import subprocess
import tempfile

import harness

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
README_TXT = "___validation_token_received_from_the_ca___"


def curl(args, headers_file):
    """Runs curl as the README does, plus -D to keep the response headers aside
    (stdout stays the exact body). Returns (status, headers text, body bytes)."""
    r = subprocess.run(["curl", "-s", *args, "-D", headers_file], capture_output=True,
                       timeout=30)
    assert r.returncode == 0, (r.returncode, r.stderr)
    with open(headers_file) as f:
        head = f.read()
    status = int(head.split()[1])
    return status, head.lower(), r.stdout


def register_cmd(srv, body=None):
    args = ["-X", "POST"]
    if body is not None:
        args += ["-d", body]
    return args + [f"http://127.0.0.1:{srv.api_port}/register"]


def update_cmd(srv, user, key, subdomain, txt):
    return ["-X", "POST", "-H", f"X-Api-User: {user}", "-H", f"X-Api-Key: {key}",
            "-d", f'{{"subdomain": "{subdomain}", "txt": "{txt}"}}',
            f"http://127.0.0.1:{srv.api_port}/update"]


def check_register_body(body, domain, allowfrom):
    text = body.decode()
    pattern = ('{"username":"(%s)","password":"([A-Za-z0-9_-]{40})","fulldomain":"(%s)\\.%s",'
               '"subdomain":"(%s)","allowfrom":%s}') % (UUID, UUID, re.escape(domain), UUID,
                                                       re.escape(json.dumps(allowfrom, separators=(",", ":"))))
    m = re.fullmatch(pattern, text)
    assert m, text
    user, key, sub1, sub2 = m.groups()
    assert sub1 == sub2, text
    return {"username": user, "password": key, "subdomain": sub1,
            "fulldomain": f"{sub1}.{domain}"}


def test_readme_flow():
    with harness.Server() as srv, tempfile.TemporaryDirectory() as tmp:
        hdr = os.path.join(tmp, "headers")
        status, head, body = curl(register_cmd(srv), hdr)
        assert status == 201, (status, body)
        assert "content-type: application/json" in head, head
        acct = check_register_body(body, srv.domain, [])

        status, head, body = curl(update_cmd(srv, acct["username"], acct["password"],
                                             acct["subdomain"], README_TXT), hdr)
        assert (status, body) == (200, b'{"txt": "%s"}' % README_TXT.encode()), (status, body)
        assert "content-type: application/json" in head, head
        assert srv.txt_values(acct["fulldomain"]) == [README_TXT]

        # A second value (certbot's name + wildcard): both served.
        second = harness.txt_value(7)
        status, _, body = curl(update_cmd(srv, acct["username"], acct["password"],
                                          acct["subdomain"], second), hdr)
        assert (status, body) == (200, b'{"txt": "%s"}' % second.encode()), (status, body)
        assert srv.txt_values(acct["fulldomain"]) == sorted([README_TXT, second])
        out = srv.dig(acct["fulldomain"], "TXT").stdout
        assert "status: NOERROR" in out and " aa" in out.split("flags:")[1].split(";")[0], out


def test_readme_errors():
    with harness.Server() as srv, tempfile.TemporaryDirectory() as tmp:
        hdr = os.path.join(tmp, "headers")
        _, _, body = curl(register_cmd(srv), hdr)
        acct = check_register_body(body, srv.domain, [])
        u, k, s = acct["username"], acct["password"], acct["subdomain"]
        cases = [
            # wrong key, wrong user, wrong subdomain: all 401 forbidden
            (update_cmd(srv, u, "A" * 40, s, README_TXT), 401, b'{"error": "forbidden"}'),
            (update_cmd(srv, "00000000-0000-4000-8000-000000000000", k, s, README_TXT), 401,
             b'{"error": "forbidden"}'),
            (update_cmd(srv, u, k, "00000000-0000-4000-8000-000000000000", README_TXT), 401,
             b'{"error": "forbidden"}'),
            # a value that is not 43 characters
            (update_cmd(srv, u, k, s, "short"), 400, b'{"error": "bad_txt"}'),
        ]
        for args, want_status, want_body in cases:
            status, head, body = curl(args, hdr)
            assert (status, body) == (want_status, want_body), (args, status, body)
            assert "content-type: application/json" in head, head
        assert srv.txt_values(acct["fulldomain"]) == []


def test_readme_allowfrom():
    with harness.Server() as srv, tempfile.TemporaryDirectory() as tmp:
        hdr = os.path.join(tmp, "headers")
        # Allowed from loopback: works; allowed elsewhere only: forbidden for us.
        status, _, body = curl(register_cmd(srv, '{"allowfrom": ["127.0.0.0/8"]}'), hdr)
        assert status == 201, (status, body)
        ok = check_register_body(body, srv.domain, ["127.0.0.0/8"])
        status, _, body = curl(register_cmd(srv, '{"allowfrom": ["192.168.100.1/24", "1.2.3.4/32"]}'), hdr)
        assert status == 201, (status, body)
        far = check_register_body(body, srv.domain, ["192.168.100.1/24", "1.2.3.4/32"])

        status, _, body = curl(update_cmd(srv, ok["username"], ok["password"], ok["subdomain"],
                                          README_TXT), hdr)
        assert (status, body) == (200, b'{"txt": "%s"}' % README_TXT.encode()), (status, body)
        status, _, body = curl(update_cmd(srv, far["username"], far["password"], far["subdomain"],
                                          README_TXT), hdr)
        assert (status, body) == (401, b'{"error": "forbidden"}'), (status, body)
        assert srv.txt_values(ok["fulldomain"]) == [README_TXT]
        assert srv.txt_values(far["fulldomain"]) == []

        status, _, body = curl(register_cmd(srv, '{"allowfrom": ["1.2.3.4"]}'), hdr)
        assert (status, body) == (400, b'{"error": "invalid_allowfrom_cidr"}'), (status, body)


if __name__ == "__main__":
    harness.run_main([test_readme_flow, test_readme_errors, test_readme_allowfrom])
