"""dns-persist-01 records (/persist) reach real secondaries: NSD, Knot and BIND follow
acme-dnsd by NOTIFY and IXFR, and serve the record (a long one, two TXT strings) as the
primary does; a replaced record and a deleted account propagate too."""
import os
import tempfile

import harness
import transfer_lib as tl

ZONE = tl.ZONE
ACCT_URI = "https://ca.test/acme/acct/" + "7" * 250  # over 255 octets in all: two strings


def test_persist_records_reach_nsd_knot_and_bind():
    secret = tl.new_secret()
    with tempfile.TemporaryDirectory(prefix="acmednsd-persist-xfr-") as d:
        secondaries = [tl.NsdSecondary(os.path.join(d, "nsd"), 0, secret),
                       tl.KnotSecondary(os.path.join(d, "knot"), 0, secret),
                       tl.BindSecondary(os.path.join(d, "bind"), 0, secret)]
        os.makedirs(os.path.join(d, "primary"))
        with harness.Server(tl.primary_sections([s.port for s in secondaries]),
                            workdir=os.path.join(d, "primary"), start=False,
                            extra_toml=tl.tsig_toml(secret)) as primary:
            primary.start()
            started = []
            try:
                for s in secondaries:
                    s.primary_port = primary.dns_port
                    started.append(s.start())
                a = primary.register()
                headers = {"X-Api-User": a["username"], "X-Api-Key": a["password"]}
                name = f"_validation-persist.{a['subdomain']}"
                value = f"ca.test; accounturi={ACCT_URI}"
                status, _, body = primary.request("POST", "/persist", {"subdomain": a["subdomain"], "value": value},
                                                  headers)
                assert status == 200, body
                first = tl.wait_converged(primary, secondaries, [name], timeout=30)
                for s in secondaries:
                    served = s.dig(f"{name}.{ZONE}", "TXT", "+short").stdout.strip()
                    assert served.replace('" "', "").strip('"') == value, (s.name, served)

                status, _, body = primary.request(
                    "POST", "/persist", {"subdomain": a["subdomain"], "value": value + "; policy=wildcard"}, headers)
                assert status == 200, body
                second = tl.wait_converged(primary, secondaries, [name], timeout=30)
                assert second != first
                for s in secondaries:
                    served = s.dig(f"{name}.{ZONE}", "TXT", "+short").stdout.strip()
                    assert served.replace('" "', "").strip('"') == value + "; policy=wildcard", (s.name, served)
                assert secondaries[1].transfers("IXFR") >= 1, secondaries[1].output()[-3000:]
                assert secondaries[2].transfers("IXFR") >= 1, secondaries[2].output()[-3000:]

                status, _, _ = primary.request("DELETE", "/account", None, headers)
                assert status == 204
                tl.wait_converged(primary, secondaries, [name], timeout=30)
                for s in secondaries:
                    assert s.txt_values(f"{name}.{ZONE}") == [], s.name
            except BaseException:
                for s in started:
                    print(f"---- {s.name} log ----\n" + s.output()[-4000:])
                raise
            finally:
                for s in started:
                    s.stop()


if __name__ == "__main__":
    harness.run_main([test_persist_records_reach_nsd_knot_and_bind])
