-- TXT values that are not 43 base64url characters are skipped; the account is imported.
-- expect: imported 1 accounts and 1 TXT values
-- expect: skipped: c0ffee00-0000-4000-8000-0000000000aa: TXT value "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" is not a challenge value, skipped
-- expect: skipped: c0ffee00-0000-4000-8000-0000000000aa: TXT value "'; DROP TABLE txt_values;--" is not a challenge value, skipped
-- expect: is not a challenge value, skipped
-- imported: 1
CREATE TABLE acmedns(Name TEXT, Value TEXT);
INSERT INTO acmedns(Name, Value) VALUES('db_version', '1');
CREATE TABLE records(Username TEXT UNIQUE NOT NULL PRIMARY KEY, Password TEXT UNIQUE NOT NULL,
    Subdomain TEXT UNIQUE NOT NULL, AllowFrom TEXT);
CREATE TABLE txt(Subdomain TEXT NOT NULL, Value TEXT NOT NULL DEFAULT '', LastUpdate INT);
-- the one good account
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000001', '$2b$10$2Jr0hZwOuPLmuKnBlUVQj.6jYsLTw79m1jyzKQy5JLi2EkkU8XKOm', 'c0ffee00-0000-4000-8000-0000000000aa', '[]');
INSERT INTO txt VALUES('c0ffee00-0000-4000-8000-0000000000aa', '', 0);
INSERT INTO txt VALUES('c0ffee00-0000-4000-8000-0000000000aa', 'goodvalue0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', strftime('%s','now'));
INSERT INTO txt VALUES('c0ffee00-0000-4000-8000-0000000000aa', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', strftime('%s','now'));
INSERT INTO txt VALUES('c0ffee00-0000-4000-8000-0000000000aa', '''; DROP TABLE txt_values;--', strftime('%s','now'));
INSERT INTO txt VALUES('c0ffee00-0000-4000-8000-0000000000aa', replace(hex(zeroblob(500000)), '00', 'A'), strftime('%s','now'));
