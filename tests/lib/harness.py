"""Shared test harness: starts the real acme-dnsd binary (and real peers) on free
loopback ports, talks to it, and stops every process it started by PID.

Only 127.0.0.1 and ::1 are ever addressed. Every wait is bounded.
"""
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("ACMEDNSD_BIN", "acme-dnsd")
SOURCE_DIR = os.environ.get(
    "ACMEDNSD_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def free_port(host="127.0.0.1", both=True):
    """A port free for TCP (and UDP when `both`) on `host`, found by binding port 0."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        with socket.socket(family, socket.SOCK_STREAM) as t:
            t.bind((host, 0))
            port = t.getsockname()[1]
            if not both:
                return port
            try:
                with socket.socket(family, socket.SOCK_DGRAM) as u:
                    u.bind((host, port))
                    return port
            except OSError:
                continue
    raise RuntimeError("no free port found")


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(v)


class Process:
    """A background process stopped by PID (SIGTERM, then SIGKILL after a bound)."""

    def __init__(self, argv, log_path, env=None, cwd=None, **popen_args):
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd, **popen_args)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
        self.log.close()
        return self.proc.returncode

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


class Server:
    """acme-dnsd with a generated TOML config on free loopback ports.

    `sections` maps section name -> {key: value} overriding the defaults below.
    """

    def __init__(self, sections=None, workdir=None, domain="auth.example.test", ipv6=False,
                 start=True, extra_toml="", launcher=None):
        """`launcher`: argv put before the binary's (it must exec it, so the PID is the server's)."""
        self.own_dir = workdir is None
        self.launcher = list(launcher or [])
        self.dir = workdir or tempfile.mkdtemp(prefix="acmednsd-test-")
        self.domain = domain
        self.dns_port = free_port("127.0.0.1")
        self.api_port = free_port("127.0.0.1", both=False)
        listen = [f"127.0.0.1:{self.dns_port}"]
        if ipv6:
            self.dns_port6 = free_port("::1")
            listen.append(f"[::1]:{self.dns_port6}")
        cfg = {
            "general": {
                "listen": listen,
                "protocol": "both",
                "domain": domain,
                "nsname": f"ns1.{domain}",
                "nsadmin": f"admin.{domain}",
                "records": [f"{domain}. A 127.0.0.1", f"ns1.{domain}. A 127.0.0.1",
                            f"{domain}. NS ns1.{domain}."],
                "threads": 2,
            },
            "database": {"engine": "sqlite3", "connection": os.path.join(self.dir, "acme-dnsd.db")},
            "api": {"ip": "127.0.0.1", "port": self.api_port, "tls": "none",
                    "disable_registration": False},
            "logconfig": {"loglevel": "debug", "logtype": "stdout", "logformat": "text"},
        }
        for section, values in (sections or {}).items():
            cfg.setdefault(section, {}).update(values)
        self.config = cfg
        self.extra_toml = extra_toml
        self.config_path = os.path.join(self.dir, "config.toml")
        self.write_config()
        self.process = None
        if start:
            try:
                self.start()
            except BaseException:
                self.close()  # no `with` block owns us yet: stop the process, remove the dir
                raise

    def write_config(self):
        """Writes self.config (and extra_toml) to config_path, e.g. before a SIGHUP."""
        with open(self.config_path, "w") as f:
            for section, values in self.config.items():
                f.write(f"[{section}]\n")
                for k, v in values.items():
                    if v is not None:
                        f.write(f"{k} = {toml_value(v)}\n")
                f.write("\n")
            f.write(self.extra_toml)

    @property
    def db_path(self):
        return self.config["database"]["connection"]

    def start(self, timeout=15.0):
        self.process = Process(self.launcher + [BIN, "-c", self.config_path], os.path.join(self.dir, "server.log"))

        def healthy():
            if not self.process.alive():
                raise AssertionError(f"acme-dnsd exited early (status {self.process.proc.returncode}):\n"
                                     + self.process.output())
            try:
                return self.request("GET", "/health")[0] == 200
            except OSError:
                return False

        wait_until(healthy, timeout, what="acme-dnsd /health")
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.process is not None:
            code = self.process.stop(sig)
            return code
        return None

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def close(self):
        self.stop()
        if self.own_dir and os.environ.get("ACMEDNSD_KEEP_TMP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None and self.process is not None:
            sys.stderr.write("---- acme-dnsd log ----\n" + self.process.output()[-20000:] + "\n")
        self.close()

    # ---- HTTP ----
    def request(self, method, path, body=None, headers=None, timeout=10.0):
        """Returns (status, headers dict lowercased, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode()
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            conn.close()

    def register(self, allowfrom=None):
        body = None if allowfrom is None else {"allowfrom": allowfrom}
        status, _, data = self.request("POST", "/register", body)
        assert status == 201, (status, data)
        return json.loads(data)

    def update(self, account, txt, subdomain=None):
        headers = {"X-Api-User": account["username"], "X-Api-Key": account["password"]}
        body = {"subdomain": subdomain or account["subdomain"], "txt": txt}
        return self.request("POST", "/update", body, headers)

    # ---- DNS ----
    def dig(self, name, rtype="TXT", *extra, server="127.0.0.1", port=None):
        """Runs dig against the server; returns the CompletedProcess (text)."""
        argv = ["dig", f"@{server}", "-p", str(port or self.dns_port), name, rtype,
                "+time=2", "+tries=1", *extra]
        return subprocess.run(argv, capture_output=True, text=True, timeout=20)

    def txt_values(self, name, *extra):
        out = self.dig(name, "TXT", "+short", *extra).stdout
        return sorted(line.strip().strip('"') for line in out.splitlines() if line.strip())


def recv_exact(sock, n):
    """Exactly n bytes from a stream socket; ConnectionError when the peer closes first."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


SCHED_OTHER, SCHED_IDLE = 0, 5  # Linux scheduling policies, as /proc shows them


def thread_scheduling(stat):
    """(nice, policy) from a /proc/PID/task/TID/stat line."""
    # Fields after the parenthesised name start at field 3: nice is field 19, the
    # scheduling policy field 41.
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[16]), int(fields[38])


def eventually(check, timeout=5.0):
    """Runs `check` (which asserts) until it passes, at most `timeout` seconds, then once
    more so that a failure reports what it found. For state a server reaches shortly after
    it answers: e.g. a thread names itself, then lowers its priority."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return check()
        except AssertionError:
            time.sleep(0.05)
    return check()


@contextlib.contextmanager
def cpu_hogs(n=3, seconds=180):
    """n busy loops at nice 0 beside the server (unrelated work on a shared host); `timeout`
    bounds them even if the caller dies, and they are stopped by PID on the way out."""
    procs = [subprocess.Popen(["timeout", str(seconds), "sh", "-c", "while :; do :; done"],
                              stdin=subprocess.DEVNULL) for _ in range(n)]
    try:
        time.sleep(0.5)  # let the scheduler spread them
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)


