// The single writer: every change to the database goes through this thread.
//
// Concurrent requests queue up while a commit is in flight and are then written
// together in one transaction (group commit): durability costs one fsync per batch,
// not per request. Each job runs in its own SAVEPOINT, so one failing job (a unique
// constraint, say) does not take the rest of its batch down with it.
#include <atomic>
#include <chrono>
#include <future>

#include "common/log.hpp"
#include "common/threads.hpp"
#include "store/store_internal.hpp"

namespace acmednsd::store_detail {
namespace {
constexpr std::size_t kMaxBatch = 512;
constexpr int kAttempts = 4;  // a batch that deadlocks is run again at most 3 times
}  // namespace

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t unique_now_ms() {
  static std::atomic<std::int64_t> last{0};
  std::int64_t now = now_ms();
  std::int64_t seen = last.load();
  for (;;) {
    const std::int64_t next = std::max(now, seen + 1);
    if (last.compare_exchange_weak(seen, next)) return next;
  }
}

std::string journal_text(const std::vector<ZoneJournal::Change>& changes) {
  std::string out;
  for (const auto& c : changes) out += c.name + ' ' + c.value + '\n';
  return out;
}

std::vector<ZoneJournal::Change> parse_journal_text(const std::string& text) {
  std::vector<ZoneJournal::Change> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    const auto space = line.find(' ');
    if (space != std::string::npos) out.push_back({line.substr(0, space), line.substr(space + 1)});
    start = end + 1;
  }
  return out;
}

Status write_journal_row(WriterContext& c, const ZoneChanges& changes, std::uint32_t from, std::uint32_t to) {
  if (changes.reset) return c.db->clear_journal();
  const auto diff = changes.diff(from, to);
  if (auto s = c.db->insert_journal({from, to, journal_text(diff.removed), journal_text(diff.added)}); !s) {
    return s;
  }
  // Rows hold at least one change each (or none: a restart), so this keeps enough.
  return c.db->trim_journal(static_cast<std::int64_t>(c.journal->max_changes()));
}

Writer::Writer(WriterContext context, AnswerIndex& index)
    : ctx_(std::move(context)),
      index_(index),
      publisher_([this] { publisher_loop(); }),
      thread_([this] { loop(); }) {}

Writer::~Writer() {
  stop();
}

void Writer::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(job));
      wake_.notify_one();
      return;
    }
  }
  if (job.finish) job.finish(make_error("db_error", "the store is shutting down"));
}

Status Writer::run_sync(Job job) {
  std::promise<Status> done;
  auto result = done.get_future();
  auto finish = std::move(job.finish);
  job.finish = [&done, finish](const Status& s) {
    if (finish) finish(s);
    done.set_value(s);
  };
  submit(std::move(job));
  return result.get();
}

void Writer::add_periodic(std::function<void(WriterContext&)> task, std::chrono::milliseconds every,
                          bool on_wake) {
  {
    std::lock_guard lock(mutex_);
    periodic_.push_back({std::move(task), every, std::chrono::steady_clock::now() + every, on_wake});
  }
  wake_.notify_one();  // the loop may be asleep with a deadline computed without this task
}

void Writer::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(publish_mutex_);
    publish_stopping_ = true;
  }
  publish_wake_.notify_one();
  if (publisher_.joinable()) publisher_.join();
}

void Writer::publish(std::function<void()> step) {
  {
    std::lock_guard lock(publish_mutex_);
    publish_queue_.push_back(std::move(step));
  }
  publish_wake_.notify_one();
}

void Writer::wake_periodic() {
  {
    std::lock_guard lock(mutex_);
    for (auto& p : periodic_) {
      if (p.on_wake) p.next = std::chrono::steady_clock::now();
    }
  }
  wake_.notify_one();
}

void apply_log_entries(AnswerIndex& index, const std::vector<LogEntry>& entries) {
  for (const auto& e : entries) {
    switch (e.kind) {
      case LogEntry::Kind::put:
        index.put_value(e.name, e.value, e.ms / 1000, e.ms);
        break;
      case LogEntry::Kind::remove:
        index.remove_value(e.name, e.value);
        break;
      case LogEntry::Kind::add_name:
        index.add_name(e.name);
        break;
      case LogEntry::Kind::remove_name:
        index.remove_name(e.name);
        break;
      case LogEntry::Kind::put_persistent:
        index.put_persistent(e.name, e.value);
        break;
      case LogEntry::Kind::remove_persistent:
        index.remove_persistent(e.name, e.value);
        break;
    }
  }
}

void Writer::publisher_loop() {
  name_this_thread("index-publish");  // the DNS threads' priority, on purpose
  for (;;) {
    std::deque<std::function<void()>> steps;
    {
      std::unique_lock lock(publish_mutex_);
      publish_wake_.wait(lock, [this] { return !publish_queue_.empty() || publish_stopping_; });
      // Queued steps always run, even when stopping: they acknowledge committed writes.
      if (publish_queue_.empty()) return;
      steps.swap(publish_queue_);
    }
    for (auto& step : steps) step();
  }
}

