"""BIND 9 as a TSIG secondary of acme-dnsd, configured as docs/secondaries.md's BIND
recipe: the initial transfer, an /update reaching it through the signed NOTIFY, IXFR
after the first transfer, and a DELETE propagating (issue 13's tested recipes)."""
import os
import tempfile

import harness
import transfer_lib as tl

ZONE = tl.ZONE


def test_bind_follows_updates_by_ixfr():
    secret = tl.new_secret()
    with tempfile.TemporaryDirectory(prefix="acmednsd-bind-") as d:
        bind = tl.BindSecondary(os.path.join(d, "bind"), 0, secret)
        os.makedirs(os.path.join(d, "primary"))
        with harness.Server(tl.primary_sections([bind.port]), workdir=os.path.join(d, "primary"), start=False,
                            extra_toml=tl.tsig_toml(secret)) as primary:
            primary.start()
            bind.primary_port = primary.dns_port
            with bind.start():
                try:
                    a = primary.register()
                    assert primary.update(a, harness.txt_value(1))[0] == 200
                    first = tl.wait_converged(primary, [bind], [a["subdomain"]], timeout=20)
                    assert bind.transfers("AXFR") >= 1, bind.output()[-3000:]
                    for i in range(5):
                        assert primary.update(a, harness.txt_value(10 + i))[0] == 200
                    second = tl.wait_converged(primary, [bind], [a["subdomain"]], timeout=20)
                    assert second > first
                    assert len(bind.txt_values(f"{a['subdomain']}.{ZONE}")) == 6
                    assert bind.transfers("IXFR") >= 1, "BIND never took an IXFR:\n" + bind.output()[-3000:]
                    headers = {"X-Api-User": a["username"], "X-Api-Key": a["password"]}
                    status, _, _ = primary.request("DELETE", "/update",
                                                   {"subdomain": a["subdomain"], "txt": harness.txt_value(1)},
                                                   headers)
                    assert status == 200
                    tl.wait_converged(primary, [bind], [a["subdomain"]], timeout=20)
                    assert harness.txt_value(1) not in bind.txt_values(f"{a['subdomain']}.{ZONE}")
                    print(f"  bind: serial {first} -> {second}, {bind.transfers('AXFR')} full and "
                          f"{bind.transfers('IXFR')} incremental transfers", flush=True)
                except BaseException:
                    print("---- bind log ----\n" + bind.output()[-6000:])
                    raise


if __name__ == "__main__":
    harness.run_main([test_bind_follows_updates_by_ixfr])
