"""docs/configuration.md describes every key of config.toml.example, in the right
section, and names no key the example does not have; the recipes keep the settings
names the clients read (a rename in the doc would silently break a copy-paste)."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

EXAMPLE = os.path.join(harness.SOURCE_DIR, "config.toml.example")
CONFIG_DOC = os.path.join(harness.SOURCE_DIR, "docs", "configuration.md")
RECIPES = os.path.join(harness.SOURCE_DIR, "docs", "recipes.md")


def example_keys():
    """{section: [keys]} from the example, including the commented [[certificate]]
    template (its keys are documented too)."""
    keys, section = {}, None
    with open(EXAMPLE) as f:
        for line in f:
            m = re.match(r"^#?\s*\[\[?([a-z_]+)\]\]?\s*$", line)
            if m:
                section = m.group(1)
                keys.setdefault(section, [])
                continue
            m = re.match(r"^(?:# )?([a-z0-9_]+) = ", line)
            if m and section:
                keys[section].append(m.group(1))
    return keys


def doc_sections():
    """{section: set of `key` names in the first column of its tables}."""
    out, section = {}, None
    with open(CONFIG_DOC) as f:
        for line in f:
            m = re.match(r"^## \[\[?([a-z_]+)\]\]?", line)
            if m:
                section = m.group(1)
                out[section] = set()
                continue
            m = re.match(r"^\| `([a-z0-9_]+)` \|", line)
            if m and section:
                out[section].add(m.group(1))
    return out


def test_every_example_key_documented():
    keys, doc = example_keys(), doc_sections()
    assert sum(len(v) for v in keys.values()) > 70, keys  # the parser really found them
    missing = [f"[{s}] {k}" for s, ks in keys.items() for k in ks if k not in doc.get(s, set())]
    assert not missing, f"not in docs/configuration.md: {missing}"


def test_no_undocumented_extra_keys():
    keys, doc = example_keys(), doc_sections()
    extra = [f"[{s}] {k}" for s, ks in doc.items() for k in ks if k not in keys.get(s, [])]
    assert not extra, f"documented but not in config.toml.example: {extra}"


def test_recipes_name_client_settings():
    with open(RECIPES) as f:
        text = f.read()
    for name in ["acmeDNS:", "accountSecretRef", "ACME_DNS_API_BASE", "ACME_DNS_STORAGE_PATH",
                 "HTTPREQ_ENDPOINT", "HTTPREQ_USERNAME", "HTTPREQ_PASSWORD",
                 "acme-dns-auth.py", "ACMEDNS_URL", "ACMEDNS_UPDATE_URL", "ACMEDNS_USERNAME",
                 "ACMEDNS_PASSWORD", "ACMEDNS_SUBDOMAIN", "dns_acmedns", "dns acmedns",
                 "server_url", "-Plugin AcmeDns", "ACMEServer"]:
        assert name in text, f"recipes.md lost {name}"
    # The certbot hook's settings as the hook itself reads them.
    with open(os.path.join(harness.SOURCE_DIR, "contrib", "certbot", "acme-dns-auth.py")) as f:
        hook = f.read()
    for var in re.findall(r"`(ACMEDNS_[A-Z_]+)`", text.split("## certbot")[1].split("## ")[0]):
        assert var in hook, f"recipes.md names {var}, which the certbot hook does not read"


if __name__ == "__main__":
    harness.run_main([test_every_example_key_documented, test_no_undocumented_extra_keys,
                      test_recipes_name_client_settings])
