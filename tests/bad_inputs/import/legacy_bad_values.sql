-- An acme-dns database from before db_version 1 (values on the records table) with a
-- value that is not a challenge value: skipped, the account is imported.
-- expect: imported 1 accounts and 0 TXT values
-- expect: skipped: c0ffee00-0000-4000-8000-000000000001: TXT value "not a challenge value" is not a challenge value, skipped
-- imported: 1
CREATE TABLE acmedns(Name TEXT, Value TEXT);
INSERT INTO acmedns(Name, Value) VALUES('db_version', '0');
CREATE TABLE records(Username TEXT UNIQUE NOT NULL PRIMARY KEY, Password TEXT UNIQUE NOT NULL,
    Subdomain TEXT UNIQUE NOT NULL, Value TEXT, LastActive INT, AllowFrom TEXT);
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000001', '$2b$10$2Jr0hZwOuPLmuKnBlUVQj.6jYsLTw79m1jyzKQy5JLi2EkkU8XKOm', 'c0ffee00-0000-4000-8000-0000000000aa', 'not a challenge value', strftime('%s','now'), '[]');