void Writer::loop() {
  enter_control_plane("store-writer");
  for (;;) {
    std::deque<Job> batch;
    std::vector<std::function<void(WriterContext&)>> due;
    {
      std::unique_lock lock(mutex_);
      auto wake_at = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      for (const auto& p : periodic_) wake_at = std::min(wake_at, p.next);
      // No predicate: a notify from add_periodic() must end the wait so the deadline is
      // recomputed; spurious wake-ups just go round the loop.
      if (queue_.empty() && !stopping_) wake_.wait_until(lock, wake_at);
      // Queued work is always finished, even when stopping: it may be acknowledged.
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      const auto now = std::chrono::steady_clock::now();
      for (auto& p : periodic_) {
        if (now >= p.next) {
          due.push_back(p.task);
          p.next = now + p.every;
        }
      }
    }
    if (!batch.empty()) run_batch(batch);
    for (auto& task : due) task(ctx_);
  }
}

// What one attempt at a batch did.
struct Writer::Attempt {
  std::vector<Status> results;
  std::vector<bool> publish;  // committed, changed the zone: its `publish` runs
  Status commit = ok_status();
  std::uint32_t next_serial = 0;
  std::uint32_t from_serial = 0;
  std::shared_ptr<ZoneChanges> changes = std::make_shared<ZoneChanges>();
  std::vector<LogEntry> own_log;
  std::shared_ptr<LogBatch> foreign = std::make_shared<LogBatch>();
  std::int64_t log_seq = 0;
  JournalCursor journal;  // becomes the writer's once the batch is committed
};

namespace {
bool retryable(const Status& s) {
  return !s.ok() && s.error().code == "db_retry";
}
}  // namespace

// One job alone, in its own savepoint.
void Writer::run_job(Job& job, Attempt& a, std::size_t i) {
  Db& db = *ctx_.db;
  if (auto s = db.savepoint(); !s) {
    a.results[i] = s;
    return;
  }
  ZoneChanges job_changes;
  std::vector<LogEntry> job_log;
  ctx_.changes = ctx_.journal ? &job_changes : nullptr;
  ctx_.log = ctx_.shared ? &job_log : nullptr;
  try {
    a.results[i] = job.apply(ctx_);
  } catch (const std::exception& e) {
    a.results[i] = make_error("db_error", e.what());
  }
  ctx_.changes = nullptr;
  ctx_.log = nullptr;
  if (a.results[i].ok()) {
    a.changes->merge(job_changes);
    a.own_log.insert(a.own_log.end(), job_log.begin(), job_log.end());
    a.publish[i] = job.publish && (!job.changed || job.changed());
  } else {
    db.rollback_to_savepoint();
  }
  (void)db.release_savepoint();
}

// Jobs [from, to), all plain TXT puts, in one bulk statement; when it fails, one by one.
void Writer::run_puts(std::deque<Job>& batch, Attempt& a, std::size_t from, std::size_t to) {
  std::vector<TxtPut> puts;
  for (std::size_t i = from; i < to; ++i) puts.push_back(*batch[i].put);
  auto done = ctx_.db->put_txt_bulk(puts, static_cast<std::int64_t>(ctx_.limit));
  if (!done && retryable(Status(done.error()))) {
    a.commit = done.error();  // the whole batch runs again
    return;
  }
  if (!done) {
    for (std::size_t i = from; i < to && !retryable(a.commit); ++i) {
      run_job(batch[i], a, i);
      if (retryable(a.results[i])) a.commit = a.results[i];
    }
    return;
  }
  for (const auto& [name, value] : done->added) {
    if (ctx_.journal) a.changes->added(name, value);
  }
  for (std::size_t i = from; i < to; ++i) {
    const auto& p = *batch[i].put;
    if (ctx_.shared) a.own_log.push_back({LogEntry::Kind::put, p.name, p.value, p.ms});
    a.publish[i] = static_cast<bool>(batch[i].publish);
  }
  for (const auto& [name, value] : done->trimmed) {
    if (ctx_.journal) a.changes->removed(name, value);
    if (ctx_.shared) a.own_log.push_back({LogEntry::Kind::remove, name, value, 0});
  }
}

