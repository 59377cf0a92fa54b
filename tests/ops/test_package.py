"""The Debian package CPack builds (cmake/packaging.cmake): its files, conffile,
maintainer scripts and dependencies, read back with dpkg-deb. Installing it is a manual
step (deploy/README.md) because it changes the machine (a system user, /etc files).

The build folder is the one holding the binary under test (ACMEDNSD_BIN is
<build>/src/app/acme-dnsd); it must have been configured with cmake/packaging.cmake.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

BIN = os.path.abspath(os.environ.get("ACMEDNSD_BIN", harness.BIN))
BUILD = os.environ.get("ACMEDNSD_BUILD_DIR",
                       os.path.dirname(os.path.dirname(os.path.dirname(BIN))))
DEB = {}


def run(argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=240, **kw)
    assert r.returncode == 0, f"{' '.join(argv)}:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def build_deb(out_dir):
    """Builds the .deb of BUILD with cpack into out_dir; returns its path (also used by
    test_package_install.py)."""
    config = os.path.join(BUILD, "CPackConfig.cmake")
    assert os.path.exists(config), (f"{config} missing: CMakeLists.txt must include "
                                    "cmake/packaging.cmake")
    run(["cpack", "-G", "DEB", "-B", out_dir, "--config", config])
    debs = [f for f in os.listdir(out_dir) if f.endswith(".deb")]
    assert len(debs) == 1, debs
    path = os.path.join(out_dir, debs[0])
    print(f"{debs[0]}: {os.path.getsize(path)} bytes", flush=True)
    return path


def build_package(tmp):
    DEB["path"] = build_deb(tmp)


def test_contents():
    listing = run(["dpkg-deb", "-c", DEB["path"]])
    files = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
    for path in ["/usr/bin/acme-dnsd", "/lib/systemd/system/acme-dnsd.service",
                 "/etc/acme-dnsd/config.toml", "/usr/share/doc/acme-dnsd/config.toml.example"]:
        assert path in files, f"{path} not in package:\n{listing}"
    assert re.search(r"^-rwxr-xr-x .* \./usr/bin/acme-dnsd$", listing, re.M), listing


def test_control():
    info = run(["dpkg-deb", "-I", DEB["path"]])
    depends = re.search(r"^ Depends: (.*)$", info, re.M).group(1)
    names = {d.strip().split()[0] for d in depends.split(",")}
    # dpkg-shlibdeps names the libraries' packages; trixie's carry a t64 suffix
    # (libssl3t64), so the name is matched with that optional suffix. adduser and procps
    # are listed in cmake/packaging.cmake.
    for lib in ["libc6", "libldns3", "libsqlite3-0", "libpq5", "libssl3", "libtomlplusplus3", "libcrypt1"]:
        assert names & {lib, lib + "t64"}, (lib, depends)
        versioned = re.search(r"\b" + re.escape(lib) + r"(t64)? \(>= [^)]+\)", depends)
        assert versioned, f"{lib} has no minimum version (dpkg-shlibdeps did not run?): {depends}"
    for pkg in ["adduser", "procps"]:
        assert pkg in names, (pkg, depends)
    with tempfile.TemporaryDirectory() as ctrl:
        run(["dpkg-deb", "-e", DEB["path"], ctrl])
        with open(os.path.join(ctrl, "conffiles")) as f:
            assert f.read().split() == ["/etc/acme-dnsd/config.toml"]
        with open(os.path.join(ctrl, "postinst")) as f:
            assert "adduser --system --group" in f.read()
        for script in ["postinst", "prerm", "postrm"]:
            path = os.path.join(ctrl, script)
            assert os.access(path, os.X_OK), script
            run(["sh", "-n", path])


def test_every_needed_library_is_a_dependency():
    """Each shared library the binary links (its DT_NEEDED entries: what a library itself
    needs, e.g. trixie's libcrypto -> libz, is that library package's dependency) comes
    from a package listed in Depends."""
    info = run(["dpkg-deb", "-I", DEB["path"]])
    depends = re.search(r"^ Depends: (.*)$", info, re.M).group(1)
    names = {d.strip().split()[0] for d in depends.split(",")}
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]", run(["readelf", "-d", BIN])))
    assert "libc.so.6" in needed, needed
    for lib in re.findall(r"^\s+(\S+) =>", run(["ldd", BIN]), re.M):
        if lib not in needed:
            continue
        # The loader, and sanitizer runtimes of the ASan/TSan test builds (a release
        # package is never built with them).
        if lib.startswith(("linux-vdso", "ld-linux", "libasan", "libubsan", "libtsan")):
            continue
        owner = subprocess.run(["dpkg", "-S", "*/" + lib], capture_output=True, text=True)
        if owner.returncode != 0:
            continue  # not from a Debian package (a library from the build tree)
        pkgs = {l.split(":")[0] for l in owner.stdout.splitlines()}
        assert pkgs & names, f"{lib} comes from {pkgs}, none in Depends: {depends}"


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        try:
            build_package(tmp)
        except Exception as e:  # noqa: BLE001 - reported as the summary line CI reads
            print(f"FAIL build_package: {e}\n0 passed, 1 failed", flush=True)
            sys.exit(1)
        harness.run_main([test_contents, test_control, test_every_needed_library_is_a_dependency])
