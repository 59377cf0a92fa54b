"""Safe by default on a busy, internet-facing host, on the real binary with the default
configuration unless a test says otherwise:
- control_plane_scheduling = "auto": in a shared cgroup it picks a nice level, in a CPU
  cgroup of its own SCHED_IDLE, thread by thread (the latency this buys beside CPU hogs
  is test_busy_host_latency.py, run on the release build).
- Response-rate limiting is on: loopback is exempt, a flood from another prefix is
  slipped/dropped while a resolver elsewhere gets every answer.
- /register has a per-source rate and an account cap; nothing else breaks when they hit.
127.0.0.1 is the operator's host here; other 127/8 addresses stand for internet sources
(their configs exempt only 127.0.0.1/32). CPU hogs are bounded in time and stopped by PID.
"""
import http.client
import json
import math
import os
import socket
import sys
import threading
import time

import harness
from harness import Server, run_main, txt_value

sys.path.insert(0, os.path.join(harness.SOURCE_DIR, "tests", "dns"))
from test_dns_integration import _query_bytes, ask, txts  # noqa: E402
from test_planes import CONTROL_THREADS, DNS_PRIORITY, by_name  # noqa: E402

def chosen_policy(s):
    line = [l for l in s.process.output().splitlines() if "control plane scheduling chosen" in l]
    assert len(line) == 1, s.process.output()[-3000:]
    return line[0]


def test_auto_in_a_shared_cgroup_picks_nice():
    base = os.nice(0)
    with Server() as s:  # by hand, in the test runner's cgroup: shared with other work
        line = chosen_policy(s)
        assert "policy=nice" in line and "other process" in line, line
        def check():  # each thread names itself, then sets its priority
            nices = by_name(s.process.pid, "nice")
            policies = by_name(s.process.pid, "policy")
            for name in CONTROL_THREADS:
                assert nices.get(name) == {min(19, base + 5)} and policies[name] == {harness.SCHED_OTHER}, name
            for name in DNS_PRIORITY:
                assert nices.get(name) == {base} and policies[name] == {harness.SCHED_OTHER}, name
        harness.eventually(check)


def test_auto_in_a_cgroup_of_its_own_picks_sched_idle():
    if harness.cgroups_read_only():
        print("  not run here: the runner's cgroup file system is read-only (nspawn root)")
        return
    base = os.nice(0)
    with harness.own_cpu_cgroup() as (_, launcher):
        with Server(launcher=launcher) as s:
            line = chosen_policy(s)
            assert "policy=idle" in line and "alone" in line, line
            def check():
                policies = by_name(s.process.pid, "policy")
                for name in CONTROL_THREADS:
                    assert policies.get(name) == {harness.SCHED_IDLE}, (name, policies)
                for name in DNS_PRIORITY:
                    assert policies.get(name) == {harness.SCHED_OTHER}, (name, policies)
                assert {n for v in by_name(s.process.pid, "nice").values() for n in v} == {base}
            harness.eventually(check)


# ---- Response-rate limiting ----

def udp_flood(source, port, name, count, rtype=16):
    """Sends `count` queries from `source` in bursts; returns (full, truncated, unanswered,
    the most sent in one wall-clock second)."""
    full = truncated = 0
    per_second = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        u.bind((source, 0))
        u.settimeout(0.5)
        burst = 50
        for start in range(0, count, burst):
            for i in range(start, min(count, start + burst)):
                second = int(time.time())
                per_second[second] = per_second.get(second, 0) + 1
                u.sendto(_query_bytes(i & 0xFFFF, name, rtype), ("127.0.0.1", port))
            u.setblocking(False)
            while True:  # drain what has arrived, without waiting
                try:
                    msg = u.recv(65535)
                except BlockingIOError:
                    break
                truncated, full = (truncated + 1, full) if msg[2] & 0x02 else (truncated, full + 1)
            u.settimeout(0.5)
        try:
            while True:
                msg = u.recv(65535)
                truncated, full = (truncated + 1, full) if msg[2] & 0x02 else (truncated, full + 1)
        except socket.timeout:
            pass
    return full, truncated, count - full - truncated, max(per_second.values())


def test_rrl_default_never_limits_loopback():
    with Server() as s:
        account = s.register()
        assert s.update(account, txt_value(1))[0] == 200
        name = f"{account['subdomain']}.{s.domain}"
        full, truncated, lost, peak = udp_flood("127.0.0.1", s.dns_port, name, 3000)
        print(f"  loopback, default RRL: {full} full, {truncated} TC, {lost} unanswered; "
              f"peak {peak} q/s", flush=True)
        assert peak > 600, f"could not send faster than the default rate (peak {peak}/s)"
        assert (full, truncated, lost) == (3000, 0, 0)


