-- The same user twice (also in another letter case) and the same subdomain twice:
-- the first wins, the others are reported.
-- expect: imported 1 accounts
-- expect: skipped: c0ffee00-0000-4000-8000-000000000001: not imported (
-- expect: skipped: c0ffee00-0000-4000-8000-000000000002: subdomain used twice, skipped
-- imported: 1
CREATE TABLE acmedns(Name TEXT, Value TEXT);
INSERT INTO acmedns(Name, Value) VALUES('db_version', '1');
CREATE TABLE records(Username TEXT, Password TEXT, Subdomain TEXT, AllowFrom TEXT);
CREATE TABLE txt(Subdomain TEXT, Value TEXT, LastUpdate INT);
-- the one good account
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000001', '$2b$10$2Jr0hZwOuPLmuKnBlUVQj.6jYsLTw79m1jyzKQy5JLi2EkkU8XKOm', 'c0ffee00-0000-4000-8000-0000000000aa', '[]');
INSERT INTO txt VALUES('c0ffee00-0000-4000-8000-0000000000aa', '', 0);
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000001', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b1', '[]');
INSERT INTO records VALUES('C0FFEE00-0000-4000-8000-000000000001', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b2', '[]');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000002', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'C0FFEE00-0000-4000-8000-0000000000AA', '[]');
