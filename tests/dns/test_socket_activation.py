"""Socket activation (sd_listen_fds protocol): acme-dnsd serves DNS on sockets it is
handed as fds 3.. with LISTEN_PID/LISTEN_FDS, as systemd does with acme-dnsd.socket, so
port 53 needs no capability in the service. The test binds the sockets itself (without
SO_REUSEPORT), so a server that tried to bind them again would fail to start."""
import os
import signal
import socket
import subprocess

import harness
from harness import Server, run_main, txt_value, wait_until


def up(srv, proc):
    """True once /health answers; raises when the process exited."""
    if proc.poll() is not None:
        raise AssertionError("acme-dnsd exited early:\n" + open(os.path.join(srv.dir, "server.log")).read())
    try:
        return srv.request("GET", "/health")[0] == 200
    except OSError:
        return False


def start_activated(srv, sockets):
    """Starts the binary with `sockets` as fds 3, 4, ... and LISTEN_PID = its own pid
    (the shell's $$ survives exec)."""
    high = [100 + i for i in range(len(sockets))]  # out of the way of 3.. first
    for s, h in zip(sockets, high):
        os.dup2(s.fileno(), h)

    def place_fds():
        for i, h in enumerate(high):
            os.dup2(h, 3 + i)

    env = dict(os.environ, LISTEN_FDS=str(len(sockets)))
    srv.process = harness.Process(
        ["sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"', harness.BIN, "-c", srv.config_path],
        os.path.join(srv.dir, "server.log"), env=env, preexec_fn=place_fds,
        pass_fds=tuple(range(3, 3 + len(sockets))) + tuple(high))
    for h in high:
        os.close(h)
    proc = srv.process.proc
    wait_until(lambda: up(srv, proc), 15, what="activated acme-dnsd /health")


def test_serves_udp_and_tcp_on_passed_sockets():
    port = harness.free_port("127.0.0.1")
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", port))
    tcp.listen(64)
    extra = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    extra.bind(("127.0.0.1", 0))
    extra_port = extra.getsockname()[1]
    srv = Server(start=False)
    try:
        srv.dns_port = port
        srv.config["general"]["listen"] = [f"127.0.0.1:{port}"]
        srv.write_config()
        start_activated(srv, [udp, tcp, extra])
        for s in (udp, tcp, extra):
            s.close()  # only the server holds them now
        acct = srv.register()
        assert srv.update(acct, txt_value(5))[0] == 200
        name = f"{acct['subdomain']}.{srv.domain}"
        assert srv.txt_values(name) == [txt_value(5)]
        assert srv.txt_values(name, "+tcp") == [txt_value(5)]
        log = srv.process.output()
        assert "matches no [general] listen address" in log and f"127.0.0.1:{extra_port}" in log, log
        # The extra socket was closed by the server: nothing answers there.
        r = srv.dig(srv.domain, "SOA", port=extra_port)
        assert "status: NOERROR" not in r.stdout
        assert srv.process.proc.send_signal(signal.SIGTERM) is None
        assert srv.process.proc.wait(timeout=10) == 0
    finally:
        srv.close()


def test_not_activated_when_listen_pid_is_another_process():
    """LISTEN_PID names another process: the variables are not ours, the server binds
    its own sockets (and a child would not inherit the variables either)."""
    srv = Server(start=False)
    try:
        env = dict(os.environ, LISTEN_FDS="2", LISTEN_PID="1")
        log = open(os.path.join(srv.dir, "server.log"), "wb")
        proc = subprocess.Popen([harness.BIN, "-c", srv.config_path], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: up(srv, proc), 15, what="/health")
            assert srv.dig(srv.domain, "SOA", "+short").stdout.strip()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
    finally:
        srv.close()


if __name__ == "__main__":
    run_main([test_serves_udp_and_tcp_on_passed_sockets, test_not_activated_when_listen_pid_is_another_process])
