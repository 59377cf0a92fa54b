-- acme-dnsd schema, version 1. Applied to new databases as migration 1; later
-- versions are forward-only migrations in store.cpp (kMigrations).
CREATE TABLE accounts (
  username          TEXT PRIMARY KEY,           -- canonical lowercase UUID
  key_hash          TEXT NOT NULL,              -- "s256$<salt>$<digest>" or an acme-dns bcrypt hash
  subdomain         TEXT NOT NULL UNIQUE,       -- lowercase DNS label (a UUID)
  allowfrom         TEXT NOT NULL DEFAULT '[]', -- JSON array of CIDRs as registered
  allowfrom_invalid INTEGER NOT NULL DEFAULT 0, -- imported allowfrom was unreadable: deny all
  created_at        INTEGER NOT NULL            -- unix seconds
);

-- TXT values by owner name relative to the zone: an account subdomain, or a name the
-- embedded ACME client presents. Many values per name (see API.md, txt_limit).
CREATE TABLE txt_values (
  name       TEXT NOT NULL,
  value      TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,                  -- unix milliseconds: orders same-second updates
  PRIMARY KEY (name, value)
) WITHOUT ROWID;

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
