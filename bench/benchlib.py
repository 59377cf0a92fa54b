"""Pieces the benchmarks share: bulk-built databases, the /update load driver, dnsperf.

Not a test library: the benchmarks print numbers, they assert nothing.
"""
import hashlib
import os
import re
import sqlite3
import subprocess
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))


def api_key(i):
    """A valid 40-character API key (base64url alphabet), distinct per i."""
    return f"k{i:039d}"


def build_db(path, accounts, bin_path, sample_every=0):
    """Creates acme-dnsd's schema with the binary, then bulk-inserts `accounts` accounts,
    each with one live TXT value and a key hashed as /register stores it. Returns every
    `sample_every`-th account as (username, key, subdomain) (none when 0)."""
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "c.toml")
        with open(cfg, "w") as f:
            f.write(f'[general]\ndomain = "auth.example.test"\n[database]\nconnection = "{path}"\n')
        subprocess.run([bin_path, "-c", cfg, "accounts", "list"], check=True, capture_output=True, timeout=120)
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous = OFF")
    now = int(time.time())
    sample = []
    batch_a, batch_v = [], []
    for i in range(accounts):
        sub = str(uuid.UUID(int=(i * 2654435761) % (1 << 122) | (4 << 76), version=4))
        user = str(uuid.UUID(int=(i * 40503 + 7) % (1 << 122) | (5 << 76), version=4))
        key = api_key(i)
        salt = hashlib.md5(str(i).encode()).hexdigest()  # 16 bytes of hex, like /register's
        digest = hashlib.sha256(f"{salt}${key}".encode()).hexdigest()
        batch_a.append((user, f"s256${salt}${digest}", sub, "[]", 0, now))
        batch_v.append((sub, (f"v{i:010d}" + "A" * 43)[:43], now * 1000))
        if sample_every and i % sample_every == 0:
            sample.append((user, key, sub))
        if len(batch_a) >= 50000:
            db.executemany("INSERT INTO accounts VALUES(?,?,?,?,?,?)", batch_a)
            db.executemany("INSERT INTO txt_values VALUES(?,?,?)", batch_v)
            batch_a, batch_v = [], []
    db.executemany("INSERT INTO accounts VALUES(?,?,?,?,?,?)", batch_a)
    db.executemany("INSERT INTO txt_values VALUES(?,?,?)", batch_v)
    db.commit()
    db.close()
    return sample


def build_update_driver(build_dir):
    """Compiles the Asio /update load driver next to the build (when its source changed)."""
    src = os.path.join(HERE, "api-update-driver.cpp")
    out_dir = os.path.join(build_dir, "bench")
    os.makedirs(out_dir, exist_ok=True)
    exe = os.path.join(out_dir, "api-update-driver")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        subprocess.run(["g++", "-std=c++20", "-O2", "-DBOOST_ASIO_NO_DEPRECATED", src, "-o", exe, "-pthread"],
                       check=True, timeout=600)
    return exe


def run_dnsperf(port, queryfile, seconds, result, clients=8):
    """dnsperf over UDP for `seconds`; fills result: qps, lost (and raw when unparsed)."""
    out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queryfile, "-l", str(seconds),
                          "-c", str(clients), "-q", "200", "-t", "2"],
                         capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"Queries per second:\s+([\d.]+)", out.stdout)
    lost = re.search(r"Queries lost:\s+(\d+)", out.stdout)
    result["qps"] = float(m.group(1)) if m else None
    result["lost"] = int(lost.group(1)) if lost else None
    if not m:
        result["raw"] = out.stdout + out.stderr


def run_update_driver(exe, port, seconds, connections, accounts_file, result, rate=0, nice=0):
    """The /update driver (paced at `rate` updates/s when > 0, at `nice` when > 0); fills
    result: text (its summary line), fields (parsed), stderr."""
    argv = [exe, "127.0.0.1", str(port), str(seconds), str(connections), accounts_file, str(rate)]
    if nice:
        argv = ["nice", "-n", str(nice)] + argv
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    result["text"] = out.stdout.strip()
    result["stderr"] = out.stderr.strip()[-2000:]
    result["fields"] = dict(kv.split("=", 1) for kv in out.stdout.split())
