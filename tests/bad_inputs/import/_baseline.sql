-- Not a case: the target database every case imports into starts as this acme-dns
-- database imported into an empty acme-dnsd database (two accounts, two values).
CREATE TABLE acmedns(Name TEXT, Value TEXT);
INSERT INTO acmedns(Name, Value) VALUES('db_version', '1');
CREATE TABLE records(Username TEXT UNIQUE NOT NULL PRIMARY KEY, Password TEXT UNIQUE NOT NULL,
    Subdomain TEXT UNIQUE NOT NULL, AllowFrom TEXT);
CREATE TABLE txt(Subdomain TEXT NOT NULL, Value TEXT NOT NULL DEFAULT '', LastUpdate INT);
INSERT INTO records VALUES('11111111-1111-4111-8111-111111111111', '$2b$10$I9MejpgnEmNDUL5nxuzBve4MxaQM9Loxxfzy9KsJ/dALNabzeGIEW', 'aaaaaaaa-0000-4000-8000-000000000001', '[]');
INSERT INTO records VALUES('22222222-2222-4222-8222-222222222222', '$2b$10$/KcGRxzAnewRlQ0irjeQ2uxMdPF5bPjisFmXBHviaFehksRdBBjgS', 'aaaaaaaa-0000-4000-8000-000000000002', '["127.0.0.0/8"]');
INSERT INTO txt VALUES('aaaaaaaa-0000-4000-8000-000000000001', 'baselinevalue1AAAAAAAAAAAAAAAAAAAAAAAAAAAAA', strftime('%s','now'));
INSERT INTO txt VALUES('aaaaaaaa-0000-4000-8000-000000000002', 'baselinevalue2AAAAAAAAAAAAAAAAAAAAAAAAAAAAA', strftime('%s','now'));
