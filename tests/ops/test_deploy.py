"""The systemd unit passes `systemd-analyze verify` and keeps its hardening: an exposure
score (systemd-analyze security) of at most 2.0 and the directives issue 7 asks for.

The unit names /usr/bin/acme-dnsd; the copy checked here runs the binary under test
(ACMEDNSD_BIN) instead, so verify really checks that the command exists and is executable.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

UNIT = os.path.join(harness.SOURCE_DIR, "deploy", "systemd", "acme-dnsd.service")
MAX_EXPOSURE = 2.0


def unit_copy(tmp):
    binary = os.environ.get("ACMEDNSD_BIN", harness.BIN)
    with open(UNIT) as f:
        text = f.read()
    path = os.path.join(tmp, "acme-dnsd.service")
    with open(path, "w") as f:
        f.write(text.replace("/usr/bin/acme-dnsd", os.path.abspath(binary)))
    return path


def analyze(*args):
    assert shutil.which("systemd-analyze"), "systemd-analyze missing: run scripts/install-deps.sh"
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, timeout=60)


def test_verify():
    with tempfile.TemporaryDirectory() as tmp:
        r = analyze("verify", unit_copy(tmp))
        assert r.returncode == 0 and r.stderr.strip() == "", r.stderr


def test_verify_socket_unit():
    """The optional acme-dnsd.socket (socket activation of port 53) verifies together
    with the service it activates."""
    with tempfile.TemporaryDirectory() as tmp:
        service = unit_copy(tmp)
        socket_unit = os.path.join(tmp, "acme-dnsd.socket")
        shutil.copy(os.path.join(os.path.dirname(UNIT), "acme-dnsd.socket"), socket_unit)
        r = analyze("verify", socket_unit, service)
        assert r.returncode == 0 and r.stderr.strip() == "", r.stderr


def test_exposure_score():
    with tempfile.TemporaryDirectory() as tmp:
        r = analyze("security", "--offline=true", "--no-pager", unit_copy(tmp))
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
        assert m, r.stdout[-2000:] + r.stderr
        score = float(m.group(1))
        print(f"exposure score {score}")
        assert score <= MAX_EXPOSURE, f"exposure {score} > {MAX_EXPOSURE}:\n{r.stdout}"


def test_hardening_directives():
    with open(UNIT) as f:
        text = f.read()
    for line in ["User=acme-dnsd", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                 "AmbientCapabilities=CAP_NET_BIND_SERVICE", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "StateDirectory=acme-dnsd", "PrivateTmp=yes",
                 "SystemCallFilter=@system-service", "ExecReload=/bin/kill -HUP $MAINPID"]:
        assert re.search(r"^" + re.escape(line) + r"\s*$", text, re.M), f"missing {line}"
    assert re.search(r"^ExecStartPre=.*--check-config\s*$", text, re.M)
    # The readme states the score; keep it in step with the unit.
    with open(os.path.join(harness.SOURCE_DIR, "deploy", "README.md")) as f:
        assert "exposure" in f.read()


def test_check_config_of_shipped_configs():
    """The configs the package and the container ship load (the unit's ExecStartPre)."""
    binary = os.environ.get("ACMEDNSD_BIN", harness.BIN)
    for rel in ["deploy/debian/config.toml", "deploy/container/config.toml"]:
        r = subprocess.run([binary, "-c", os.path.join(harness.SOURCE_DIR, rel), "--check-config"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"{rel}: {r.stdout}{r.stderr}"


if __name__ == "__main__":
    harness.run_main([test_verify, test_verify_socket_unit, test_exposure_score, test_hardening_directives,
                      test_check_config_of_shipped_configs])
