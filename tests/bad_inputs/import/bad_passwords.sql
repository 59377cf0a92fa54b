-- Passwords that are not bcrypt hashes are skipped, the good account is imported.
-- expect: imported 1 accounts
-- expect: skipped: c0ffee00-0000-4000-8000-000000000002: password is not a bcrypt hash, skipped
-- expect: skipped: c0ffee00-0000-4000-8000-000000000003: password is not a bcrypt hash, skipped
-- expect: skipped: c0ffee00-0000-4000-8000-000000000004: password is not a bcrypt hash, skipped
-- expect: skipped: c0ffee00-0000-4000-8000-000000000005: password is not a bcrypt hash, skipped
-- imported: 1
CREATE TABLE acmedns(Name TEXT, Value TEXT);
INSERT INTO acmedns(Name, Value) VALUES('db_version', '1');
CREATE TABLE records(Username TEXT, Password TEXT, Subdomain TEXT, AllowFrom TEXT);
CREATE TABLE txt(Subdomain TEXT, Value TEXT, LastUpdate INT);
-- the one good account
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000001', '$2b$10$2Jr0hZwOuPLmuKnBlUVQj.6jYsLTw79m1jyzKQy5JLi2EkkU8XKOm', 'c0ffee00-0000-4000-8000-0000000000aa', '[]');
INSERT INTO txt VALUES('c0ffee00-0000-4000-8000-0000000000aa', '', 0);
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000002', 'plaintext-password', 'c0ffee00-0000-4000-8000-0000000000b2', '[]');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000003', '', 'c0ffee00-0000-4000-8000-0000000000b3', '[]');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000004', 12345, 'c0ffee00-0000-4000-8000-0000000000b4', '[]');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000005', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9', 'c0ffee00-0000-4000-8000-0000000000b5', '[]');
