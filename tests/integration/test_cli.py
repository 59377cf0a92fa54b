"""The command line: --version, --help, --check-config exit codes and messages, the
accounts commands, import-acme-dns, and a running server picking up CLI changes."""
import ctypes
import ctypes.util
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import time

import harness

BIN = harness.BIN
SRC = harness.SOURCE_DIR
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def run(*args, cwd=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def write(dir_, name, text):
    path = os.path.join(dir_, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_version_and_help():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("acme-dnsd "), r
    r = run("--help")
    assert r.returncode == 0 and "--check-config" in r.stdout and "import-acme-dns" in r.stdout
    for sub in (["accounts", "--help"], ["import-acme-dns", "--help"], ["serve", "--help"]):
        r = run("-c", os.path.join(SRC, "config.toml.example"), *sub)
        assert r.returncode == 0 and "usage:" in r.stdout, (sub, r)
    r = run("--bogus")
    assert r.returncode == 2 and "unknown option --bogus" in r.stderr


def test_check_config_accepts_example_and_acme_dns_config():
    r = run("-c", os.path.join(SRC, "config.toml.example"), "--check-config")
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout
    r = run("-c", os.path.join(SRC, "tests/data/acme-dns-config.cfg"), "--check-config")
    assert r.returncode == 0, r.stderr
    assert "api_domain" in r.stderr  # the legacy key is named in a warning


def test_check_config_errors_name_key_line_and_exit_2():
    with tempfile.TemporaryDirectory() as d:
        cases = {
            'unknown key': ('[general]\ndomain = "a.test"\nlisten_addr = ":53"\n',
                            "bad.toml:3: [general] listen_addr: unknown key"),
            'bad address': ('[general]\ndomain = "a.test"\nlisten = "300.1.1.1:53"\n',
                            'bad.toml:3: [general] listen: "300.1.1.1:53" is not host:port'),
            'wrong type': ('[general]\ndomain = "a.test"\n[api]\nport = true\n',
                           "bad.toml:4: [api] port: true is not a whole number"),
            'bad record': ('[general]\ndomain = "a.test"\nrecords = ["a.test. A not-an-address"]\n',
                           "not-an-address"),
        }
        for name, (text, expected) in cases.items():
            path = write(d, "bad.toml", text)
            r = run("-c", path, "--check-config")
            assert r.returncode == 2, (name, r)
            assert expected in r.stderr, (name, r.stderr)
        r = run("-c", os.path.join(d, "missing.toml"), "--check-config")
        assert r.returncode == 2 and "cannot be read" in r.stderr


def config_for(d, port_dns=None, port_api=None):
    return write(d, "c.toml", f"""[general]
listen = "127.0.0.1:{port_dns or harness.free_port()}"
domain = "auth.example.test"
[database]
connection = "{d}/db/acme.db"
[api]
port = {port_api or harness.free_port(both=False)}
""")


def test_accounts_add_list_show_remove():
    with tempfile.TemporaryDirectory() as d:
        cfg = config_for(d)
        r = run("-c", cfg, "accounts", "add", "--allowfrom", "192.0.2.0/24", "--cname-for", "www.example.org")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        creds = json.loads(lines[0])
        assert list(creds) == ["username", "password", "fulldomain", "subdomain", "allowfrom"]
        assert UUID.match(creds["username"]) and UUID.match(creds["subdomain"])
        assert re.fullmatch(r"[A-Za-z0-9_-]{40}", creds["password"])
        assert creds["fulldomain"] == creds["subdomain"] + ".auth.example.test"
        assert creds["allowfrom"] == ["192.0.2.0/24"]
        assert lines[0] == ('{"username":"%s","password":"%s","fulldomain":"%s","subdomain":"%s","allowfrom":["192.0.2.0/24"]}'
                            % (creds["username"], creds["password"], creds["fulldomain"], creds["subdomain"]))
        assert lines[1] == f"_acme-challenge.www.example.org. CNAME {creds['fulldomain']}."
        assert oct(os.stat(os.path.join(d, "db/acme.db")).st_mode & 0o777) == "0o600"
        assert oct(os.stat(os.path.join(d, "db")).st_mode & 0o777) == "0o700"

        r = run("-c", cfg, "accounts", "list")
        assert r.returncode == 0 and creds["username"] in r.stdout and creds["password"] not in r.stdout
        r = run("-c", cfg, "accounts", "show", creds["username"].upper())
        shown = json.loads(r.stdout)
        assert shown["subdomain"] == creds["subdomain"] and "password" not in shown
        r = run("-c", cfg, "accounts", "add", "--allowfrom", "192.0.2.1")
        assert r.returncode == 2 and "not a CIDR" in r.stderr
        r = run("-c", cfg, "accounts", "remove", creds["username"])
        assert r.returncode == 0
        r = run("-c", cfg, "accounts", "remove", creds["username"])
        assert r.returncode == 1 and "no account" in r.stderr
        r = run("-c", cfg, "accounts", "show", "nope")
        assert r.returncode == 2


def bcrypt_hash(key):
    """A bcrypt hash ($2b$, cost 10, as acme-dns stores them) from libcrypt (libxcrypt).
    Through ctypes: Python's crypt module is deprecated and gone in 3.13 (trixie)."""
    lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = lib.crypt_gensalt(b"$2b$", 10, None, 0)
    assert salt, "crypt_gensalt failed"
    hashed = lib.crypt(key.encode(), salt)
    assert hashed and hashed.startswith(b"$2b$10$"), hashed
    return hashed.decode()


def make_acme_dns_db(path, accounts):
    """An acme-dns database exactly as acme-dns creates it (BLOB bcrypt passwords)."""
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE IF NOT EXISTS acmedns(Name TEXT, Value TEXT);
        INSERT INTO acmedns(Name, Value) VALUES('db_version', '1');
        CREATE TABLE IF NOT EXISTS records(Username TEXT UNIQUE NOT NULL PRIMARY KEY,
            Password TEXT UNIQUE NOT NULL, Subdomain TEXT UNIQUE NOT NULL, AllowFrom TEXT);
        CREATE TABLE IF NOT EXISTS txt(Subdomain TEXT NOT NULL, Value TEXT NOT NULL DEFAULT '', LastUpdate INT);
    """)
    for user, key, sub, allow, value in accounts:
        hashed = bcrypt_hash(key)
        db.execute("INSERT INTO records VALUES(?, ?, ?, ?)", (user, hashed.encode(), sub, allow))
        db.execute("INSERT INTO txt VALUES(?, ?, ?)", (sub, value, int(time.time())))
        db.execute("INSERT INTO txt VALUES(?, '', 0)", (sub,))
    db.commit()
    db.close()


def test_import_acme_dns_then_old_credentials_work_over_http_and_dns():
    with tempfile.TemporaryDirectory() as d:
        key = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01"
        user = "c36f50e8-4632-44f0-83fe-e070fef28a10"
        sub = "8e5700ea-a4bf-4c35-8a43-ec2a32f8b9d5"
        value = harness.txt_value(1)
        make_acme_dns_db(os.path.join(d, "acme-dns.db"), [
            (user, key, sub, '["127.0.0.0/8"]', value),
            ("a097455b-52cc-4569-90c8-7a4b97c6eba8", "z" * 40, "8f7e4b3f-2a90-4c3b-9d17-7a1ecb1e3f2a", "{bad", ""),
        ])
        server = harness.Server(workdir=d, start=False)
        try:
            r = run("-c", server.config_path, "import-acme-dns", os.path.join(d, "acme-dns.db"))
            assert r.returncode == 0, r.stderr
            assert "imported 2 accounts and 1 TXT values" in r.stdout, r.stdout
            assert "flagged: a097455b" in r.stdout
            server.start()
            assert server.txt_values(f"{sub}.{server.domain}") == [value]
            account = {"username": user, "password": key, "subdomain": sub}
            status, _, body = server.update(account, harness.txt_value(2))
            assert status == 200, body
            assert sorted(server.txt_values(f"{sub}.{server.domain}")) == sorted([value, harness.txt_value(2)])
        finally:
            server.close()
        r = run("-c", os.path.join(d, "config.toml"), "import-acme-dns", os.path.join(d, "nope.db"))
        assert r.returncode == 1 and "nothing was changed" in r.stderr


def test_running_server_sees_accounts_added_by_the_cli():
    server = harness.Server()
    try:
        r = run("-c", server.config_path, "accounts", "add")
        assert r.returncode == 0, r.stderr
        creds = json.loads(r.stdout.splitlines()[0])
        name = f"{creds['subdomain']}.{server.domain}"

        def nodata():
            out = server.dig(name, "TXT").stdout
            return "status: NOERROR" in out
        harness.wait_until(nodata, timeout=5, what="the CLI's account to appear in DNS")
        status, _, body = server.update(creds, harness.txt_value(5))
        assert status == 200, body
        assert server.txt_values(name) == [harness.txt_value(5)]
    finally:
        server.close()


if __name__ == "__main__":
    harness.run_main([
        test_version_and_help,
        test_check_config_accepts_example_and_acme_dns_config,
        test_check_config_errors_name_key_line_and_exit_2,
        test_accounts_add_list_show_remove,
        test_import_acme_dns_then_old_credentials_work_over_http_and_dns,
        test_running_server_sees_accounts_added_by_the_cli,
    ])
