// The database a store contract test runs on: a SQLite file, or a fresh database in the
// PostgreSQL cluster tests/unit/with_postgres.py started (ACMEDNSD_TEST_ENGINE=postgres,
// ACMEDNSD_TEST_PG = its key=value connection string). One suite, two fixtures; the
// PostgreSQL run fails, never skips, when no cluster was given.
#pragma once

#include <libpq-fe.h>
#include <sqlite3.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "store/store.hpp"
#include "store_test_util.hpp"

namespace acmednsd::testing {

inline std::string test_engine() {
  const char* e = std::getenv("ACMEDNSD_TEST_ENGINE");
  return e != nullptr ? e : "sqlite3";
}

class TestDb {
 public:
  TestDb() : engine_(test_engine()) {
    if (engine_ == "sqlite3") {
      connection_ = dir_.file("acme.db");
      return;
    }
    const char* admin = std::getenv("ACMEDNSD_TEST_PG");
    if (admin == nullptr) throw std::runtime_error("ACMEDNSD_TEST_ENGINE=postgres needs ACMEDNSD_TEST_PG");
    admin_ = admin;
    name_ = "t" + random_uuid_v4();
    for (auto& ch : name_) {
      if (ch == '-') ch = '_';
    }
    admin_exec("CREATE DATABASE " + name_);
    connection_ = admin_ + " dbname=" + name_;  // the last dbname wins
  }
  ~TestDb() {
    if (!name_.empty()) {
      try {
        admin_exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
      } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): a leftover test database
      }
    }
  }
  TestDb(const TestDb&) = delete;
  TestDb& operator=(const TestDb&) = delete;

  [[nodiscard]] const std::string& engine() const { return engine_; }
  [[nodiscard]] bool postgres() const { return engine_ == "postgres"; }
  [[nodiscard]] const std::string& connection() const { return connection_; }

  [[nodiscard]] StoreOptions options(RetentionPolicy policy = {}) const {
    StoreOptions o;
    o.engine = engine_;
    o.path = connection_;
    o.retention = policy;
    return o;
  }

  // Runs SQL on the test database directly (to set up what a test needs).
  void exec(const std::string& sql) const {
    if (postgres()) return pg_exec(connection_, sql);
    sqlite3* db = nullptr;
    if (sqlite3_open(connection_.c_str(), &db) != SQLITE_OK) throw std::runtime_error("sqlite open");
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    const std::string message = err != nullptr ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    if (rc != SQLITE_OK) throw std::runtime_error("sqlite: " + message);
  }

  // The first column of the first row, as text.
  [[nodiscard]] std::string query(const std::string& sql) const {
    if (postgres()) {
      PGconn* c = PQconnectdb(connection_.c_str());
      PGresult* r = PQexec(c, sql.c_str());
      std::string out = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
      PQclear(r);
      PQfinish(c);
      return out;
    }
    sqlite3* db = nullptr;
    sqlite3_open(connection_.c_str(), &db);
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(st, 0);
      out = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

 private:
  void admin_exec(const std::string& sql) const { pg_exec(admin_, sql); }
  static void pg_exec(const std::string& conninfo, const std::string& sql) {
    PGconn* c = PQconnectdb(conninfo.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string m = PQerrorMessage(c);
      PQfinish(c);
      throw std::runtime_error("postgres: " + m);
    }
    PGresult* r = PQexec(c, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    std::string m = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    if (!ok) throw std::runtime_error("postgres: " + m + " in: " + sql);
  }

  std::string engine_;
  TempDir dir_;
  std::string admin_;
  std::string name_;
  std::string connection_;
};

}  // namespace acmednsd::testing