def percentile(values, q):
    """Nearest-rank percentile (q in 0..1): with 40 values, p99 is the largest."""
    ordered = sorted(values)
    return ordered[max(0, -(-int(q * 1000) * len(ordered) // 1000) - 1)]


def cpu_cgroup_parent():
    """Where a test may make a CPU cgroup: cgroup v1's cpu hierarchy (hybrid hosts, as this
    project's machines) or the v2 root with the cpu controller enabled for its children."""
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split(" - ") for line in f.read().splitlines() if " - " in line]
    for left, right in mounts:
        fstype, _, opts = right.split(" ")[:3]
        if fstype == "cgroup" and "cpu" in opts.split(","):
            return left.split(" ")[4]
    for left, right in mounts:
        if right.split(" ")[0] == "cgroup2":
            root = left.split(" ")[4]
            with open(os.path.join(root, "cgroup.subtree_control"), "w") as f:
                f.write("+cpu")
            return root
    raise AssertionError("no cgroup file system with the cpu controller is mounted")


def cgroups_read_only():
    """True only when the runner says so: scripts/test-platforms.sh runs the suites inside
    a systemd-nspawn root, whose cgroup file system is read-only. Anywhere else a test that
    needs a cgroup of its own makes one, or fails."""
    return os.environ.get("ACMEDNSD_CGROUPS_READ_ONLY") == "1"


@contextlib.contextmanager
def own_cpu_cgroup():
    """A fresh CPU cgroup; yields (its path, a Server launcher that starts the server in it)."""
    path = os.path.join(cpu_cgroup_parent(), f"acmednsd-test-{os.getpid()}-{time.monotonic_ns()}")
    os.mkdir(path)
    # The launcher moves itself into the cgroup, then execs the server (same PID).
    launcher = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', path]
    try:
        yield path, launcher
    finally:
        for _ in range(50):  # the server has been stopped; its exit may lag by a moment
            try:
                os.rmdir(path)
                break
            except OSError:
                time.sleep(0.1)


def txt_value(i):
    """A valid 43-character challenge value, distinct per i."""
    s = f"v{i:08d}"
    return (s + "A" * 43)[:43]


def run_main(tests):
    """Runs test functions in order; prints a summary line; exits non-zero on failure."""
    passed = failed = 0
    for t in tests:
        name = t.__name__
        start = time.monotonic()
        try:
            t()
            passed += 1
            print(f"PASS {name} ({time.monotonic() - start:.2f}s)", flush=True)
        except Exception:  # noqa: BLE001 - report and carry on with the next test
            failed += 1
            import traceback
            print(f"FAIL {name}", flush=True)
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)
