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

#include "store/store_backend.hpp"
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

// The writer's connection and what the running batch collects.
struct WriterContext {
  std::unique_ptr<Db> db;
  // The IXFR journal (null = off); `changes` collects the running job's changes.
  ZoneJournal* journal = nullptr;
  ZoneChanges* changes = nullptr;
  // Shared database (PostgreSQL): `log` collects the running job's index changes for
  // the change log the other instances follow; null otherwise.
  std::vector<LogEntry>* log = nullptr;
  bool shared = false;
  std::string origin;        // this process's id in the change log
  std::int64_t log_seq = 0;  // the change log read (and written) up to here
  std::uint32_t limit = 100;
  std::uint32_t last_serial = 0;  // meta.serial as this process last wrote or loaded it
  // The last ixfr_journal row the in-memory journal holds (written here or read from
  // another instance): the next rows to take in are those after it.
  std::int64_t journal_seq = 0;
  // Runs before each COMMIT; a failure rolls the batch back and fails its requests
  // (the database file was removed or replaced: a commit would be lost at restart).
  std::function<Status()> before_commit;
  // Applies other instances' committed changes to the index (on the publisher thread).
  std::function<void(const LogBatch&)> apply_foreign;

  void note(LogEntry::Kind kind, const std::string& name, const std::string& value = {},
            std::int64_t ms = 0) {
    if (log) log->push_back({kind, name, value, ms});
  }
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
  // Runs every periodic task at the next turn of the loop (another instance committed).
  void wake_periodic();

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

// Applies change-log entries to the index (publisher thread, under the batch lock).
void apply_log_entries(AnswerIndex& index, const std::vector<LogEntry>& entries);

// The journal's rows keep changes as "name value" lines.
std::string journal_text(const std::vector<ZoneJournal::Change>& changes);
std::vector<ZoneJournal::Change> parse_journal_text(const std::string& text);
Status write_journal_row(WriterContext& c, const ZoneChanges& changes, std::uint32_t from, std::uint32_t to);
// Shared database: adds to `batch` the journal rows other instances committed since
// c.journal_seq, and moves c.journal_seq past them. A failed read leaves both as they
// were (the in-memory journal then has a gap, and a secondary gets the whole zone once).
void read_foreign_journal(WriterContext& c, LogBatch& batch);
// The rows as diffs for the in-memory journal.
ZoneJournal::Diff journal_diff(const JournalRow& row);
// Loads the journal's rows into `journal` and bridges the start-up serial (`serving`).
Status load_journal(WriterContext& c, ZoneJournal& journal, std::uint32_t stored_serial,
                    std::uint32_t serving);
std::int64_t now_ms();
// now_ms(), but never the same value twice in this process: values written in one
// millisecond still have an order, the same in the database and in the answer index.
std::int64_t unique_now_ms();

// dns-persist-01 records (persist_store.cpp): the writer jobs over Db's persist
// operations; they note LogEntry put_persistent/remove_persistent for other instances.
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
