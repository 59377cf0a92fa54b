"""HTTP API contract (API.md) against the real acme-dnsd binary on free loopback
ports: exact status codes, headers and body bytes, one test per rule, every error
path, and the values served over DNS (dig)."""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, run_main, txt_value  # noqa: E402
import raw_http  # noqa: E402

REG_RE = re.compile(
    r'^\{"username":"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})",'
    r'"password":"([A-Za-z0-9_-]{40})","fulldomain":"([0-9a-f-]{36})\.auth\.example\.test",'
    r'"subdomain":"([0-9a-f-]{36})","allowfrom":(\[.*\])\}$')
FORBIDDEN = b'{"error": "forbidden"}'


def eq(actual, expected, what=""):
    assert actual == expected, f"{what}: expected {expected!r}, got {actual!r}"


def register_raw(srv, body=b"", headers=None):
    r = raw_http.request(srv.api_port, "POST", "/register", body, headers)
    eq(r.status, 201, f"register {r.body!r}")
    eq(r.header("Content-Type"), "application/json")
    m = REG_RE.match(r.body.decode())
    assert m, r.body
    eq(m.group(3), m.group(4), "fulldomain label")
    return json.loads(r.body)


def update_raw(srv, acct, txt, subdomain=None, method="POST", extra_headers=None, port=None):
    headers = {"X-Api-User": acct["username"], "X-Api-Key": acct["password"]}
    headers.update(extra_headers or {})
    body = json.dumps({"subdomain": subdomain or acct["subdomain"], "txt": txt})
    return raw_http.request(port or srv.api_port, method, "/update", body, headers)


def check_error(r, status, code):
    eq(r.status, status, f"status ({r.body!r})")
    eq(r.body, b'{"error": "' + code.encode() + b'"}', "error body")
    eq(r.header("Content-Type"), "application/json", "content type")


def dig_status(srv, name):
    out = srv.dig(name, "TXT").stdout
    m = re.search(r"status: (\w+)", out)
    return m.group(1) if m else out


# ---- /register ----

def test_register_without_content_type_or_body():
    with Server() as srv:
        acct = register_raw(srv)
        eq(acct["allowfrom"], [])
        eq(acct["fulldomain"], acct["subdomain"] + ".auth.example.test")


def test_register_with_form_content_type():
    # Posh-ACME style: a JSON body sent with a form Content-Type.
    with Server() as srv:
        acct = register_raw(srv, b'{"allowfrom": ["192.168.1.0/24", "fd00::/8"]}',
                            {"Content-Type": "application/x-www-form-urlencoded"})
        eq(acct["allowfrom"], ["192.168.1.0/24", "fd00::/8"])


def test_register_json_keys_case_insensitive_unknown_ignored():
    with Server() as srv:
        r = raw_http.request(srv.api_port, "POST", "/register",
                             b'{"AllowFrom": ["[fd00::]/8", "10.1.2.3/8"], "whatever": 1}')
        eq(r.status, 201)
        assert r.body.endswith(b',"allowfrom":["fd00::/8","10.1.2.3/8"]}'), r.body
        acct = register_raw(srv, b"null")
        eq(acct["allowfrom"], [])


def test_register_malformed_json():
    with Server() as srv:
        for body in [b"{", b"[]", b'"x"', b"allowfrom=10.0.0.0/8", b'{"allowfrom": "10.0.0.0/8"}',
                     b'{"allowfrom": [1]}']:
            check_error(raw_http.request(srv.api_port, "POST", "/register", body), 400, "malformed_json_payload")


def test_register_invalid_cidr():
    with Server() as srv:
        for entry in ["10.0.0.1", "10.0.0.0/33", "1.2/24", "fd00::/129", "nope"]:
            body = json.dumps({"allowfrom": [entry]}).encode()
            check_error(raw_http.request(srv.api_port, "POST", "/register", body), 400, "invalid_allowfrom_cidr")


def test_disable_registration_is_404():
    with Server({"api": {"disable_registration": True}}) as srv:
        r = raw_http.request(srv.api_port, "POST", "/register")
        eq(r.status, 404)
        r = raw_http.request(srv.api_port, "GET", "/health")
        eq(r.status, 200)


# ---- /update ----

