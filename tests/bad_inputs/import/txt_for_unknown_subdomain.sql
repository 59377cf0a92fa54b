-- TXT rows whose subdomain has no account are skipped.
-- expect: imported 1 accounts and 0 TXT values
-- expect: skipped: TXT value for unknown subdomain "deadbeef-0000-4000-8000-000000000000" skipped
-- imported: 1
CREATE TABLE acmedns(Name TEXT, Value TEXT);
INSERT INTO acmedns(Name, Value) VALUES('db_version', '1');
CREATE TABLE records(Username TEXT UNIQUE NOT NULL PRIMARY KEY, Password TEXT UNIQUE NOT NULL,
    Subdomain TEXT UNIQUE NOT NULL, AllowFrom TEXT);
CREATE TABLE txt(Subdomain TEXT NOT NULL, Value TEXT NOT NULL DEFAULT '', LastUpdate INT);
-- the one good account
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000001', '$2b$10$2Jr0hZwOuPLmuKnBlUVQj.6jYsLTw79m1jyzKQy5JLi2EkkU8XKOm', 'c0ffee00-0000-4000-8000-0000000000aa', '[]');
INSERT INTO txt VALUES('c0ffee00-0000-4000-8000-0000000000aa', '', 0);
INSERT INTO txt VALUES('deadbeef-0000-4000-8000-000000000000', 'orphanvalueAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', strftime('%s','now'));
