-- Usernames that are not UUIDs are skipped, the good account is imported.
-- expect: imported 1 accounts
-- expect: skipped: record with username "not-a-uuid": not a UUID, skipped
-- expect: skipped: record with username "": not a UUID, skipped
-- expect: skipped: record with username "c0ffee00-0000-4000-8000-00000000000": not a UUID, skipped
-- expect: skipped: record with username "c0ffee00-0000-4000-8000-0000000000022": not a UUID, skipped
-- expect: skipped: record with username "'; DROP TABLE accounts;--": not a UUID, skipped
-- imported: 1
CREATE TABLE acmedns(Name TEXT, Value TEXT);
INSERT INTO acmedns(Name, Value) VALUES('db_version', '1');
CREATE TABLE records(Username TEXT, Password TEXT, Subdomain TEXT, AllowFrom TEXT);
CREATE TABLE txt(Subdomain TEXT, Value TEXT, LastUpdate INT);
-- the one good account
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000001', '$2b$10$2Jr0hZwOuPLmuKnBlUVQj.6jYsLTw79m1jyzKQy5JLi2EkkU8XKOm', 'c0ffee00-0000-4000-8000-0000000000aa', '[]');
INSERT INTO txt VALUES('c0ffee00-0000-4000-8000-0000000000aa', '', 0);
INSERT INTO records VALUES('not-a-uuid', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b1', '[]');
INSERT INTO records VALUES('', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b2', '[]');
INSERT INTO records VALUES(NULL, '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b3', '[]');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-00000000000', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b4', '[]');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-0000000000022', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b5', '[]');
INSERT INTO records VALUES('''; DROP TABLE accounts;--', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b6', '[]');
INSERT INTO records VALUES(X'c0ffee00ff', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b7', '[]');
INSERT INTO records VALUES('zzzzzzzz-0000-4000-8000-000000000003', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b8', '[]');