def test_rrl_limits_a_flood_while_another_resolver_is_answered():
    with Server(sections={"general": {"rrl_exempt": ["127.0.0.1/32"]}}) as s:
        account = s.register()
        assert s.update(account, txt_value(1))[0] == 200
        name = f"{account['subdomain']}.{s.domain}"
        # A resolver in another /24 asks during the flood: every answer arrives in full
        # over UDP (+ignore: dig must not retry a truncated answer over TCP).
        result = []
        flood = threading.Thread(target=lambda: result.append(
            udp_flood("127.0.1.1", s.dns_port, name, 6000)))
        flood.start()
        answers = []
        try:
            for _ in range(10):
                answers.append(ask(name, port=s.dns_port, extra=("-b", "127.0.2.1", "+ignore")))
        finally:
            flood.join(timeout=120)
        assert result, "the flood did not finish"
        full, truncated, lost, peak = result[0]
        print(f"  flood from 127.0.1.1: {full} full, {truncated} TC (slip), {lost} dropped; "
              f"peak {peak} q/s", flush=True)
        assert peak > 600, f"could not send faster than the default rate (peak {peak}/s)"
        seconds = 6000 / peak + 2  # wall-clock seconds the flood can span, generously
        assert full <= 500 * seconds, f"{full} full answers: the 500/s budget did not hold"
        assert truncated > 0 and lost > 0, "over the rate, answers must slip (TC) and drop"
        assert abs(truncated - lost) <= max(60, (truncated + lost) // 5), "slip 2: about half slip"
        for a in answers:
            assert "tc" not in a["flags"] and txts(a) == [txt_value(1)], a["raw"]
        # The flooded prefix's real resolver still gets the answer over TCP.
        assert txts(ask(name, port=s.dns_port, tcp=True, extra=("-b", "127.0.1.2"))) == [txt_value(1)]


# ---- Registration bounds ----

def register_from(s, source):
    conn = http.client.HTTPConnection("127.0.0.1", s.api_port, timeout=10, source_address=(source, 0))
    try:
        conn.request("POST", "/register")
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def metric(s, name):
    body = s.request("GET", "/metrics")[2].decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


def test_registration_flood_hits_the_rate_and_the_cap():
    cap = 700
    sections = {"api": {"registration_rate_exempt": ["127.0.0.1/32"], "registration_max_accounts": cap}}
    with Server(sections=sections) as s:
        existing = s.register()
        assert s.update(existing, txt_value(1))[0] == 200
        # One source: the default 300 a minute; a bulk run of 100 at once is far inside it.
        start = time.monotonic()
        accepted, status, headers, body = 0, 201, {}, b""
        while status == 201 and accepted < 400:
            status, headers, body = register_from(s, "127.0.0.2")
            accepted += status == 201
        elapsed = time.monotonic() - start
        assert status == 429 and json.loads(body) == {"error": "too_many_requests"}, (status, body)
        assert int(headers["retry-after"]) >= 1
        assert 300 <= accepted <= 300 + math.ceil(elapsed * 5) + 1, (accepted, elapsed)
        # Other sources fill up to the cap; then everyone, loopback included, gets 503.
        refused = None
        for source in ("127.0.0.3", "127.0.0.4", "127.0.0.5"):
            for _ in range(300):
                status, _, body = register_from(s, source)
                if status != 201:
                    refused = (status, body)
                    break
            if refused:
                break
        assert refused is not None and refused[0] == 503, refused
        assert json.loads(refused[1]) == {"error": "account_limit_reached"}
        status, _, body = s.request("POST", "/register")
        assert status == 503 and json.loads(body) == {"error": "account_limit_reached"}
        assert metric(s, "acmednsd_accounts") == cap
        assert metric(s, 'acmednsd_registrations_refused_total{reason="rate"}') >= 1
        assert metric(s, 'acmednsd_registrations_refused_total{reason="cap"}') >= 2
        # Nothing else broke: the existing account updates, DNS answers.
        assert s.update(existing, txt_value(2))[0] == 200
        name = f"{existing['subdomain']}.{s.domain}"
        assert txts(ask(name, port=s.dns_port)) == sorted([txt_value(1), txt_value(2)])
        log = s.process.output()
        assert log.count("account cap is reached") == 1, "logged once a minute, not per request"
        assert "registration_max_accounts" in log


if __name__ == "__main__":
    run_main([
        test_auto_in_a_shared_cgroup_picks_nice,
        test_auto_in_a_cgroup_of_its_own_picks_sched_idle,
        test_rrl_default_never_limits_loopback,
        test_rrl_limits_a_flood_while_another_resolver_is_answered,
        test_registration_flood_hits_the_rate_and_the_cap,
    ])
