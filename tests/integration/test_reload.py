"""SIGHUP: the config file is re-read; zone data, the API's allowfrom/proxy and
registration policy and the log level apply at once, keys that need a restart are named
in the log, and a bad file changes nothing. Everything runs against the real binary."""
import signal
import time

import harness
from harness import Server, run_main, txt_value, wait_until


def hup_and_wait(srv, marker):
    """Sends SIGHUP and waits for the log line that ends the reload (`marker`)."""
    before = srv.process.output().count(marker)
    srv.process.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: srv.process.output().count(marker) > before, 10, what=f"log line {marker!r}")


def a_records(srv, name):
    return sorted(srv.dig(name, "A", "+short").stdout.split())


def test_records_and_soa_fields_reload_live():
    with Server() as srv:
        d = srv.domain
        assert a_records(srv, f"www.{d}") == []
        acct = srv.register()
        assert srv.update(acct, txt_value(1))[0] == 200
        srv.config["general"]["records"] = srv.config["general"]["records"] + [
            f"www.{d}. A 192.0.2.80", f"*.wild.{d}. A 192.0.2.81"]
        srv.config["general"]["negative_ttl"] = 17
        srv.write_config()
        hup_and_wait(srv, "SIGHUP: configuration reloaded")
        assert a_records(srv, f"www.{d}") == ["192.0.2.80"]
        assert a_records(srv, f"x.wild.{d}") == ["192.0.2.81"]
        assert "192.0.2.80" in srv.dig(f"www.{d}", "A", "+short", "+tcp").stdout
        negative = srv.dig(f"nothing-here.{d}", "A", "+noall", "+authority").stdout
        assert "\t17\tIN\tSOA" in negative, negative
        # Challenge values live in the store, not the config: untouched by the reload.
        assert srv.txt_values(f"{acct['subdomain']}.{d}") == [txt_value(1)]
        log = srv.process.output()
        assert "[general] records" in log and "[general] negative_ttl" in log

        # Removing the record again removes the answer.
        srv.config["general"]["records"] = srv.config["general"]["records"][:-2]
        srv.write_config()
        hup_and_wait(srv, "SIGHUP: configuration reloaded")
        assert a_records(srv, f"www.{d}") == []


def test_allowfrom_proxy_policy_reloads_live():
    """use_header/trusted_proxies decide which address an account's allowfrom sees."""
    with Server() as srv:
        acct = srv.register(allowfrom=["198.51.100.0/24"])
        forwarded = {"X-Api-User": acct["username"], "X-Api-Key": acct["password"],
                     "X-Forwarded-For": "198.51.100.7"}
        body = {"subdomain": acct["subdomain"], "txt": txt_value(2)}
        # The header is ignored: the peer 127.0.0.1 is outside allowfrom.
        assert srv.request("POST", "/update", body, forwarded)[0] == 401
        srv.config["api"].update({"use_header": True, "header_name": "X-Forwarded-For",
                                  "trusted_proxies": ["127.0.0.0/8"]})
        srv.write_config()
        hup_and_wait(srv, "SIGHUP: configuration reloaded")
        assert srv.request("POST", "/update", body, forwarded)[0] == 200
        assert srv.txt_values(f"{acct['subdomain']}.{srv.domain}") == [txt_value(2)]
        # Trusting another proxy network: 127.0.0.1 is no longer a proxy, its header is ignored.
        srv.config["api"]["trusted_proxies"] = ["10.0.0.0/8"]
        srv.write_config()
        hup_and_wait(srv, "SIGHUP: configuration reloaded")
        assert srv.request("POST", "/update", body, forwarded)[0] == 401


def test_registration_policy_and_log_level_reload_live():
    with Server({"logconfig": {"loglevel": "info"}}) as srv:
        assert srv.request("POST", "/register")[0] == 201
        srv.config["api"]["registration"] = "disabled"
        srv.config["logconfig"]["loglevel"] = "error"
        srv.write_config()
        hup_and_wait(srv, "SIGHUP: configuration reloaded")
        assert srv.request("POST", "/register")[0] == 404  # the route is gone, as disable_registration
        # At level error the access log (info) stops.
        lines_before = srv.process.output().count('path=/health')
        assert srv.request("GET", "/health")[0] == 200
        time.sleep(0.3)
        assert srv.process.output().count('path=/health') == lines_before
        srv.config["api"]["registration"] = "open"
        srv.config["logconfig"]["loglevel"] = "info"
        srv.write_config()
        srv.process.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: srv.request("POST", "/register")[0] == 201, 10, what="registration reopened")
        wait_until(lambda: srv.request("GET", "/health")[0] == 200 and
                   srv.process.output().count('path=/health') > lines_before, 10, what="access log back")


def test_restart_keys_are_named_and_keep_running_values():
    with Server() as srv:
        old_port = srv.dns_port
        srv.config["general"]["listen"] = [f"127.0.0.1:{harness.free_port()}"]
        srv.config["general"]["txt_limit"] = 3
        srv.config["api"]["max_connections"] = 7
        srv.write_config()
        hup_and_wait(srv, "SIGHUP: these changes need a restart")
        line = [l for l in srv.process.output().splitlines() if "need a restart" in l][-1]
        for key in ("[general] listen", "[general] txt_limit", "[api] max_connections"):
            assert key in line, line
        assert "configuration reloaded" not in srv.process.output()  # nothing live changed
        # Still serving on the bound socket.
        assert "127.0.0.1" in srv.dig(srv.domain, "A", "+short", port=old_port).stdout


def test_bad_file_changes_nothing():
    with Server() as srv:
        d = srv.domain
        srv.config["general"]["records"] = srv.config["general"]["records"] + [f"www.{d}. A 192.0.2.80"]
        srv.write_config()
        hup_and_wait(srv, "SIGHUP: configuration reloaded")
        good = open(srv.config_path).read()
        cases = [
            ("[general]\nunknown_key = 1\n", "unknown_key"),
            (good.replace("[api]", "[api]\nport = \"not a port\""), "port"),
            (good.replace(f"www.{d}. A 192.0.2.80", f"www.{d}. A 999.1.1.1"), "999.1.1.1"),
            ("this is = = not toml\n", "config.toml:1"),
        ]
        for text, mention in cases:
            with open(srv.config_path, "w") as f:
                f.write(text)
            hup_and_wait(srv, "SIGHUP: configuration not reloaded")
            line = [l for l in srv.process.output().splitlines() if "not reloaded" in l][-1]
            assert mention in line, (mention, line)
            assert a_records(srv, f"www.{d}") == ["192.0.2.80"], text
            assert srv.request("GET", "/health")[0] == 200
        assert srv.process.alive()


if __name__ == "__main__":
    run_main([test_records_and_soa_fields_reload_live, test_allowfrom_proxy_policy_reloads_live,
              test_registration_policy_and_log_level_reload_live,
              test_restart_keys_are_named_and_keep_running_values, test_bad_file_changes_nothing])
