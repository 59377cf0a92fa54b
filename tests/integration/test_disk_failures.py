"""A full disk: /update answers 500 {"error": "db_error"},
DNS keeps answering what was acknowledged, nothing is corrupted, and writes work again
once space is back. A database file removed or replaced under the running server: no
update is acknowledged into the lost file, /ready says why (503). (A read-only remount is refused while the database is open for
writing, so the "cannot write" case is covered by the store's unit test, where another
process holds the write lock.)

The database lives on a small tmpfs mounted in a private mount namespace
(unshare -m), so the test needs no spare disk and touches nothing outside itself.
"""
import os
import sqlite3
import subprocess

import harness

DB_ERROR = b'{"error": "db_error"}'


def nsenter(pid, *argv):
    return subprocess.run(["nsenter", "-t", str(pid), "-m", *argv], capture_output=True, text=True, timeout=30)


class NamespacedServer(harness.Server):
    """acme-dnsd started inside `unshare -m` with its data folder on a 4 MiB tmpfs."""

    def __init__(self):
        super().__init__(start=False, sections={"general": {"txt_limit": 1000}})
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data)
        self.config["database"]["connection"] = os.path.join(self.data, "acme.db")
        with open(self.config_path) as f:
            text = f.read()
        with open(self.config_path, "w") as f:
            f.write(text.replace(os.path.join(self.dir, "acme-dnsd.db"), os.path.join(self.data, "acme.db")))

    def start(self, timeout=15.0):
        script = f'mount -t tmpfs -o size=4m tmpfs "{self.data}" && exec "{harness.BIN}" -c "{self.config_path}"'
        self.process = harness.Process(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                       os.path.join(self.dir, "server.log"))

        def healthy():
            if not self.process.alive():
                raise AssertionError("server exited:\n" + self.process.output())
            try:
                return self.request("GET", "/health")[0] == 200
            except OSError:
                return False
        harness.wait_until(healthy, timeout, what="/health")
        return self


def integrity_ok(server):
    # The database is only visible inside the server's mount namespace.
    r = nsenter(server.process.pid, "sqlite3", server.db_path, "PRAGMA integrity_check;")
    return r.stdout.strip() == "ok", r.stdout + r.stderr


def test_full_disk():
    with NamespacedServer() as server:
        server.start()
        pid = server.process.pid
        account = server.register()
        name = f"{account['subdomain']}.{server.domain}"
        assert server.update(account, harness.txt_value(1))[0] == 200

        # Fill the tmpfs: dd stops with ENOSPC, which is what we want.
        nsenter(pid, "dd", "if=/dev/zero", f"of={server.data}/filler", "bs=64k")
        statuses = set()
        for i in range(2, 40):  # until SQLite needs a new page, then every write fails
            status, _, body = server.update(account, harness.txt_value(i))
            statuses.add(status)
            if status == 500:
                assert body == DB_ERROR, body
                break
        assert 500 in statuses, f"no write failed on a full disk: {statuses}"
        failed_value = harness.txt_value(i)
        served = server.txt_values(name)
        assert harness.txt_value(1) in served
        assert failed_value not in served, "an unacknowledged value is served"
        ok, out = integrity_ok(server)
        assert ok, out

        # Space comes back: writes work again.
        nsenter(pid, "rm", "-f", f"{server.data}/filler")
        assert server.update(account, harness.txt_value(100))[0] == 200
        assert harness.txt_value(100) in server.txt_values(name)

        ok, out = integrity_ok(server)
        assert ok, out


def test_removed_or_replaced_database_file():
    """Before the guard, updates were acknowledged into the unlinked file and were gone
    at the next start; now they fail and /ready reports the reason."""
    for how in ("removed", "replaced"):
        with harness.Server() as server:
            account = server.register()
            assert server.update(account, harness.txt_value(1))[0] == 200
            assert server.request("GET", "/ready")[0] == 200
            os.rename(server.db_path, server.db_path + ".moved")
            if how == "replaced":
                sqlite3.connect(server.db_path).execute("CREATE TABLE other(x)").connection.close()
            status, _, body = server.update(account, harness.txt_value(2))
            assert (status, body) == (500, DB_ERROR), (how, status, body)
            status, _, body = server.request("GET", "/ready")
            assert status == 503 and f"was {how}".encode() in body, (how, status, body)
            # DNS keeps serving what was acknowledged, and nothing unacknowledged.
            name = f"{account['subdomain']}.{server.domain}"
            assert server.txt_values(name) == [harness.txt_value(1)], how
            assert "refusing to commit" in server.process.output()
            # Putting the file back heals it.
            os.replace(server.db_path + ".moved", server.db_path)
            assert server.request("GET", "/ready")[0] == 200
            assert server.update(account, harness.txt_value(3))[0] == 200


if __name__ == "__main__":
    harness.run_main([test_full_disk, test_removed_or_replaced_database_file])
