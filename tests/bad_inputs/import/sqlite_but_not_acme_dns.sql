-- Some other application's SQLite database.
-- expect-exit: 1
-- expect: import failed, nothing was changed
-- expect: has no `records` table: not an acme-dns database
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, password TEXT);
INSERT INTO users(name, password) VALUES('admin', 'hunter2');
