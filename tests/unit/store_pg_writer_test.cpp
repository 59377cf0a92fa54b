// The PostgreSQL writer's batching and retry, against another connection that holds
// locks the writer needs: unit.store_pg_tests (tests/unit/with_postgres.py starts the
// cluster). PostgreSQL only: SQLite has one writer per file and neither case exists there.
#include "catch_compat.hpp"
#include <chrono>
#include <ctime>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"
#include "store_contract_util.hpp"

using namespace acmednsd;
using acmednsd::testing::open_store;
using acmednsd::testing::TestDb;
using acmednsd::testing::txt;

namespace {

// A second session on the test database, with its own transaction.
class Session {
 public:
  explicit Session(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(c_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c_));
  }
  ~Session() { PQfinish(c_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The command tag's row count ("" for none), or throws with the server's message.
  std::string run(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    const auto st = PQresultStatus(r);
    const std::string rows = PQcmdTuples(r);
    const std::string first = st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    const std::string message = PQresultErrorMessage(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw std::runtime_error(message + " in: " + sql);
    return st == PGRES_TUPLES_OK ? first : rows;
  }

 private:
  PGconn* c_;
};

bool served(const Store& store, const std::string& name, const std::string& value) {
  bool found = false;
  struct Seen {
    const std::string* want;
    bool* found;
  } seen{&value, &found};
  store.index().visit(
      name, std::time(nullptr),
      [](void* c, std::string_view v) {
        auto* s = static_cast<Seen*>(c);
        if (v == *s->want) *s->found = true;
      },
      &seen);
  return found;
}

// Until the store's writer waits for a lock (the other session holds it).
bool writer_waits_for_a_lock(Session& other) {
  for (int i = 0; i < 500; ++i) {
    if (other.run("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                  "AND application_name = 'acme-dnsd'") == "1") {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// `other` takes the serial row, then an update is sent: the writer's first batch waits
// for the row, so the jobs sent next queue up behind it and later run as one batch.
// `first` gets that update's result once `other` ends its transaction.
void hold_the_writer(Session& other, Store& store, std::promise<Result<Done>>& first) {
  other.run("BEGIN");
  other.run("SELECT value FROM meta WHERE key = 'serial' FOR UPDATE");
  store.add_txt("first.auth.example.org", txt(0),
                [&first](Result<Done> r) { first.set_value(std::move(r)); });
  REQUIRE(writer_waits_for_a_lock(other));
}

}  // namespace

TEST_CASE("postgres writer: a batch that deadlocks with another transaction runs again and commits") {
  TestDb db;
  REQUIRE(db.postgres());
  auto store = open_store(db);
  const std::string name = "deadlock.auth.example.org";
  Session other(db.connection());
  // Only the writer's connection (deadlock_timeout 1 s) looks for the cycle in time, so
  // the writer's transaction is the one PostgreSQL rolls back.
  other.run("SET deadlock_timeout = '30s'");
  other.run("BEGIN");
  other.run("SELECT value FROM meta WHERE key = 'serial' FOR UPDATE");

  std::promise<Result<Done>> added;
  store->add_txt(name, txt(1), [&](Result<Done> r) { added.set_value(std::move(r)); });
  // The writer has inserted its row and now waits for the serial row.
  REQUIRE(writer_waits_for_a_lock(other));
  // This insert waits for the writer's uncommitted row: a cycle.
  const auto start = std::chrono::steady_clock::now();
  const std::string inserted = other.run("INSERT INTO txt_values(name, value, updated_ms) VALUES('" + name +
                                         "', '" + txt(1) + "', 1) ON CONFLICT DO NOTHING");
  const auto waited = std::chrono::steady_clock::now() - start;
  // One row: the writer's insert was rolled back (it was the deadlock's victim), and
  // well before this session's own 30 s deadlock check.
  CHECK(inserted == "1");
  CHECK(waited < std::chrono::seconds(20));
  other.run("COMMIT");

  auto future = added.get_future();
  REQUIRE(future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  auto result = future.get();
  INFO((result.ok() ? "" : result.error().code + ": " + result.error().message));
  CHECK(result.ok());  // without the retry: db_error
  CHECK(served(*store, name, txt(1)));
  // The run again wrote its own time over the other session's row, and the serial.
  CHECK(db.query("SELECT updated_ms FROM txt_values WHERE name = '" + name + "'") != "1");
  CHECK(db.query("SELECT value FROM meta WHERE key = 'serial'") == std::to_string(store->index().serial()));
  CHECK(db.query("SELECT count(*) FROM change_log WHERE entries LIKE '%" + txt(1) + "%'") == "1");
}

TEST_CASE("postgres writer: in a batch of updates run as one statement, a failing one fails alone") {
  TestDb db;
  REQUIRE(db.postgres());
  auto store = open_store(db);
  const std::string bad = txt(99);
  // A value the database refuses (as a constraint or a trigger of an operator would).
  db.exec(
      "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "IF NEW.value = '" +
      bad +
      "' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$; "
      "CREATE TRIGGER refuse BEFORE INSERT ON txt_values FOR EACH ROW EXECUTE FUNCTION refuse()");

  // The writer is held at the serial row by another session, so the next updates queue
  // up behind its first batch and are then written as one batch.
  Session other(db.connection());
  std::promise<Result<Done>> first;
  hold_the_writer(other, *store, first);

  constexpr int kJobs = 10;
  std::vector<std::promise<Result<Done>>> done(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    const std::string value = i == 4 ? bad : txt(i + 1);
    store->add_txt("n" + std::to_string(i) + ".auth.example.org", value,
                   [&done, i](Result<Done> r) { done[static_cast<std::size_t>(i)].set_value(std::move(r)); });
  }
  other.run("COMMIT");

  auto f0 = first.get_future();
  REQUIRE(f0.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  CHECK(f0.get().ok());
  for (int i = 0; i < kJobs; ++i) {
    auto f = done[static_cast<std::size_t>(i)].get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    auto r = f.get();
    const std::string name = "n" + std::to_string(i) + ".auth.example.org";
    INFO(name << (r.ok() ? std::string() : " " + r.error().code + ": " + r.error().message));
    if (i == 4) {
      CHECK(!r.ok());
      CHECK(!served(*store, name, bad));
      CHECK(db.query("SELECT count(*) FROM txt_values WHERE name = '" + name + "'") == "0");
    } else {
      CHECK(r.ok());
      CHECK(served(*store, name, txt(i + 1)));
      CHECK(db.query("SELECT count(*) FROM txt_values WHERE name = '" + name + "' AND value = '" +
                     txt(i + 1) + "'") == "1");
    }
  }
  // Other instances replay the change log: it holds the nine, not the refused one.
  const std::string last = db.query("SELECT entries FROM change_log ORDER BY seq DESC LIMIT 1");
  for (int i = 0; i < kJobs; ++i) {
    INFO(i);
    CHECK((last.find(i == 4 ? bad : txt(i + 1)) != std::string::npos) == (i != 4));
  }
  CHECK(db.query("SELECT value FROM meta WHERE key = 'serial'") == std::to_string(store->index().serial()));
}

TEST_CASE("postgres writer: a connection lost in the middle of a batch acknowledges nothing of it") {
  TestDb db;
  REQUIRE(db.postgres());
  auto store = open_store(db);
  // The writer's own backend ends its connection while inserting this account, after
  // the batch's first update was written in the same transaction.
  db.exec(
      "CREATE FUNCTION hang_up() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "IF NEW.allowfrom LIKE '%10.66.0.0/16%' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; "
      "RETURN NEW; END $$; "
      "CREATE TRIGGER hang_up BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION hang_up()");

  // Held at the serial row, so the next three jobs queue up and run as one batch:
  // update x, the account that hangs up, update y.
  Session other(db.connection());
  std::promise<Result<Done>> first;
  hold_the_writer(other, *store, first);
  std::promise<Result<Done>> x;
  std::promise<Result<Credentials>> account;
  std::promise<Result<Done>> y;
  store->add_txt("x.auth.example.org", txt(1), [&](Result<Done> r) { x.set_value(std::move(r)); });
  store->create_account({"10.66.0.0/16"}, [&](Result<Credentials> r) { account.set_value(std::move(r)); });
  store->add_txt("y.auth.example.org", txt(2), [&](Result<Done> r) { y.set_value(std::move(r)); });
  other.run("COMMIT");

  auto wait = [](auto& promise) {
    auto f = promise.get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    return f.get();
  };
  CHECK(wait(first).ok());
  const auto rx = wait(x);
  const auto ra = wait(account);
  const auto ry = wait(y);
  CHECK(!ra.ok());
  // Whatever was acknowledged is in the database (none of it is: the transaction died
  // with the connection, and the rest of the batch must not commit on a new one).
  CHECK(!rx.ok());
  CHECK(!ry.ok());
  CHECK(db.query(
            "SELECT count(*) FROM txt_values WHERE name IN ('x.auth.example.org', 'y.auth.example.org')") ==
        "0");
  CHECK(!served(*store, "x.auth.example.org", txt(1)));
  CHECK(db.query("SELECT count(*) FROM change_log WHERE entries LIKE '%" + txt(1) + "%'") == "0");
  // The next batch reconnects and commits; the serial is the stored one.
  CHECK(store->add_txt_sync("z.auth.example.org", txt(3)).ok());
  CHECK(served(*store, "z.auth.example.org", txt(3)));
  CHECK(db.query("SELECT value FROM meta WHERE key = 'serial'") == std::to_string(store->index().serial()));
}