Writer::Attempt Writer::attempt_batch(std::deque<Job>& batch) {
  Attempt a;
  a.journal = ctx_.journal_cursor;
  a.results.assign(batch.size(), ok_status());
  a.publish.assign(batch.size(), false);
  a.log_seq = ctx_.log_seq;
  Db& db = *ctx_.db;
  a.commit = db.begin();
  bool open = a.commit.ok();
  if (a.commit.ok()) {
    for (std::size_t i = 0; i < batch.size() && a.commit.ok(); ++i) {
      if (batch[i].put && db.puts_in_bulk()) {
        auto end = i;
        while (end < batch.size() && batch[end].put) ++end;
        run_puts(batch, a, i, end);
        i = end - 1;
        continue;
      }
      run_job(batch[i], a, i);
      // A deadlock or serialization failure: the whole batch runs again (run_batch).
      if (retryable(a.results[i])) a.commit = a.results[i];
    }
    // The SOA serial is stored with the change, so it never goes back after a restart.
    bool changes = false;
    for (std::size_t i = 0; i < batch.size(); ++i) changes = changes || (a.results[i].ok() && a.publish[i]);
    if (changes && a.commit.ok()) {
      // The index's serial may lag behind what is committed but not yet published.
      const std::uint32_t published = index_.serial();
      std::uint32_t known =
          AnswerIndex::serial_after(ctx_.last_serial, published) ? ctx_.last_serial : published;
      if (ctx_.shared) {
        // Other instances commit too: the serial row serializes all of them, and what
        // they committed before us is applied before our own changes.
        auto locked = db.lock_serial_read_log(ctx_.log_seq, ctx_.origin);
        if (locked) {
          *a.foreign = std::move(locked->second);
          if (AnswerIndex::serial_after(locked->first, known)) {
            known = locked->first;
            // Others committed: their journal rows come first in this journal too.
            read_foreign_journal(ctx_, a.journal, *a.foreign);
          }
        } else {
          a.commit = locked.error();
        }
      }
      a.next_serial = AnswerIndex::next_serial(known, now_ms() / 1000);
      a.from_serial = known;
      if (a.commit.ok()) {
        if (auto s = db.set_serial(a.next_serial); !s) a.commit = s;
      }
      if (a.commit.ok() && ctx_.shared) {
        auto seq = db.append_log(a.next_serial, ctx_.origin, a.own_log);
        if (seq) a.log_seq = *seq;
        if (!seq) a.commit = seq.error();
      }
      // The journal row commits with the change it describes, so after a crash the
      // journal never claims a serial whose content it does not know.
      if (a.commit.ok() && ctx_.journal)
        if (write_journal_row(ctx_, *a.changes, a.from_serial, a.next_serial)) a.journal.to = a.next_serial;
    }
    if (a.commit.ok() && ctx_.before_commit) a.commit = ctx_.before_commit();
    if (a.commit.ok()) a.commit = db.commit();
    if (a.commit.ok()) open = false;
  }
  if (open) db.rollback();
  return a;
}

void Writer::run_batch(std::deque<Job>& batch) {
  // Instances on one PostgreSQL database can deadlock on each other's rows (or fail to
  // serialize); the server rolls one side back, and the same batch run again usually
  // goes through. Jobs are re-runnable: `apply` starts over from its captures.
  Attempt a;
  for (int attempt = 1;; ++attempt) {
    a = attempt_batch(batch);
    if (!retryable(a.commit) || attempt == kAttempts) break;
    log::warning("database deadlock or serialization failure; running the batch again",
                 {{"error", a.commit.error().message}, {"attempt", std::to_string(attempt + 1)}});
  }
  // Callers know db_error: a batch that kept failing to serialize is one.
  if (retryable(a.commit)) a.commit = make_error("db_error", a.commit.error().message);
  for (auto& r : a.results) {
    if (retryable(r)) r = make_error("db_error", r.error().message);
  }
  if (!a.commit.ok()) {
    log::error("database commit failed; the batch was not acknowledged",
               {{"error", a.commit.error().message}, {"requests", std::to_string(batch.size())}});
  }
  const Status commit = a.commit;
  if (commit.ok() && a.next_serial != 0) ctx_.last_serial = a.next_serial;  // only once durable
  if (commit.ok()) ctx_.log_seq = std::max(a.log_seq, a.foreign->last_seq);
  if (commit.ok()) ctx_.journal_cursor = a.journal;
  if (!commit.ok()) {
    a.foreign->entries.clear();  // read again by the next catch-up, with the journal rows
    a.foreign->journal.clear();
  }
  // Index first, then the acknowledgements: a value is answered by the very next query
  // once its /update has returned.
  auto jobs = std::make_shared<std::deque<Job>>(std::move(batch));
  publish([this, jobs, results = std::move(a.results), publishes = std::move(a.publish), commit,
           next_serial = a.next_serial, from_serial = a.from_serial, batch_changes = a.changes,
           foreign = a.foreign] {
    std::unique_lock batch_lock(index_.batch_mutex());  // a zone transfer sees all of it or none
    if ((!foreign->entries.empty() || !foreign->journal.empty()) && ctx_.apply_foreign) {
      ctx_.apply_foreign(*foreign);
    }
    bool changed = false;
    for (std::size_t i = 0; i < jobs->size(); ++i) {
      if (commit.ok() && results[i].ok() && publishes[i]) {
        (*jobs)[i].publish();
        changed = true;
      }
    }
    if (changed) index_.set_serial_at_least(next_serial);
    if (changed && ctx_.journal) {
      // Other instances' diffs were appended by apply_foreign, so ours follows them; a
      // diff that does not continue the chain starts it over (ZoneJournal::append).
      if (batch_changes->reset) {
        ctx_.journal->clear();
      } else {
        ctx_.journal->append(batch_changes->diff(from_serial, next_serial));
      }
    }
    batch_lock.unlock();
    for (std::size_t i = 0; i < jobs->size(); ++i) {
      if ((*jobs)[i].finish) (*jobs)[i].finish(commit.ok() ? results[i] : Status(commit.error()));
    }
  });
}

}  // namespace acmednsd::store_detail
