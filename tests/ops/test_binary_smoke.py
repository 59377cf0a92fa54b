"""The binary under test serves, whatever it was built for: the arm64 build runs here
under qemu-user (binfmt_misc) from scripts/test-platforms.sh, the native build in CTest.

  - the ELF machine of ACMEDNSD_BIN is the one ACMEDNSD_EXPECT_MACHINE names (aarch64 or
    x86_64; default: this machine's), so an arm64 run cannot pass on a native binary;
  - `--version` runs;
  - a server on free loopback ports: POST /register, POST /update, the value over DNS by
    UDP and by TCP;
  - with ACMEDNSD_DNSPERF_SECONDS set: dnsperf against it for that long, printing q/s
    (a record of the emulated speed, not a target: it fails only if dnsperf fails or no
    query is answered).
"""
import os
import platform
import re
import subprocess
import tempfile

import harness

ELF_MACHINES = {0x3E: "x86_64", 0xB7: "aarch64"}


def elf_machine(path):
    with open(path, "rb") as f:
        head = f.read(20)
    assert head[:4] == b"\x7fELF", f"{path} is not an ELF file"
    assert head[5] == 1, "big-endian ELF"
    machine = int.from_bytes(head[18:20], "little")
    return ELF_MACHINES.get(machine, hex(machine))


def test_binary_is_for_the_expected_machine():
    want = os.environ.get("ACMEDNSD_EXPECT_MACHINE", platform.machine())
    got = elf_machine(harness.BIN)
    print(f"{harness.BIN}: ELF machine {got}, this machine {platform.machine()}")
    assert got == want, f"{harness.BIN} is built for {got}, expected {want}"


def test_version():
    r = subprocess.run([harness.BIN, "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("acme-dnsd"), (r.returncode, r.stdout, r.stderr)
    print(r.stdout.strip())


def test_register_update_dns_udp_and_tcp():
    with harness.Server() as srv:
        account = srv.register()
        value = harness.txt_value(7)
        status, _, body = srv.update(account, value)
        assert status == 200, (status, body)
        assert srv.txt_values(account["fulldomain"]) == [value]
        assert srv.txt_values(account["fulldomain"], "+tcp") == [value]
        print(f"/register 201, /update 200, {account['fulldomain']} TXT over UDP and TCP")
        seconds = os.environ.get("ACMEDNSD_DNSPERF_SECONDS")
        if seconds:
            dnsperf(srv, account["fulldomain"], int(seconds))


def dnsperf(srv, name, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".queries") as q:
        q.write(f"{name} TXT\n")
        q.flush()
        r = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(srv.dns_port), "-d", q.name,
                            "-l", str(seconds), "-c", "4", "-Q", "200000", "-q", "200"],
                           capture_output=True, text=True, timeout=seconds + 60)
    assert r.returncode == 0, r.stdout + r.stderr
    qps = re.search(r"Queries per second:\s+([0-9.]+)", r.stdout)
    done = re.search(r"Queries completed:\s+(\d+)", r.stdout)
    lost = re.search(r"Queries lost:\s+(\d+)", r.stdout)
    assert qps and done and lost, r.stdout
    print(f"dnsperf {seconds}s, 4 clients, 1 name: {float(qps.group(1)):.0f} q/s, "
          f"{done.group(1)} completed, {lost.group(1)} lost")
    assert int(done.group(1)) > 0, r.stdout


if __name__ == "__main__":
    harness.run_main([test_binary_is_for_the_expected_machine, test_version,
                      test_register_update_dns_udp_and_tcp])
