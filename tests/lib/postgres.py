"""A private PostgreSQL cluster for tests: initdb in a temp folder, the server in the
foreground on a free loopback port, password (scram) authentication over TCP, stopped
by PID. Never a system service.

initdb refuses to run as root: as root the cluster belongs to `nobody` and every
PostgreSQL program is run through `setpriv` (which execs, so the PID is the server's).

    with Postgres() as pg:
        conn = pg.url("acme")          # postgres://postgres:PW@127.0.0.1:PORT/acme
        pg.create_database("acme")
        pg.stop(); pg.start()          # an outage and a restart, same port and data
"""
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile

import harness

SUPERUSER = "postgres"


def pg_bin(name):
    """`name` from the newest /usr/lib/postgresql/*/bin (scripts/install-deps.sh installs it)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        raise AssertionError(f"PostgreSQL's {name} is missing: run scripts/install-deps.sh")
    return found[-1]


class Postgres:
    def __init__(self, durable=True, start=True, tls=None):
        """`durable`: fsync and synchronous_commit on (benchmarks); off is still crash-safe
        for everything the tests kill (acme-dnsd), not for a power cut.
        `tls`: a peers.CA whose leaf (IP:127.0.0.1) the server presents; TCP clients must
        then use TLS (pg_hba hostssl), so a connection that works proves TLS was used."""
        self.dir = tempfile.mkdtemp(prefix="acmednsd-pg-")
        self.data = os.path.join(self.dir, "data")
        self.password = secrets.token_hex(12)
        self.port = harness.free_port("127.0.0.1", both=False)
        self.durable = durable
        self.process = None
        self.as_root = os.geteuid() == 0
        if self.as_root:
            user = pwd.getpwnam("nobody")
            self.uid, self.gid = user.pw_uid, user.pw_gid
            os.chown(self.dir, self.uid, self.gid)
        os.chmod(self.dir, 0o700)
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        if self.as_root:
            os.chown(pwfile, self.uid, self.gid)
        r = subprocess.run(self._as_owner([pg_bin("initdb"), "-D", self.data, "-U", SUPERUSER,
                                           "--pwfile", pwfile, "--auth-local=trust",
                                           "--auth-host=scram-sha-256", "-E", "UTF8",
                                           "--locale=C.UTF-8"]),
                           capture_output=True, text=True, timeout=120)
        os.unlink(pwfile)
        if r.returncode != 0:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise AssertionError(f"initdb failed:\n{r.stdout}{r.stderr}")
        self.tls_args = []
        if tls is not None:
            self._setup_tls(tls)
        if start:
            try:
                self.start()
            except BaseException:
                self.close()
                raise

    def _setup_tls(self, ca):
        cert, key = os.path.join(self.dir, "server.pem"), os.path.join(self.dir, "server.key")
        shutil.copyfile(ca.cert, cert)
        shutil.copyfile(ca.key, key)
        os.chmod(key, 0o600)  # PostgreSQL refuses a key others can read
        if self.as_root:
            for path in (cert, key):
                os.chown(path, self.uid, self.gid)
        hba = os.path.join(self.data, "pg_hba.conf")
        with open(hba) as f:
            lines = f.read().splitlines()
        with open(hba, "w") as f:
            for line in lines:
                f.write(("hostssl" + line[4:] if line.startswith("host ") else line) + "\n")
        self.tls_args = ["-c", "ssl=on", "-c", f"ssl_cert_file={cert}", "-c", f"ssl_key_file={key}"]

    def _as_owner(self, argv):
        if not self.as_root:
            return argv
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups", "--"] + argv

    def start(self, timeout=30.0):
        argv = [pg_bin("postgres"), "-D", self.data, "-p", str(self.port), "-k", self.dir,
                "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200",
                "-c", f"fsync={'on' if self.durable else 'off'}",
                "-c", f"synchronous_commit={'on' if self.durable else 'off'}"] + self.tls_args
        self.process = harness.Process(self._as_owner(argv), os.path.join(self.dir, "postgres.log"))
        harness.wait_until(self._ready, timeout, interval=0.1, what="PostgreSQL accepting connections")
        return self

    def _ready(self):
        if not self.process.alive():
            raise AssertionError("postgres exited:\n" + self.process.output()[-4000:])
        r = subprocess.run([pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"],
                           capture_output=True, timeout=10)
        return r.returncode == 0

    def stop(self):
        """Fast shutdown (SIGINT): clients are disconnected, committed data stays."""
        if self.process is not None:
            self.process.stop(signal.SIGINT, timeout=30.0)
            self.process = None

    def close(self):
        self.stop()
        if os.environ.get("ACMEDNSD_KEEP_TMP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def url(self, db="postgres", user=SUPERUSER, password=None):
        pw = self.password if password is None else password
        return f"postgres://{user}:{pw}@127.0.0.1:{self.port}/{db}"

    def keyvalue(self, db="postgres"):
        return (f"host=127.0.0.1 port={self.port} user={SUPERUSER} password={self.password} "
                f"dbname={db}")

    def psql(self, sql, db="postgres"):
        """Runs `sql` with psql as the superuser; returns stdout (unaligned, tuples only)."""
        r = subprocess.run([pg_bin("psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
                            self.url(db), "-c", sql], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f"psql failed: {sql}\n{r.stderr}")
        return r.stdout

    def create_database(self, name):
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)


def run_cases(tests, prefix):
    """harness.run_main over `tests`, each called as test(pg, dir) with one private
    cluster for all of them and a fresh folder per test under one temp dir."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        with Postgres(durable=False) as pg:
            def bind(t):
                def run():
                    sub = os.path.join(tmp, t.__name__)
                    os.makedirs(sub)
                    t(pg, sub)
                run.__name__ = t.__name__
                return run

            harness.run_main([bind(t) for t in tests])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
