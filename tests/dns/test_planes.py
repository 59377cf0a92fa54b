"""The DNS plane runs on threads of its own, at the process's priority; the control plane
(HTTP API, store writer, WAL checkpoints) runs SCHED_IDLE when asked (or by "auto" in a
CPU cgroup of its own), or
`control_plane_nice` levels lower with control_plane_scheduling = "nice", except the
thread that writes the answer index, whose locks DNS queries share
(common/threads.hpp, store_internal.hpp). Read from /proc, on the real binary."""
import os
import socket
import time

import harness
from harness import Server, run_main
from test_dns_abuse import framed, query_bytes
from test_dns_integration import ask, txts

DNS_PRIORITY = {"dns-udp", "dns-tcp", "index-publish"}
CONTROL_THREADS = {"io", "store-writer", "wal-checkpoint", "main"}


def threads_of(pid):
    """{tid: (name, nice, policy)} of every thread of pid; the main thread is "main"."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        out[int(tid)] = ("main" if int(tid) == pid else name, *harness.thread_scheduling(stat))
    return out


def by_name(pid, what):
    """{thread name: set of nice values (what="nice") or policies (what="policy")}."""
    names = {}
    for name, nice, policy in threads_of(pid).values():
        names.setdefault(name, set()).add(nice if what == "nice" else policy)
    return names


def both_planes_answer(s):
    account = s.register()
    assert s.update(account, harness.txt_value(1))[0] == 200
    name = f"{account['subdomain']}.{s.domain}"
    assert txts(ask(name, port=s.dns_port)) == [harness.txt_value(1)]
    assert txts(ask(name, port=s.dns_port, tcp=True)) == [harness.txt_value(1)]


def test_control_plane_runs_sched_idle_when_asked():
    # "auto" (the default) is tested in tests/integration/test_safe_defaults.py.
    base = os.nice(0)
    with Server(sections={"general": {"threads": 2, "control_plane_scheduling": "idle"}}) as s:
        def check():
            policies = by_name(s.process.pid, "policy")
            assert DNS_PRIORITY | CONTROL_THREADS <= set(policies), policies
            for name in DNS_PRIORITY:
                assert policies[name] == {harness.SCHED_OTHER}, (name, policies)
            for name in CONTROL_THREADS:
                assert policies[name] == {harness.SCHED_IDLE}, (name, policies)
            # SCHED_IDLE, not a nice value: every thread keeps the process's nice value.
            assert {n for v in by_name(s.process.pid, "nice").values() for n in v} == {base}
        harness.eventually(check)  # each thread names itself, then sets its policy
        both_planes_answer(s)
        assert "cannot lower the control plane" not in s.process.output()


def test_nice_policy_runs_control_plane_lower():
    base = os.nice(0)
    with Server(sections={"general": {"threads": 2, "control_plane_scheduling": "nice"}}) as s:
        def check():
            names = by_name(s.process.pid, "nice")
            assert DNS_PRIORITY | CONTROL_THREADS <= set(names), names
            for name in DNS_PRIORITY:
                assert names[name] == {base}, (name, names)
            for name in CONTROL_THREADS:
                assert names[name] == {min(19, base + 5)}, (name, names)
            assert {p for v in by_name(s.process.pid, "policy").values() for p in v} == {harness.SCHED_OTHER}
        harness.eventually(check)
        both_planes_answer(s)


def test_control_plane_nice_zero_keeps_one_priority():
    base = os.nice(0)
    with Server(sections={"general": {"control_plane_scheduling": "nice", "control_plane_nice": 0}}) as s:
        def check():
            names = by_name(s.process.pid, "nice")
            assert CONTROL_THREADS <= set(names), names  # all started, so none is still to come
            assert {n for nices in names.values() for n in nices} == {base}, names
            assert {p for v in by_name(s.process.pid, "policy").values() for p in v} == {harness.SCHED_OTHER}
        harness.eventually(check)


def test_stop_with_an_idle_tcp_connection_is_prompt():
    # The TCP thread must not wait for the idle timeout of a client that says nothing.
    with Server(sections={"general": {"tcp_idle_timeout_ms": 60000}}) as s:
        idle = socket.create_connection(("127.0.0.1", s.dns_port), timeout=5)
        idle.sendall(framed(query_bytes(0xABCD, f"ns1.{s.domain}", 1)))
        reply = harness.recv_exact(idle, 2)
        assert len(reply) == 2
        start = time.monotonic()
        code = s.stop()
        took = time.monotonic() - start
        idle.close()
        assert code == 0, (code, s.process.output()[-2000:])
        assert took < 4, f"SIGTERM took {took:.1f} s with an idle TCP DNS connection open"


if __name__ == "__main__":
    run_main([
        test_control_plane_runs_sched_idle_when_asked,
        test_nice_policy_runs_control_plane_lower,
        test_control_plane_nice_zero_keeps_one_priority,
        test_stop_with_an_idle_tcp_connection_is_prompt,
    ])
