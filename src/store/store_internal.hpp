// Private to src/store/: the writer thread (group commit) and the pieces the store's
// translation units share.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "store/sqlite_db.hpp"
#include "store/store.hpp"
#include "store/zone_journal.hpp"

namespace acmednsd::store_detail {

// What one job or batch did to the zone's TXT content, netted (a value added and then
// removed in the same batch is no change), for the IXFR journal.
struct ZoneChanges {
  std::map<std::pair<std::string, std::string>, int> net;  // +1 added, -1 removed
  bool reset = false;  // too much to list (an import): the journal starts over

  void added(const std::string& name, const std::string& value) { note(name, value, +1); }
  void removed(const std::string& name, const std::string& value) { note(name, value, -1); }
  void merge(const ZoneChanges& other) {
    reset = reset || other.reset;
    for (const auto& [key, sign] : other.net) note(key.first, key.second, sign);
  }
  [[nodiscard]] ZoneJournal::Diff diff(std::uint32_t from, std::uint32_t to) const {
    ZoneJournal::Diff d{from, to, {}, {}};
    for (const auto& [key, sign] : net) (sign > 0 ? d.added : d.removed).push_back({key.first, key.second});
    return d;
  }

 private:
  void note(const std::string& name, const std::string& value, int sign) {
    auto [it, inserted] = net.try_emplace({name, value}, sign);
    if (!inserted && it->second != sign) net.erase(it);  // undone within the batch
  }
};

// The writer connection with its statements, prepared once.
struct WriterContext {
  sqlite::Connection db;  // default-constructed, then moved in
  sqlite::Statement upsert_txt;
  sqlite::Statement trim_txt;
  sqlite::Statement count_txt;
  sqlite::Statement delete_txt;
  sqlite::Statement delete_txt_of_name;
  sqlite::Statement insert_account;
  sqlite::Statement update_allowfrom;
  sqlite::Statement update_key_hash;
  sqlite::Statement delete_account;
  sqlite::Statement select_account;
  sqlite::Statement set_meta;
  sqlite::Statement value_exists;
  sqlite::Statement select_values_of_name;
  sqlite::Statement select_trimmed;
  sqlite::Statement insert_journal;
  sqlite::Statement trim_journal;
  // The IXFR journal (null = off); `changes` collects the running job's changes.
  ZoneJournal* journal = nullptr;
  ZoneChanges* changes = nullptr;
  std::uint32_t limit = 100;
  std::uint32_t last_serial = 0;  // meta.serial as this process last wrote or loaded it
  // Runs before each COMMIT; a failure rolls the batch back and fails its requests
  // (the database file was removed or replaced: a commit would be lost at restart).
  std::function<Status()> before_commit;
};

// One write. `apply` runs inside the batch transaction (in its own savepoint) and may
// set `publish`; `publish` runs after COMMIT succeeded and updates the index; `finish`
// always runs last, with the job's result or the commit's failure. `publish` and
// `finish` run on the publisher thread (see Writer), in commit order.
struct Job {
  std::function<Status(WriterContext&)> apply;
  std::function<void()> publish;
  std::function<void(const Status&)> finish;
  // Optional, asked after `apply` succeeded: false = nothing in the zone changed (a prune
  // that found nothing), so no publish and no new SOA serial (which would NOTIFY the
  // secondaries and make them transfer for nothing).
  std::function<bool()> changed;
};

class Writer {
 public:
  Writer(WriterContext context, AnswerIndex& index);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void submit(Job job);
  // Runs `job` and waits for it (CLI, import, tests).
  Status run_sync(Job job);
  void stop();
  // Periodic work on the writer thread between batches (pruning, noticing commits made
  // by another process). Call before the first submit.
  void add_periodic(std::function<void(WriterContext&)> task, std::chrono::milliseconds every);
  // Runs `step` on the publisher thread after everything committed before it was
  // queued has been published. Every change to the answer index goes through here.
  void publish(std::function<void()> step);

 private:
  void loop();
  void publisher_loop();
  void run_batch(std::deque<Job>& batch);

  WriterContext ctx_;
  AnswerIndex& index_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  struct Periodic {
    std::function<void(WriterContext&)> task;
    std::chrono::milliseconds every;
    std::chrono::steady_clock::time_point next;
  };
  std::vector<Periodic> periodic_;
  // The publisher: applies committed changes to the answer index and acknowledges
  // them. The writer thread runs SQLite at the control plane's lower CPU priority
  // (common/threads.hpp); the index's shard locks are also taken by every DNS query, so
  // they are only ever taken for writing by this thread, which keeps the DNS threads'
  // priority. A writer preempted while holding one would stall DNS behind it.
  std::mutex publish_mutex_;
  std::condition_variable publish_wake_;
  std::deque<std::function<void()>> publish_queue_;
  bool publish_stopping_ = false;
  std::thread publisher_;  // started before thread_, stopped after it
  std::thread thread_;
};

// Moves committed pages from the WAL into the database file on its own thread and
// connection. SQLite's automatic checkpoint would run inside the writer's commit, and
// with synchronous = FULL it fsyncs the database file there: every thousand pages one
// batch of requests waited for it (the tail of the /update latency). A PASSIVE
// checkpoint never blocks the writer; the writer restarts the WAL from its beginning
// once a checkpoint has caught up.
class Checkpointer {
 public:
  Checkpointer(sqlite::Connection db, std::chrono::milliseconds every);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;
  void stop();

 private:
  void loop();

  sqlite::Connection db_;
  std::chrono::milliseconds every_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

Result<WriterContext> prepare_writer(sqlite::Connection db, std::uint32_t limit);
// The journal's rows keep changes as "name value" lines.
std::string journal_text(const std::vector<ZoneJournal::Change>& changes);
std::vector<ZoneJournal::Change> parse_journal_text(const std::string& text);
Status write_journal_row(WriterContext& c, const ZoneChanges& changes, std::uint32_t from, std::uint32_t to);
// Loads the journal's rows into `journal` and bridges the start-up serial (`serving`).
Status load_journal(WriterContext& c, ZoneJournal& journal, std::uint32_t stored_serial,
                    std::uint32_t serving);
std::int64_t now_ms();
// now_ms(), but never the same value twice in this process: values written in one
// millisecond still have an order, the same in the database and in the answer index.
std::int64_t unique_now_ms();

// dns-persist-01 records (persist_store.cpp): migration 3, the index load, the jobs.
const char* persist_migration_sql();
Status load_persist_index(sqlite::Connection& conn, AnswerIndex& index);
Result<std::vector<PersistRecord>> read_persist(sqlite::Connection& conn, std::string_view name);
// An error (bad name, bad value) when there is nothing to run.
Result<Job> set_persist_job(AnswerIndex& index, std::string name, const std::string& text,
                            std::function<void(Result<bool>)> done);
Job remove_persist_job(AnswerIndex& index, const std::string& name, const std::string& issuer,
                       const std::string& account_uri, std::function<void(Result<std::string>)> done);
// Deletes every persist record at `name` (an account going away); their values in `removed`.
Status delete_persist_of_name(WriterContext& c, const std::string& name, std::vector<std::string>& removed);

// Import of an acme-dns database as a Job applied by the writer.
Result<ImportReport> import_acme_dns_database(Writer& writer, AnswerIndex& index, const std::string& path);

}  // namespace acmednsd::store_detail
