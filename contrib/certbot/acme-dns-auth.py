#!/usr/bin/env python3
"""certbot --manual-auth-hook for acme-dns compatible servers (acme-dnsd, acme-dns).

It speaks the acme-dns API the way the widely used acme-dns certbot hook does:
- one account per base domain (the certificate name without a leading "*."), registered
  with `POST /register` (no Content-Type; a JSON body only when ALLOW_FROM is set),
  exactly 201 expected; the register answer is kept in a JSON storage file;
- then `POST /update` with X-Api-User / X-Api-Key and {"subdomain", "txt"}, exactly
  200 expected.
On the first registration of a domain it prints the CNAME the operator must create:
    _acme-challenge.<domain>. CNAME <fulldomain>.

Settings (environment):
    ACMEDNS_URL            API base URL (default http://127.0.0.1:8053)
    ACMEDNS_STORAGE_PATH   credential file (default /etc/letsencrypt/acmedns.json)
    ACMEDNS_ALLOW_FROM     comma-separated CIDRs sent as allowfrom at registration
    ACMEDNS_FORCE_REGISTER "1"/"true" to register again even when stored
    ACMEDNS_CA_BUNDLE      CA file for an https API (default: system trust store)
    ACMEDNS_TIMEOUT        HTTP timeout in seconds (default 30)
    ACMEDNS_PROPAGATION_SERVERS
                           comma-separated DNS servers ("192.0.2.10", "ns2.example:53",
                           "[2001:db8::10]:53") that must serve the new value before the
                           hook returns, e.g. the secondaries of a hidden acme-dnsd
                           primary: certbot tells the CA to validate as soon as the hook
                           exits, and a CA that asks a secondary before its transfer
                           fails the challenge. Default: none (return after /update).
    ACMEDNS_PROPAGATION_TIMEOUT
                           seconds to wait for them (default 120); then the hook fails

Usage:
    certbot certonly --manual --preferred-challenges dns \\
        --manual-auth-hook /path/to/acme-dns-auth.py -d example.org -d '*.example.org'
    acme-dns-auth.py register example.org [more.example.org ...]
        registers ahead of time (if not stored yet) and prints the CNAMEs to create, so
        the very first certbot run can already validate without pausing.

Python 3 standard library only.
"""
import http.client
import json
import os
import secrets
import socket
import ssl
import struct
import sys
import tempfile
import time
import urllib.parse


