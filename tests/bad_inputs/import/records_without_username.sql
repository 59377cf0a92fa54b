-- A records table without its Username column.
-- expect-exit: 1
-- expect: import failed, nothing was changed
-- expect: table records has no column username
CREATE TABLE acmedns(Name TEXT, Value TEXT);
CREATE TABLE records(Password TEXT, Subdomain TEXT, AllowFrom TEXT);
CREATE TABLE txt(Subdomain TEXT NOT NULL, Value TEXT NOT NULL DEFAULT '', LastUpdate INT);
