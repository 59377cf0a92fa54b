-- A txt table without LastUpdate: the values cannot be read, so nothing is imported
-- (not the accounts without their values either).
-- expect-exit: 1
-- expect: import failed, nothing was changed
-- expect: LastUpdate
CREATE TABLE acmedns(Name TEXT, Value TEXT);
CREATE TABLE records(Username TEXT, Password TEXT, Subdomain TEXT, AllowFrom TEXT);
CREATE TABLE txt(Subdomain TEXT, Value TEXT);
-- the one good account
INSERT INTO records VALUES('c0ffee00-0000-4000-8000-000000000001', '$2b$10$2Jr0hZwOuPLmuKnBlUVQj.6jYsLTw79m1jyzKQy5JLi2EkkU8XKOm', 'c0ffee00-0000-4000-8000-0000000000aa', '[]');
INSERT INTO txt VALUES('c0ffee00-0000-4000-8000-0000000000aa', '');
