"""The issue-18 parts of bench/acme-issue, against Pebble 2.10 (peers.pebble_unstable()):

- dns-persist-01 for one certificate of N names (half inside our zone, half delegated by
  CNAME to one shared record): the first order, which writes the records, and a repeat
  order, which must write none (checked: the summary line and the stored SOA serial);
- ARI renewal of M one-name certificates (dns-persist-01, so renewals write nothing):
  the CLI issues them, Pebble's management API moves every renewal window to a few
  seconds from now, and the daemon, restarted with the [[certificate]] tables, renews
  all of them inside their windows with `replaces`. Timed from the window's start to
  the last certificate written.
"""
import datetime
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid


def _summary_written(out, name):
    lines = [l for l in out.splitlines() if "challenges presented" in l and f"certificate={name}" in l]
    m = re.search(r"persist_records_written=\"?(\d+)", lines[-1]) if lines else None
    return int(m.group(1)) if m else None


def _stored_serial(db_path):
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'serial'").fetchone()
    return row[0] if row else None


def _rfc3339(unix):
    return datetime.datetime.fromtimestamp(unix, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def run_persist(A, peers, binary, n):
    """One certificate of n names by dns-persist-01: first order and a repeat order."""
    sub = str(uuid.uuid4())
    inside = [f"p{i}.{A.ZONE}" for i in range(n - n // 2)]
    delegated = [f"q{i}.{A.PARENT}" for i in range(n // 2)]
    target = f"_validation-persist.{sub}.{A.ZONE}"
    cnames = {f"_validation-persist.{d}": target for d in delegated}
    certs = [{"name": "persist", "domains": inside + delegated, "challenge_subdomain": sub,
              "challenge": "dns-persist-01"}]
    results = []
    with A.AcmeSetup(certificates=certs, cnames=cnames, start_server=False,
                     pebble_binary=peers.pebble_unstable()) as s:
        s.start_dns_only()
        for label in ("first order", "repeat order"):
            serial_before = _stored_serial(s.server.db_path)
            start = time.monotonic()
            r = s.cli("cert", "issue", "persist", timeout=1800)
            elapsed = time.monotonic() - start
            ok = r.returncode == 0
            written = _summary_written(r.stdout, "persist") if ok else None
            if ok:
                A.verify_chain_file(s.pebble, s.certificates["persist"][0], os.path.join(s.dir, f"verify-{label}"))
            else:
                sys.stderr.write(r.stderr[-2000:])
            unchanged = _stored_serial(s.server.db_path) == serial_before
            if label == "repeat order" and (written != 0 or not unchanged):
                ok = False  # the point of dns-persist-01: a repeat writes nothing
            print(f"{'dns-persist-01 ' + label:28s} names={n:4d}  {elapsed:7.2f} s  records written={written}"
                  f"  zone serial {'unchanged' if unchanged else 'changed'}  {'valid' if ok else 'FAILED'}",
                  flush=True)
            results.append((f"dns-persist-01 {label}", n, elapsed, ok))
    return results


def run_ari(A, peers, binary, m):
    """m one-name certificates renewed by the daemon inside CA-moved ARI windows."""
    certs = [{"name": f"ari{i}", "domains": [f"ari{i}.{A.ZONE}"], "challenge": "dns-persist-01"}
             for i in range(m)]
    with A.AcmeSetup(certificates=certs, start_server=False, pebble_binary=peers.pebble_unstable()) as s:
        s.start_dns_only()
        start = time.monotonic()
        r = s.cli("cert", "issue", timeout=3600)  # all of them, one process
        issued = time.monotonic() - start
        if r.returncode != 0:
            sys.stderr.write(r.stderr[-2000:])
            print(f"{'ARI: initial issuance':28s} certs={m:4d}  FAILED", flush=True)
            return [("ARI initial issuance", m, issued, False)]
        print(f"{'ARI: initial issuance':28s} certs={m:4d}  {issued:7.2f} s  (CLI, dns-persist-01)", flush=True)
        first = {c["name"]: _read(s.certificates[c["name"]][0]) for c in certs}
        window_start = int(time.time()) + 8
        window_end = window_start + 20
        body = json.dumps({"suggestedWindow": {"start": _rfc3339(window_start), "end": _rfc3339(window_end)}})
        for c in certs:
            s.pebble.set_renewal_info(A.split_pem(first[c["name"]])[0], body)
        serial_before = _stored_serial(s.server.db_path)
        s.server.stop()
        s.server.start()  # with the [[certificate]] tables: the daemon asks renewalInfo first
        deadline = time.monotonic() + 900
        pending = {c["name"] for c in certs}
        finished = {}  # name -> unix time the renewed certificate was seen
        while pending and time.monotonic() < deadline:
            for name in [n for n in pending if _read(s.certificates[n][0]) != first[n]]:
                finished[name] = time.time()
                pending.discard(name)
            time.sleep(0.2)
        elapsed = (max(finished.values()) if finished else time.time()) - window_start
        inside = sum(1 for t in finished.values() if t <= window_end)
        # The daemon renews one certificate at a time: the rate is what decides how many
        # fit in a window this short (a real CA's windows last hours to days).
        span = max(finished.values()) - min(finished.values()) if len(finished) > 1 else 0.0
        rate = (len(finished) - 1) / span if span > 0 else 0.0
        replaced = s.pebble.output().count("has been marked as replaced")
        unchanged = _stored_serial(s.server.db_path) == serial_before
        ok = not pending and replaced >= m and unchanged
        print(f"{'ARI renewal (daemon)':28s} certs={m:4d}  {elapsed:7.2f} s from the window's start"
              f" ({window_end - window_start} s window; {inside} done inside it; {rate:.1f} renewals/s)"
              f"  replaces seen by CA={replaced}"
              f"  zone serial {'unchanged' if unchanged else 'changed'}"
              f"  {'all renewed' if not pending else f'{len(pending)} NOT renewed'}", flush=True)
        return [("ARI renewal of certificates", m, elapsed, ok)]