def test_update_success_exact_bytes_and_dns():
    with Server() as srv:
        acct = register_raw(srv)
        v = txt_value(1)
        r = update_raw(srv, acct, v)
        eq(r.status, 200)
        eq(r.body, b'{"txt": "' + v.encode() + b'"}')
        eq(r.header("Content-Type"), "application/json")
        eq(srv.txt_values(acct["fulldomain"]), [v])


def test_update_user_uuid_any_case():
    with Server() as srv:
        acct = register_raw(srv)
        upper = dict(acct, username=acct["username"].upper())
        eq(update_raw(srv, upper, txt_value(2)).status, 200)
        braced = dict(acct, username="{" + acct["username"] + "}")
        eq(update_raw(srv, braced, txt_value(3)).status, 200)


def test_update_auth_failures_are_forbidden():
    with Server() as srv:
        acct = register_raw(srv)
        other = register_raw(srv)
        v = txt_value(4)
        wrong_key = ("B" if acct["password"][0] == "A" else "A") + acct["password"][1:]
        cases = {
            "not a uuid": dict(acct, username="not-a-uuid"),
            "short key": dict(acct, password=acct["password"][:39]),
            "key with bad char": dict(acct, password=acct["password"][:39] + "+"),
            "unknown user": dict(acct, username="0d6f3c52-3a1b-4c3d-9e5f-1a2b3c4d5e6f"),
            "wrong key": dict(acct, password=wrong_key),
            "other account's key": dict(acct, password=other["password"]),
        }
        for what, creds in cases.items():
            r = update_raw(srv, creds, v)
            eq((r.status, r.body), (401, FORBIDDEN), what)
        r = raw_http.request(srv.api_port, "POST", "/update", json.dumps({"subdomain": acct["subdomain"], "txt": v}))
        eq((r.status, r.body), (401, FORBIDDEN), "no headers")
        eq(srv.txt_values(acct["fulldomain"]), [])


def test_update_wrong_subdomain_and_garbage_body():
    with Server() as srv:
        acct = register_raw(srv)
        other = register_raw(srv)
        r = update_raw(srv, acct, txt_value(5), subdomain=other["subdomain"])
        eq((r.status, r.body), (401, FORBIDDEN))
        headers = {"X-Api-User": acct["username"], "X-Api-Key": acct["password"]}
        r = raw_http.request(srv.api_port, "POST", "/update", b"subdomain=x&txt=y", headers)
        eq((r.status, r.body), (401, FORBIDDEN))


def test_update_bad_txt():
    with Server() as srv:
        acct = register_raw(srv)
        for bad in ["short", txt_value(1)[:42] + "+", txt_value(1) + "A", ""]:
            check_error(update_raw(srv, acct, bad), 400, "bad_txt")


def test_update_json_keys_case_and_no_content_type():
    with Server() as srv:
        acct = register_raw(srv)
        headers = {"x-api-user": acct["username"], "X-API-KEY": acct["password"],
                   "Content-Type": "application/x-www-form-urlencoded"}
        body = json.dumps({"SubDomain": acct["subdomain"], "TXT": txt_value(6), "extra": [1]})
        r = raw_http.request(srv.api_port, "POST", "/update", body, headers)
        eq(r.status, 200)


def test_allowfrom_reject_and_ipv4_mapped_peer():
    # Listening on the IPv4-mapped loopback makes every IPv4 peer arrive as ::ffff:127.0.0.1.
    with Server({"api": {"ip": "::ffff:127.0.0.1"}}) as srv:
        far = register_raw(srv, b'{"allowfrom": ["10.0.0.0/8"]}')
        near = register_raw(srv, b'{"allowfrom": ["127.0.0.0/8"]}')
        v6only = register_raw(srv, b'{"allowfrom": ["::1/128"]}')
        r = update_raw(srv, far, txt_value(7))
        eq((r.status, r.body), (401, FORBIDDEN), "outside allowfrom")
        eq(update_raw(srv, near, txt_value(7)).status, 200, "IPv4 CIDR matches an IPv4-mapped peer")
        eq(update_raw(srv, v6only, txt_value(7)).status, 401, "IPv6 CIDR does not")


