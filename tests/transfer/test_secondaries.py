"""NSD and Knot as TSIG-signed secondaries of a running acme-dnsd (hidden primary):
initial transfer, updates and deletes reach both through NOTIFY + IXFR, 100 updates
across 20 accounts converge, expiry propagates, and a restart of acme-dnsd keeps the
serial moving forward with the secondaries in sync (issue 13)."""
import contextlib
import os
import tempfile
import time

import harness
import transfer_lib as tl

ZONE = tl.ZONE


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


@contextlib.contextmanager
def setup(retention=None):
    """acme-dnsd with NSD and Knot as secondaries (both notified, both TSIG)."""
    secret = tl.new_secret()
    with tempfile.TemporaryDirectory(prefix="acmednsd-xfr-") as d:
        nsd = tl.NsdSecondary(os.path.join(d, "nsd"), 0, secret)
        knot = tl.KnotSecondary(os.path.join(d, "knot"), 0, secret)
        sections = tl.primary_sections([nsd.port, knot.port])
        if retention is not None:
            sections["general"] = {"txt_retention": retention}
        os.makedirs(os.path.join(d, "primary"))
        with harness.Server(sections, workdir=os.path.join(d, "primary"), start=False,
                            extra_toml=tl.tsig_toml(secret)) as primary:
            primary.start()
            nsd.primary_port = knot.primary_port = primary.dns_port
            with nsd.start(), knot.start():
                try:
                    yield primary, nsd, knot
                except BaseException:
                    for peer in (nsd, knot):
                        print(f"---- {peer.name} log ----\n" + peer.output()[-6000:])
                    raise


def test_initial_transfer_and_updates():
    with setup() as (primary, nsd, knot):
        a = primary.register()
        check(primary.update(a, harness.txt_value(1))[0] == 200, "update failed")
        # Both answer the value through NOTIFY + transfer, without waiting for a refresh.
        serial = tl.wait_converged(primary, [nsd, knot], [a["subdomain"]], timeout=15)
        check(nsd.txt_values(f"{a['subdomain']}.{ZONE}") == [harness.txt_value(1)], "nsd lacks the value")
        first_axfr = knot.transfers("AXFR")
        check(first_axfr >= 1, "knot did not start with an AXFR:\n" + knot.output()[-3000:])

        # 100 updates across 20 accounts converge to the same serial and TXT sets.
        accounts = [a] + [primary.register() for _ in range(19)]
        for i in range(100):
            acc = accounts[i % 20]
            check(primary.update(acc, harness.txt_value(1000 + i))[0] == 200, "update failed")
        serial2 = tl.wait_converged(primary, [nsd, knot], [x["subdomain"] for x in accounts], timeout=30)
        check(serial2 > serial, f"serial did not move forward: {serial} -> {serial2}")
        for acc in accounts[1:3]:
            check(len(knot.txt_values(f"{acc['subdomain']}.{ZONE}")) == 5, "knot lacks values")
        # After the first AXFR, Knot follows with IXFR (the journal's diffs).
        check(knot.transfers("IXFR") >= 1, "knot never took an IXFR:\n" + knot.output()[-3000:])
        check(knot.transfers("AXFR") == first_axfr, "knot fell back to AXFR:\n" + knot.output()[-3000:])

        # DELETE /update removes one value everywhere.
        headers = {"X-Api-User": a["username"], "X-Api-Key": a["password"]}
        status, _, body = primary.request("DELETE", "/update",
                                          {"subdomain": a["subdomain"], "txt": harness.txt_value(1)}, headers)
        check(status == 200, f"DELETE /update: {status} {body}")
        tl.wait_converged(primary, [nsd, knot], [a["subdomain"]], timeout=15)
        check(harness.txt_value(1) not in knot.txt_values(f"{a['subdomain']}.{ZONE}"), "delete did not reach knot")
        check(harness.txt_value(1) not in nsd.txt_values(f"{a['subdomain']}.{ZONE}"), "delete did not reach nsd")

        # A registered name without a value: the primary says NODATA, the secondaries
        # NXDOMAIN (it is not in the zone); both are negative answers.
        empty = primary.register()
        tl.wait_converged(primary, [nsd, knot], [empty["subdomain"]], timeout=15)
        check("NOERROR" in primary.dig(f"{empty['subdomain']}.{ZONE}").stdout, "primary: not NODATA")
        check("NXDOMAIN" in nsd.dig(f"{empty['subdomain']}.{ZONE}").stdout, "nsd: not NXDOMAIN")


def test_expiry_propagates():
    # Values older than txt_retention (beyond the two newest) expire; the prune that
    # removes them raises the serial, and the secondaries drop them too.
    with setup(retention="2s") as (primary, nsd, knot):
        a = primary.register()
        for i in range(3):
            check(primary.update(a, harness.txt_value(i))[0] == 200, "update failed")
        name = f"{a['subdomain']}.{ZONE}"
        harness.wait_until(lambda: len(nsd.txt_values(name)) == 3 and len(knot.txt_values(name)) == 3, 15,
                           what="three values on both secondaries")
        harness.wait_until(lambda: len(primary.txt_values(name)) == 2, 10, what="expiry on the primary")
        harness.wait_until(lambda: nsd.txt_values(name) == primary.txt_values(name) and
                           knot.txt_values(name) == primary.txt_values(name), 15, what="expiry on secondaries")
        check(harness.txt_value(0) not in knot.txt_values(name), "the expired value is still on knot")


def test_restart_keeps_serial_forward():
    with setup() as (primary, nsd, knot):
        accounts = [primary.register() for _ in range(3)]
        for i, acc in enumerate(accounts):
            check(primary.update(acc, harness.txt_value(i))[0] == 200, "update failed")
        names = [x["subdomain"] for x in accounts]
        before = tl.wait_converged(primary, [nsd, knot], names, timeout=15)
        ixfr_before = knot.transfers("IXFR")
        axfr_before = knot.transfers("AXFR")
        primary.stop()
        primary.start()
        after = int(primary.dig(ZONE + ".", "SOA", "+short").stdout.split()[2])
        check(after > before, f"serial went from {before} to {after} across a restart")
        check(primary.update(accounts[0], harness.txt_value(99))[0] == 200, "update after restart failed")
        final = tl.wait_converged(primary, [nsd, knot], names, timeout=15)
        check(final > after, "serial did not move after the restart")
        # The journal survived the restart: Knot caught up incrementally.
        check(knot.transfers("IXFR") > ixfr_before, "knot did not IXFR after the restart")
        check(knot.transfers("AXFR") == axfr_before, "knot needed an AXFR after the restart:\n" + knot.output()[-3000:])


if __name__ == "__main__":
    harness.run_main([test_initial_transfer_and_updates, test_expiry_propagates, test_restart_keeps_serial_forward])
