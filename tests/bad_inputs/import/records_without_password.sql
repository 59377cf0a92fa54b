-- A records table without its Password column.
-- expect-exit: 1
-- expect: import failed, nothing was changed
-- expect: table records has no column password
CREATE TABLE acmedns(Name TEXT, Value TEXT);
CREATE TABLE records(Username TEXT, Subdomain TEXT, AllowFrom TEXT);
CREATE TABLE txt(Subdomain TEXT NOT NULL, Value TEXT NOT NULL DEFAULT '', LastUpdate INT);
