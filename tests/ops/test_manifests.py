"""Static checks of deploy/container and deploy/kubernetes (no Docker engine or cluster
here): the Dockerfile is multi-stage on debian:{bookworm,trixie}-slim with a non-root runtime,
the state volume and the DNS/API ports; the manifests parse, wire the ConfigMap, the TLS
Secret, the PVC, the probes and the Service ports; and the configs they ship load."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

DEPLOY = os.path.join(harness.SOURCE_DIR, "deploy")
K8S = os.path.join(DEPLOY, "kubernetes")


def read(*parts):
    with open(os.path.join(DEPLOY, *parts)) as f:
        return f.read()


def test_dockerfile():
    text = read("container", "Dockerfile")
    froms = re.findall(r"^FROM (\S+)(?: AS (\S+))?", text, re.M)
    # One Dockerfile for bookworm (default) and trixie: --build-arg DEBIAN_SUITE=trixie.
    assert [f[0] for f in froms] == ["debian:${DEBIAN_SUITE}-slim"] * 2, froms
    assert re.search(r"^ARG DEBIAN_SUITE=bookworm$", text, re.M)
    build, runtime = text.split("\nFROM debian:${DEBIAN_SUITE}-slim\n", 1)
    assert "-dev" not in runtime, "the runtime stage must not install -dev packages"
    # The runtime libraries are the .deb's Depends as dpkg-shlibdeps computed them in the
    # build stage, so their names follow the distribution.
    assert "dpkg-deb -f build/deb/*.deb Depends" in build and ">build/runtime-packages" in build
    assert "$(cat /tmp/runtime-packages)" in runtime
    user = re.search(r"^USER (\S+)", runtime, re.M)
    assert user and not user.group(1).startswith(("0", "root")), user
    assert re.search(r'^VOLUME \["/var/lib/acme-dnsd"\]', runtime, re.M)
    assert re.search(r"^EXPOSE 53/udp 53/tcp 443/tcp$", runtime, re.M)
    assert "COPY --from=build" in runtime
    # Every COPY source of the build context exists (a typo would only show at build time).
    for src in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for path in src.split():
            assert os.path.exists(os.path.join(harness.SOURCE_DIR, path)), path


def load_yaml():
    import yaml  # python3-yaml (Debian)
    docs = []
    for name in sorted(os.listdir(K8S)):
        if name.endswith(".yaml") and name != "kustomization.yaml":
            with open(os.path.join(K8S, name)) as f:
                docs += [d for d in yaml.safe_load_all(f) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def test_kubernetes_manifests():
    docs = load_yaml()
    sts = docs[("StatefulSet", "acme-dnsd")]
    pod = sts["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert pod["securityContext"]["runAsNonRoot"] is True
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts["data"] == "/var/lib/acme-dnsd"
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["config"]["configMap"]["name"] in [n for k, n in docs if k == "ConfigMap"]
    assert vols["tls"]["secret"]["secretName"] in [n for k, n in docs if k == "Secret"]
    svc = docs[("Service", "acme-dnsd")]
    ports = {(p["protocol"], p["port"]) for p in svc["spec"]["ports"]}
    assert {("UDP", 53), ("TCP", 53), ("TCP", 443)} <= ports, ports
    named = {p["name"] for p in c["ports"]}
    assert all(p["targetPort"] in named for p in svc["spec"]["ports"])
    assert docs[("Secret", "acme-dnsd-tls")]["type"] == "kubernetes.io/tls"
    with open(os.path.join(K8S, "kustomization.yaml")) as f:
        import yaml
        listed = yaml.safe_load(f)["resources"]
    assert sorted(listed) == sorted(n for n in os.listdir(K8S)
                                    if n.endswith(".yaml") and n != "kustomization.yaml")


def test_shipped_configs_load():
    """The ConfigMap's config.toml, with the TLS paths the Secret mount provides."""
    binary = os.environ.get("ACMEDNSD_BIN", harness.BIN)
    config = load_yaml()[("ConfigMap", "acme-dnsd-config")]["data"]["config.toml"]
    assert 'tls = "cert"' in config and "/etc/acme-dnsd/tls/tls.crt" in config
    with tempfile.NamedTemporaryFile("w", suffix=".toml") as f:
        f.write(config)
        f.flush()
        r = subprocess.run([binary, "-c", f.name, "--check-config"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr


if __name__ == "__main__":
    harness.run_main([test_dockerfile, test_kubernetes_manifests, test_shipped_configs_load])