def test_use_header_without_trusted_proxies_is_acme_dns_behaviour():
    with Server({"api": {"use_header": True, "header_name": "X-Forwarded-For"}}) as srv:
        acct = register_raw(srv, b'{"allowfrom": ["203.0.113.0/24"]}')
        r = update_raw(srv, acct, txt_value(8))
        eq(r.status, 401, "no header: nothing matches")
        r = update_raw(srv, acct, txt_value(8), extra_headers={"X-Forwarded-For": "203.0.113.9"})
        eq(r.status, 200, "header honoured without proxies (spoofable, as in acme-dns)")
        r = update_raw(srv, acct, txt_value(8), extra_headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
        eq(r.status, 200, "any listed address")
        r = update_raw(srv, acct, txt_value(8), extra_headers={"X-Forwarded-For": "127.0.0.1"})
        eq(r.status, 401)
        warnings = [line for line in srv.process.output().splitlines()
                    if "warn" in line.lower() and "use_header" in line and "trusted_proxies" in line]
        assert warnings, "startup warning about the spoofable header"


def test_use_header_with_trusted_proxies_takes_rightmost_untrusted():
    with Server({"api": {"use_header": True, "header_name": "X-Real-Chain",
                         "trusted_proxies": ["127.0.0.0/8", "10.0.0.0/8"]}}) as srv:
        acct = register_raw(srv, b'{"allowfrom": ["203.0.113.0/24"]}')
        spoofer = register_raw(srv, b'{"allowfrom": ["198.51.100.0/24"]}')
        chain = {"X-Real-Chain": "198.51.100.1, 203.0.113.9, 10.0.0.7"}
        eq(update_raw(srv, acct, txt_value(9), extra_headers=chain).status, 200)
        eq(update_raw(srv, spoofer, txt_value(9), extra_headers=chain).status, 401, "spoofed left-most hop")
        eq(update_raw(srv, acct, txt_value(9)).status, 401, "no header: the peer 127.0.0.1")
    with Server({"api": {"use_header": True, "trusted_proxies": ["192.0.2.0/24"]}}) as srv:
        acct = register_raw(srv, b'{"allowfrom": ["203.0.113.0/24"]}')
        r = update_raw(srv, acct, txt_value(9), extra_headers={"X-Forwarded-For": "203.0.113.9"})
        eq(r.status, 401, "header from an untrusted peer is ignored")


# ---- Routing, limits ----

def test_unknown_path_404_and_wrong_method_405_with_allow():
    with Server() as srv:
        r = raw_http.request(srv.api_port, "GET", "/nope")
        eq((r.status, r.body), (404, b"404 page not found\n"))
        for method, path, allow in [("GET", "/update", "POST, DELETE"), ("GET", "/register", "POST"),
                                    ("POST", "/health", "GET"), ("PUT", "/account", "GET, PATCH, DELETE")]:
            r = raw_http.request(srv.api_port, method, path)
            eq(r.status, 405, f"{method} {path}")
            eq(r.header("Allow"), allow)


def test_health_is_200_empty():
    with Server() as srv:
        r = raw_http.request(srv.api_port, "GET", "/health")
        eq((r.status, r.body, r.header("Content-Length")), (200, b"", "0"))


def test_body_over_limit_is_413():
    with Server({"api": {"max_body_bytes": 1024}}) as srv:
        r = raw_http.request(srv.api_port, "POST", "/register", b"{" + b" " * 2000 + b"}")
        check_error(r, 413, "body_too_large")
        eq(raw_http.request(srv.api_port, "POST", "/register", b"{" + b" " * 500 + b"}").status, 201)


# ---- More than two values ----

def test_three_and_ten_values_served():
    with Server() as srv:
        acct = register_raw(srv)
        values = [txt_value(i) for i in range(10)]
        for v in values[:3]:
            eq(update_raw(srv, acct, v).status, 200)
        eq(srv.txt_values(acct["fulldomain"]), sorted(values[:3]))
        for v in values[3:]:
            eq(update_raw(srv, acct, v).status, 200)
        eq(srv.txt_values(acct["fulldomain"]), sorted(values))
        eq(update_raw(srv, acct, values[0]).status, 200, "re-sending refreshes, no duplicate")
        eq(srv.txt_values(acct["fulldomain"]), sorted(values))


def test_delete_update_removes_value_then_nodata():
    with Server() as srv:
        acct = register_raw(srv)
        a, b = txt_value(1), txt_value(2)
        update_raw(srv, acct, a)
        update_raw(srv, acct, b)
        r = update_raw(srv, acct, a, method="DELETE")
        eq((r.status, r.body), (200, b'{"txt": "' + a.encode() + b'"}'))
        eq(srv.txt_values(acct["fulldomain"]), [b])
        update_raw(srv, acct, b, method="DELETE")
        eq(srv.txt_values(acct["fulldomain"]), [])
        eq(dig_status(srv, acct["fulldomain"]), "NOERROR", "NODATA, the name still exists")
        r = update_raw(srv, dict(acct, password="x" * 40), a, method="DELETE")
        eq((r.status, r.body), (401, FORBIDDEN))


# ---- lego httpreq ----

def basic(acct):
    token = base64.b64encode(f'{acct["username"]}:{acct["password"]}'.encode()).decode()
    return {"Authorization": "Basic " + token}


def test_present_and_cleanup_default_mode():
    with Server() as srv:
        acct = register_raw(srv)
        v = txt_value(11)
        body = json.dumps({"fqdn": "_acme-challenge.example.com.", "value": v})
        r = raw_http.request(srv.api_port, "POST", "/present", body, basic(acct))
        eq((r.status, r.body), (200, b'{"txt": "' + v.encode() + b'"}'))
        eq(srv.txt_values(acct["fulldomain"]), [v])
        r = raw_http.request(srv.api_port, "POST", "/cleanup", body, basic(acct))
        eq(r.status, 200)
        eq(srv.txt_values(acct["fulldomain"]), [])
        r = raw_http.request(srv.api_port, "POST", "/present", body, basic(dict(acct, password="y" * 40)))
        eq((r.status, r.body), (401, FORBIDDEN))
        assert r.header("WWW-Authenticate"), r.headers
        r = raw_http.request(srv.api_port, "POST", "/present", body)
        eq((r.status, r.body), (401, FORBIDDEN))


def test_present_and_cleanup_raw_mode():
    with Server() as srv:
        acct = register_raw(srv)
        key_auth = "token-abc.thumbprint-xyz"
        expected = base64.urlsafe_b64encode(hashlib.sha256(key_auth.encode()).digest()).rstrip(b"=").decode()
        body = json.dumps({"domain": "example.com", "token": "token-abc", "keyAuth": key_auth})
        r = raw_http.request(srv.api_port, "POST", "/present", body, basic(acct))
        eq((r.status, r.body), (200, b'{"txt": "' + expected.encode() + b'"}'))
        eq(srv.txt_values(acct["fulldomain"]), [expected])
        eq(raw_http.request(srv.api_port, "POST", "/cleanup", body, basic(acct)).status, 200)
        eq(srv.txt_values(acct["fulldomain"]), [])
        check_error(raw_http.request(srv.api_port, "POST", "/present", b"nope", basic(acct)), 400,
                    "malformed_json_payload")


# ---- Account management ----

def test_account_get_patch_delete():
    with Server() as srv:
        acct = register_raw(srv, b'{"allowfrom": ["127.0.0.0/8"]}')
        headers = {"X-Api-User": acct["username"], "X-Api-Key": acct["password"]}
        v = txt_value(12)
        update_raw(srv, acct, v)
        r = raw_http.request(srv.api_port, "GET", "/account", b"", headers)
        eq(r.status, 200)
        eq(r.header("Content-Type"), "application/json")
        m = re.match(r'^\{"username":"%s","subdomain":"%s","fulldomain":"%s","allowfrom":\["127\.0\.0\.0/8"\],'
                     r'"txt":\[\{"value":"%s","age_seconds":\d+\}\]\}$'
                     % (acct["username"], acct["subdomain"], re.escape(acct["fulldomain"]), v), r.body.decode())
        assert m, r.body
        assert acct["password"].encode() not in r.body
        check_error(raw_http.request(srv.api_port, "PATCH", "/account", b'{"allowfrom": ["x"]}', headers), 400,
                    "invalid_allowfrom_cidr")
        r = raw_http.request(srv.api_port, "PATCH", "/account", b'{"allowfrom": ["10.0.0.0/8"]}', headers)
        eq(r.status, 200)
        assert b'"allowfrom":["10.0.0.0/8"]' in r.body, r.body
        check_error(raw_http.request(srv.api_port, "GET", "/account", b"", headers), 401, "forbidden")

    with Server() as srv:
        acct = register_raw(srv)
        headers = {"X-Api-User": acct["username"], "X-Api-Key": acct["password"]}
        update_raw(srv, acct, txt_value(13))
        r = raw_http.request(srv.api_port, "DELETE", "/account", b"", headers)
        eq((r.status, r.body), (204, b""))
        eq(dig_status(srv, acct["fulldomain"]), "NXDOMAIN")
        check_error(raw_http.request(srv.api_port, "GET", "/account", b"", headers), 401, "forbidden")


def test_rotate_key():
    with Server() as srv:
        acct = register_raw(srv)
        headers = {"X-Api-User": acct["username"], "X-Api-Key": acct["password"]}
        r = raw_http.request(srv.api_port, "POST", "/account/rotate-key", b"", headers)
        eq(r.status, 200)
        m = REG_RE.match(r.body.decode())
        assert m, r.body
        eq(m.group(1), acct["username"])
        new_key = m.group(2)
        assert new_key != acct["password"]
        eq(update_raw(srv, acct, txt_value(14)).status, 401, "old key stops at once")
        eq(update_raw(srv, dict(acct, password=new_key), txt_value(14)).status, 200)


# ---- Operations ----

def test_ready_and_metrics():
    with Server() as srv:
        acct = register_raw(srv)
        update_raw(srv, acct, txt_value(15))
        update_raw(srv, dict(acct, password="z" * 40), txt_value(15))
        r = raw_http.request(srv.api_port, "GET", "/ready")
        eq((r.status, r.body), (200, b'{"status": "ready"}'))
        r = raw_http.request(srv.api_port, "GET", "/metrics")
        eq(r.status, 200)
        text = r.body.decode()
        for line in ['acmednsd_http_requests_total{route="update",status="200"} 1',
                     'acmednsd_http_requests_total{route="update",status="401"} 1',
                     'acmednsd_http_requests_total{route="register",status="201"} 1',
                     'acmednsd_http_auth_failures_total{reason="wrong_key"} 1',
                     'acmednsd_txt_updates_total{op="add"} 1',
                     'acmednsd_accounts 1', 'acmednsd_txt_values 1']:
            assert line + "\n" in text, (line, text)
        assert "acmednsd_http_request_duration_seconds_bucket{le=\"+Inf\"}" in text


def test_metrics_on_own_listener():
    port = harness.free_port(both=False)
    with Server({"api": {"metrics_listen": f"127.0.0.1:{port}"}}) as srv:
        eq(raw_http.request(srv.api_port, "GET", "/metrics").status, 404)
        r = raw_http.request(port, "GET", "/metrics")
        eq(r.status, 200)
        assert b"acmednsd_http_requests_total" in r.body


def test_cors_preflight_and_simple_request():
    with Server({"api": {"corsorigins": ["https://ui.example.test"]}}) as srv:
        r = raw_http.request(srv.api_port, "OPTIONS", "/update", b"", {
            "Origin": "https://ui.example.test", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-user, x-api-key, content-type"})
        eq(r.status, 204)
        eq(r.header("Access-Control-Allow-Origin"), "https://ui.example.test")
        eq(r.header("Access-Control-Allow-Methods"), "POST, DELETE")
        allowed = [h.strip().lower() for h in r.header("Access-Control-Allow-Headers").split(",")]
        for h in ("x-api-user", "x-api-key", "content-type"):
            assert h in allowed, allowed
        r = raw_http.request(srv.api_port, "OPTIONS", "/update", b"", {
            "Origin": "https://evil.test", "Access-Control-Request-Method": "POST"})
        eq(r.header("Access-Control-Allow-Origin"), None)
        r = raw_http.request(srv.api_port, "POST", "/register", b"", {"Origin": "https://ui.example.test"})
        eq(r.status, 201)
        eq(r.header("Access-Control-Allow-Origin"), "https://ui.example.test")


# ---- Policies: registration and authentication failures ----

def test_registration_token_and_rate_policy():
    with Server({"api": {"registration": "token", "registration_tokens": ["tok-1", "tok-2"],
                         "registration_rate_per_minute": 2, "registration_rate_exempt": []}}) as srv:
        check_error(raw_http.request(srv.api_port, "POST", "/register"), 401, "forbidden")
        check_error(raw_http.request(srv.api_port, "POST", "/register", b"", {"Authorization": "Bearer nope"}),
                    401, "forbidden")
        for _ in range(2):
            register_raw(srv, b"", {"Authorization": "Bearer tok-2"})
        r = raw_http.request(srv.api_port, "POST", "/register", b"", {"Authorization": "Bearer tok-1"})
        check_error(r, 429, "too_many_requests")
        assert int(r.header("Retry-After")) >= 1, r.headers


def test_registration_source_networks():
    with Server({"api": {"registration_allowfrom": ["10.0.0.0/8"]}}) as srv:
        check_error(raw_http.request(srv.api_port, "POST", "/register"), 403, "forbidden")
    with Server({"api": {"registration_allowfrom": ["127.0.0.0/8"]}}) as srv:
        register_raw(srv)


def test_auth_failures_per_minute_gives_429():
    with Server({"api": {"auth_failures_per_minute": 3}}) as srv:
        acct = register_raw(srv)
        for _ in range(3):
            r = update_raw(srv, dict(acct, password="w" * 40), txt_value(17))
            eq((r.status, r.body), (401, FORBIDDEN))
        r = update_raw(srv, acct, txt_value(17))
        check_error(r, 429, "too_many_requests")
        assert r.header("Retry-After"), r.headers
        eq(srv.txt_values(acct["fulldomain"]), [])


# ---- The acme-dns README flow, through curl ----

def curl(*args):
    out = subprocess.run(["curl", "-s", "-S", "--max-time", "10", "-w", "\n%{http_code}", *args],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    body, _, code = out.stdout.rpartition("\n")
    return int(code), body


def test_readme_flow_with_curl():
    with Server() as srv:
        base = f"http://127.0.0.1:{srv.api_port}"
        code, body = curl("-X", "POST", base + "/register")
        eq(code, 201)
        acct = json.loads(body)
        code, body = curl("-X", "POST", base + "/register", "-d", '{"allowfrom": ["127.0.0.0/8"]}')
        eq(code, 201)
        eq(json.loads(body)["allowfrom"], ["127.0.0.0/8"])
        v = txt_value(16)
        code, body = curl("-X", "POST", "-H", f"X-Api-User: {acct['username']}",
                          "-H", f"X-Api-Key: {acct['password']}",
                          "-d", json.dumps({"subdomain": acct["subdomain"], "txt": v}), base + "/update")
        eq((code, body), (200, '{"txt": "%s"}' % v))
        eq(srv.txt_values(acct["fulldomain"]), [v])


if __name__ == "__main__":
    run_main([
        test_register_without_content_type_or_body,
        test_register_with_form_content_type,
        test_register_json_keys_case_insensitive_unknown_ignored,
        test_register_malformed_json,
        test_register_invalid_cidr,
        test_disable_registration_is_404,
        test_update_success_exact_bytes_and_dns,
        test_update_user_uuid_any_case,
        test_update_auth_failures_are_forbidden,
        test_update_wrong_subdomain_and_garbage_body,
        test_update_bad_txt,
        test_update_json_keys_case_and_no_content_type,
        test_allowfrom_reject_and_ipv4_mapped_peer,
        test_use_header_without_trusted_proxies_is_acme_dns_behaviour,
        test_use_header_with_trusted_proxies_takes_rightmost_untrusted,
        test_unknown_path_404_and_wrong_method_405_with_allow,
        test_health_is_200_empty,
        test_body_over_limit_is_413,
        test_three_and_ten_values_served,
        test_delete_update_removes_value_then_nodata,
        test_present_and_cleanup_default_mode,
        test_present_and_cleanup_raw_mode,
        test_account_get_patch_delete,
        test_rotate_key,
        test_ready_and_metrics,
        test_metrics_on_own_listener,
        test_cors_preflight_and_simple_request,
        test_registration_token_and_rate_policy,
        test_registration_source_networks,
        test_auth_failures_per_minute_gives_429,
        test_readme_flow_with_curl,
    ])