def _env_bool(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


URL = os.environ.get("ACMEDNS_URL", "http://127.0.0.1:8053").rstrip("/")
STORAGE_PATH = os.environ.get("ACMEDNS_STORAGE_PATH", "/etc/letsencrypt/acmedns.json")
ALLOW_FROM = [c.strip() for c in os.environ.get("ACMEDNS_ALLOW_FROM", "").split(",") if c.strip()]
FORCE_REGISTER = _env_bool("ACMEDNS_FORCE_REGISTER")
CA_BUNDLE = os.environ.get("ACMEDNS_CA_BUNDLE") or None
TIMEOUT = float(os.environ.get("ACMEDNS_TIMEOUT", "30"))
PROPAGATION_SERVERS = [s.strip() for s in os.environ.get("ACMEDNS_PROPAGATION_SERVERS", "").split(",")
                       if s.strip()]
PROPAGATION_TIMEOUT = float(os.environ.get("ACMEDNS_PROPAGATION_TIMEOUT", "120"))


class HookError(Exception):
    pass


def base_domain(name):
    """Names and their wildcard share one account, as in the acme-dns certbot hook."""
    name = name.strip().rstrip(".")
    return name[2:] if name.startswith("*.") else name


def _request(method, path, body=None, headers=None):
    """One HTTP request with exactly the headers given (http.client adds no
    Content-Type on its own). Returns (status, body bytes)."""
    u = urllib.parse.urlsplit(URL)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=CA_BUNDLE)
        conn = http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=TIMEOUT, context=ctx)
    elif u.scheme == "http":
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=TIMEOUT)
    else:
        raise HookError(f"ACMEDNS_URL must be http:// or https://, got {URL!r}")
    try:
        conn.request(method, u.path.rstrip("/") + path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    except OSError as e:
        raise HookError(f"{method} {URL}{path}: {e}") from e
    finally:
        conn.close()


def _server_address(text):
    """ "host", "host:port", "[v6]:port" or a bare IPv6 address -> (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 53
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, 53


def _skip_name(msg, pos):
    while True:
        length = msg[pos]
        if length >= 0xC0:
            return pos + 2
        if length == 0:
            return pos + 1
        pos += 1 + length


def _txt_values(msg, qid):
    """The TXT strings of the answer section (joined per record), or None if the
    message is not a usable answer to query `qid`."""
    ident, flags, qdcount, ancount = struct.unpack("!HHHH", msg[:8])
    if ident != qid or not flags & 0x8000:
        return None
    pos = 12
    for _ in range(qdcount):
        pos = _skip_name(msg, pos) + 4
    values = []
    for _ in range(ancount):
        pos = _skip_name(msg, pos)
        rtype, _, _, rdlength = struct.unpack("!HHIH", msg[pos:pos + 10])
        pos += 10
        if rtype == 16:
            rdata, strings, i = msg[pos:pos + rdlength], [], 0
            while i < len(rdata):
                strings.append(rdata[i + 1:i + 1 + rdata[i]])
                i += 1 + rdata[i]
            values.append(b"".join(strings).decode(errors="replace"))
        pos += rdlength
    return values


def _query_txt(server, name):
    """TXT values of `name` at one server: UDP, and TCP when the answer is truncated."""
    host, port = _server_address(server)
    qid = secrets.randbelow(65536)
    qname = b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split(".")) + b"\0"
    query = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 16, 1)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0)
        s.sendto(query, (host, port))
        answer = s.recv(65535)
    if len(answer) > 2 and answer[2] & 0x02:  # TC
        with socket.create_connection((host, port), timeout=5.0) as s:
            s.sendall(struct.pack("!H", len(query)) + query)
            data = b""
            while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
                chunk = s.recv(65535)
                if not chunk:
                    break
                data += chunk
            answer = data[2:]
    return _txt_values(answer, qid) or []


def wait_for_propagation(fulldomain, value):
    """Returns once every ACMEDNS_PROPAGATION_SERVERS answers `value` for `fulldomain`."""
    deadline = time.monotonic() + PROPAGATION_TIMEOUT
    for server in PROPAGATION_SERVERS:
        while True:
            try:
                if value in _query_txt(server, fulldomain):
                    break
                problem = "the value is not served yet"
            except (OSError, ValueError, struct.error, IndexError) as e:
                problem = str(e)
            if time.monotonic() >= deadline:
                raise HookError(f"{server} does not serve the new TXT value of {fulldomain} after "
                                f"{PROPAGATION_TIMEOUT:g} s ({problem})")
            time.sleep(0.2)


def load_storage():
    try:
        with open(STORAGE_PATH) as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise HookError(f"cannot read {STORAGE_PATH}: {e}") from e
    if not isinstance(data, dict):
        raise HookError(f"{STORAGE_PATH}: expected a JSON object")
    return data


def save_storage(data):
    """Atomic replace, readable by its owner only: the file holds API keys."""
    folder = os.path.dirname(os.path.abspath(STORAGE_PATH))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".acmedns-", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, STORAGE_PATH)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def register():
    body = json.dumps({"allowfrom": ALLOW_FROM}) if ALLOW_FROM else None
    status, data = _request("POST", "/register", body=body)
    if status != 201:
        raise HookError(f"registration failed: HTTP {status}: {data.decode(errors='replace')}")
    try:
        account = json.loads(data)
    except ValueError as e:
        raise HookError(f"registration answer is not JSON: {data!r}") from e
    for key in ("username", "password", "fulldomain", "subdomain"):
        if not isinstance(account.get(key), str) or not account[key]:
            raise HookError(f"registration answer lacks {key!r}: {data!r}")
    return account


def update(account, value):
    headers = {"X-Api-User": account["username"], "X-Api-Key": account["password"],
               "Content-Type": "application/json"}
    body = json.dumps({"subdomain": account["subdomain"], "txt": value})
    status, data = _request("POST", "/update", body=body, headers=headers)
    if status != 200:
        raise HookError(f"TXT update failed: HTTP {status}: {data.decode(errors='replace')}")


def cname_line(domain, account):
    return f"_acme-challenge.{domain}. CNAME {account['fulldomain'].rstrip('.')}."


def ensure_account(domain, storage):
    """Returns (account, newly_registered); stores a new registration at once."""
    if domain in storage and not FORCE_REGISTER:
        return storage[domain], False
    account = register()
    storage[domain] = account
    save_storage(storage)
    return account, True


def announce(domain, account):
    sys.stdout.write("Please add the following CNAME record to your main DNS zone:\n"
                     f"{cname_line(domain, account)}\n")
    sys.stdout.flush()


def auth_hook():
    domain = base_domain(os.environ.get("CERTBOT_DOMAIN", ""))
    value = os.environ.get("CERTBOT_VALIDATION", "")
    if not domain or not value:
        raise HookError("CERTBOT_DOMAIN and CERTBOT_VALIDATION must be set (run by certbot)")
    storage = load_storage()
    account, new = ensure_account(domain, storage)
    if new:
        announce(domain, account)
    update(account, value)
    wait_for_propagation(account["fulldomain"], value)


def register_cli(domains):
    storage = load_storage()
    for name in domains:
        domain = base_domain(name)
        account, _ = ensure_account(domain, storage)
        announce(domain, account)


def main(argv):
    try:
        if len(argv) >= 2 and argv[1] == "register":
            if len(argv) < 3:
                raise HookError("usage: acme-dns-auth.py register DOMAIN [DOMAIN ...]")
            register_cli(argv[2:])
        elif len(argv) == 1:
            auth_hook()
        else:
            raise HookError("usage: acme-dns-auth.py [register DOMAIN ...] (see the file header)")
    except HookError as e:
        sys.stderr.write(f"acme-dns-auth: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
