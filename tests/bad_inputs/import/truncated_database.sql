-- A real acme-dns database cut after its second page (a copy interrupted midway).
-- truncate-to: 6144
-- expect-exit: 1
-- expect: import failed, nothing was changed
-- expect: malformed
CREATE TABLE acmedns(Name TEXT, Value TEXT);
INSERT INTO acmedns(Name, Value) VALUES('db_version', '1');
CREATE TABLE records(Username TEXT UNIQUE NOT NULL PRIMARY KEY, Password TEXT UNIQUE NOT NULL,
    Subdomain TEXT UNIQUE NOT NULL, AllowFrom TEXT);
CREATE TABLE txt(Subdomain TEXT NOT NULL, Value TEXT NOT NULL DEFAULT '', LastUpdate INT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
INSERT INTO records
SELECT printf('%08x-0000-4000-8000-%012x', i, i), printf('$2b$10$%053d', i),
       printf('%08x-1111-4000-8000-%012x', i, i), '[]' FROM n;
