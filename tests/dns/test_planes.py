"""The DNS plane runs on threads of its own, at the process's priority; the control plane
(HTTP API, store writer, WAL checkpoints) runs `control_plane_nice` levels lower, except
the thread that writes the answer index, whose locks DNS queries share
(common/threads.hpp, store_internal.hpp). Read from /proc, on the real binary."""
import os
import socket
import time

import harness
from harness import Server, run_main
from test_dns_abuse import framed, query_bytes
from test_dns_integration import ask, txts

DNS_PRIORITY = {"dns-udp", "dns-tcp", "index-publish"}
CONTROL_THREADS = {"io", "store-writer", "wal-checkpoint"}


def threads_of(pid):
    """{tid: (name, nice)} of every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        # Fields after the parenthesised name: state is field 3, nice is field 19.
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(tid)] = (name, int(fields[16]))
    return out


def nice_by_name(pid):
    names = {}
    for tid, (name, nice) in threads_of(pid).items():
        names.setdefault("main" if tid == pid else name, set()).add(nice)
    return names


def test_control_plane_runs_below_dns():
    base = os.nice(0)
    with Server(sections={"general": {"threads": 2}}) as s:
        names = nice_by_name(s.process.pid)
        assert DNS_PRIORITY | CONTROL_THREADS <= set(names), names
        for name in DNS_PRIORITY:
            assert names[name] == {base}, (name, names)
        for name in CONTROL_THREADS | {"main"}:
            assert names[name] == {min(19, base + 10)}, (name, names)
        # Both planes still answer.
        account = s.register()
        assert s.update(account, harness.txt_value(1))[0] == 200
        name = f"{account['subdomain']}.{s.domain}"
        assert txts(ask(name, port=s.dns_port)) == [harness.txt_value(1)]
        assert txts(ask(name, port=s.dns_port, tcp=True)) == [harness.txt_value(1)]


def test_control_plane_nice_zero_keeps_one_priority():
    base = os.nice(0)
    with Server(sections={"general": {"control_plane_nice": 0}}) as s:
        names = nice_by_name(s.process.pid)
        assert {n for nices in names.values() for n in nices} == {base}, names


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
        test_control_plane_runs_below_dns,
        test_control_plane_nice_zero_keeps_one_priority,
        test_stop_with_an_idle_tcp_connection_is_prompt,
    ])
