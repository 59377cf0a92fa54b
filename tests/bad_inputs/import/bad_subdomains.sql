-- Subdomains that are not one DNS label are skipped, the good account is imported.
-- expect: imported 1 accounts
-- expect: skipped: c0ffee00-0000-4000-8000-000000000002: subdomain "has space" is not a DNS label, skipped
-- expect: skipped: c0ffee00-0000-4000-8000-000000000003: subdomain "a.b" is not a DNS label, skipped
-- expect: skipped: c0ffee00-0000-4000-8000-000000000004: subdomain "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" is not a DNS label, skipped
-- expect: skipped: c0ffee00-0000-4000-8000-000000000005: subdomain "" is not a DNS label, skipped
-- expect: skipped: c0ffee00-0000-4000-8000-000000000006: subdomain "'; drop table accounts;--" is not a DNS label, skipped
-- imported: 1
CREATE TABLE acmedns(Name TEXT, Value TEXT);
INSERT INTO acmedns(Name, Value) VALUES('db_version', '1');
CREATE TABLE records(Username TEXT, Password TEXT, Subdomain TEXT, AllowFrom TEXT);
CREATE TABLE txt(Subdomain TEXT, Value TEXT, LastUpdate INT);
-- the one good account
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000001', '$2b$10$2Jr0hZwOuPLmuKnBlUVQj.6jYsLTw79m1jyzKQy5JLi2EkkU8XKOm', 'c0ffee00-0000-4000-8000-0000000000aa', '[]');
INSERT INTO txt VALUES('c0ffee00-0000-4000-8000-0000000000aa', '', 0);
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000002', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'has space', '[]');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000003', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'a.b', '[]');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000004', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '[]');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000005', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', '', '[]');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000006', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', '''; DROP TABLE accounts;--', '[]');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000007', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', NULL, '[]');
