#include "store/sqlite_db.hpp"

#include <fcntl.h>
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

namespace acmednsd::sqlite {

Statement& Statement::bind(const char* name, std::string_view text) {
  const int i = sqlite3_bind_parameter_index(st_.get(), name);
  const int rc =
      i == 0 ? SQLITE_RANGE
             : sqlite3_bind_text(st_.get(), i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind(const char* name, std::int64_t value) {
  const int i = sqlite3_bind_parameter_index(st_.get(), name);
  const int rc = i == 0 ? SQLITE_RANGE : sqlite3_bind_int64(st_.get(), i, value);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind_null(const char* name) {
  const int i = sqlite3_bind_parameter_index(st_.get(), name);
  const int rc = i == 0 ? SQLITE_RANGE : sqlite3_bind_null(st_.get(), i);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

int Statement::step() {
  if (bind_error_ != SQLITE_OK) return bind_error_;
  return sqlite3_step(st_.get());
}

Status Statement::run() {
  int rc = step();
  while (rc == SQLITE_ROW) rc = sqlite3_step(st_.get());
  Status result = ok_status();
  if (rc != SQLITE_DONE) result = make_error("db_error", error());
  reset();
  return result;
}

void Statement::reset() {
  sqlite3_reset(st_.get());
  sqlite3_clear_bindings(st_.get());
  bind_error_ = SQLITE_OK;
}

std::string Statement::text(int column) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(st_.get(), column));
  const int n = sqlite3_column_bytes(st_.get(), column);
  return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(st_.get(), column);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(st_.get(), column) == SQLITE_NULL;
}

std::string Statement::error() const {
  if (bind_error_ != SQLITE_OK) return std::string("bind: ") + sqlite3_errstr(bind_error_);
  return sqlite3_errmsg(db_);
}

Result<Connection> Connection::open(const std::string& path, bool read_only) {
  if (!read_only && ::access(path.c_str(), F_OK) != 0) {
    // Create the file ourselves so it is 0600 from its first byte (SQLite would use 0644;
    // its -wal and -shm files copy the database file's mode). Only when it does not exist
    // yet: close() on any descriptor of a file drops every POSIX lock this process holds
    // on it, which would silently break the locks of connections already open.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) return make_error("db_error", path + ": cannot be created");
    if (fd >= 0) ::close(fd);
  }
  sqlite3* raw = nullptr;
  const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Connection c;
  c.db_.reset(raw);
  if (rc != SQLITE_OK) {
    return make_error("db_error", path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  return c;
}

Status Connection::exec(std::string_view sql) {
  char* message = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return ok_status();
  std::string m = message ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return make_error("db_error", m);
}

Result<Statement> Connection::prepare(std::string_view sql) {
  sqlite3_stmt* st = nullptr;
  const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return make_error("db_error", std::string(sqlite3_errmsg(db_.get())) + " in: " + std::string(sql));
  }
  return Statement(db_.get(), st);
}

Result<std::int64_t> Connection::query_int(std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return st.error();
  const int rc = st->step();
  if (rc != SQLITE_ROW) return make_error("db_error", st->error());
  return st->integer(0);
}

}  // namespace acmednsd::sqlite
