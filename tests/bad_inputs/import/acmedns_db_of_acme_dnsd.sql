-- An acme-dnsd database given as the source (the wrong file): accounts, not records.
-- expect-exit: 1
-- expect: import failed, nothing was changed
-- expect: has no `records` table
CREATE TABLE accounts(username TEXT PRIMARY KEY, key_hash TEXT NOT NULL, subdomain TEXT NOT NULL UNIQUE,
    allowfrom TEXT NOT NULL DEFAULT '[]', allowfrom_invalid INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
CREATE TABLE txt_values(name TEXT NOT NULL, value TEXT NOT NULL, updated_ms INTEGER NOT NULL, PRIMARY KEY(name, value));
INSERT INTO accounts VALUES('c0ffee00-0000-4000-8000-000000000001', 's256\$x\$y', 'c0ffee00-0000-4000-8000-0000000000aa', '[]', 0, 0);
