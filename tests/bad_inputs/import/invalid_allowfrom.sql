-- An unreadable AllowFrom keeps the account but flags it (denied until PATCH /account),
-- never "allow from anywhere" (README, Migrating from acme-dns).
-- expect: imported 5 accounts
-- expect: flagged: c0ffee00-0000-4000-8000-000000000002: allowfrom {bad is not a list of CIDRs
-- expect: flagged: c0ffee00-0000-4000-8000-000000000003: allowfrom ["10.0.0.0/33"] is not a list of CIDRs
-- expect: flagged: c0ffee00-0000-4000-8000-000000000004: allowfrom "10.0.0.0/8" is not a list of CIDRs
-- expect: flagged: c0ffee00-0000-4000-8000-000000000005: allowfrom [1] is not a list of CIDRs
-- imported: 5
-- flagged: 4
CREATE TABLE acmedns(Name TEXT, Value TEXT);
INSERT INTO acmedns(Name, Value) VALUES('db_version', '1');
CREATE TABLE records(Username TEXT UNIQUE NOT NULL PRIMARY KEY, Password TEXT UNIQUE NOT NULL,
    Subdomain TEXT UNIQUE NOT NULL, AllowFrom TEXT);
CREATE TABLE txt(Subdomain TEXT NOT NULL, Value TEXT NOT NULL DEFAULT '', LastUpdate INT);
-- the one good account
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000001', '$2b$10$2Jr0hZwOuPLmuKnBlUVQj.6jYsLTw79m1jyzKQy5JLi2EkkU8XKOm', 'c0ffee00-0000-4000-8000-0000000000aa', '[]');
INSERT INTO txt VALUES('c0ffee00-0000-4000-8000-0000000000aa', '', 0);
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000002', '$2b$10$XR2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b2', '{bad');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000003', '$2b$10$XS2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b3', '["10.0.0.0/33"]');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000004', '$2b$10$XT2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b4', '"10.0.0.0/8"');
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000005', '$2b$10$XU2617johKIsVAOmoikyM.aNTJ7HpxmCJD1S7ef3LnX19XKJx8y9a', 'c0ffee00-0000-4000-8000-0000000000b5', '[1]');
