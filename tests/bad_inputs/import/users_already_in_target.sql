-- Accounts that clash with ones already in acme-dnsd (same user, or same subdomain)
-- are not imported and the existing ones keep their key and values.
-- expect: imported 0 accounts
-- expect: skipped: 11111111-1111-4111-8111-111111111111: not imported (
-- expect: skipped: c0ffee00-0000-4000-8000-000000000002: not imported (
-- imported: 0
CREATE TABLE acmedns(Name TEXT, Value TEXT);
INSERT INTO acmedns(Name, Value) VALUES('db_version', '1');
CREATE TABLE records(Username TEXT UNIQUE NOT NULL PRIMARY KEY, Password TEXT UNIQUE NOT NULL,
    Subdomain TEXT UNIQUE NOT NULL, AllowFrom TEXT);
CREATE TABLE txt(Subdomain TEXT NOT NULL, Value TEXT NOT NULL DEFAULT '', LastUpdate INT);
INSERT INTO records VALUES('11111111-1111-4111-8111-111111111111', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b1', '["0.0.0.0/0"]');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000002', '$2b$10$XS2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'aaaaaaaa-0000-4000-8000-000000000002', '[]');
INSERT INTO txt VALUES('aaaaaaaa-0000-4000-8000-000000000002', 'intrudervalueAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', strftime('%s','now'));
