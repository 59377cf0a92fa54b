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
}

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
  auto seq = c.db->insert_journal({from, to, journal_text(diff.removed), journal_text(diff.added)});
  if (!seq) return seq.error();
  c.journal_seq = *seq;
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

void Writer::add_periodic(std::function<void(WriterContext&)> task, std::chrono::milliseconds every) {
  {
    std::lock_guard lock(mutex_);
    periodic_.push_back({std::move(task), every, std::chrono::steady_clock::now() + every});
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
    for (auto& p : periodic_) p.next = std::chrono::steady_clock::now();
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

void Writer::run_batch(std::deque<Job>& batch) {
  std::vector<Status> results(batch.size(), ok_status());
  std::uint32_t next_serial = 0;
  std::uint32_t from_serial = 0;
  auto batch_changes = std::make_shared<ZoneChanges>();
  auto own_log = std::make_shared<std::vector<LogEntry>>();
  auto foreign = std::make_shared<LogBatch>();
  std::int64_t log_seq = ctx_.log_seq;
  const std::int64_t journal_seq = ctx_.journal_seq;  // put back if the batch is not committed
  Db& db = *ctx_.db;
  Status commit = db.begin();
  bool open = commit.ok();
  if (commit.ok()) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (auto s = db.savepoint(); !s) {
        results[i] = s;
        continue;
      }
      ZoneChanges job_changes;
      std::vector<LogEntry> job_log;
      ctx_.changes = ctx_.journal ? &job_changes : nullptr;
      ctx_.log = ctx_.shared ? &job_log : nullptr;
      try {
        results[i] = batch[i].apply(ctx_);
      } catch (const std::exception& e) {
        results[i] = make_error("db_error", e.what());
      }
      ctx_.changes = nullptr;
      ctx_.log = nullptr;
      if (results[i].ok()) {
        batch_changes->merge(job_changes);
        own_log->insert(own_log->end(), job_log.begin(), job_log.end());
      }
      if (results[i].ok() && batch[i].changed && !batch[i].changed()) batch[i].publish = nullptr;
      if (!results[i].ok()) {
        batch[i].publish = nullptr;
        db.rollback_to_savepoint();
      }
      (void)db.release_savepoint();
    }
    // The SOA serial is stored with the change, so it never goes back after a restart.
    bool changes = false;
    for (std::size_t i = 0; i < batch.size(); ++i) changes = changes || (results[i].ok() && batch[i].publish);
    if (changes) {
      // The index's serial may lag behind what is committed but not yet published.
      const std::uint32_t published = index_.serial();
      std::uint32_t known =
          AnswerIndex::serial_after(ctx_.last_serial, published) ? ctx_.last_serial : published;
      if (ctx_.shared) {
        // Other instances commit too: the serial row serializes all of them, and what
        // they committed before us is applied before our own changes.
        auto stored = db.lock_serial();
        const bool others_committed = stored && AnswerIndex::serial_after(*stored, known);
        if (others_committed) known = *stored;
        if (stored) {
          auto read = db.read_log(ctx_.log_seq, ctx_.origin);
          if (read) *foreign = std::move(read.value());
          if (read && others_committed) read_foreign_journal(ctx_, *foreign);
          commit = read.ok() ? Status(ok_status()) : Status(read.error());
        } else {
          commit = stored.error();
        }
      }
      next_serial = AnswerIndex::next_serial(known, now_ms() / 1000);
      from_serial = known;
      if (commit.ok()) {
        if (auto s = db.set_serial(next_serial); !s) commit = s;
      }
      if (commit.ok() && ctx_.shared) {
        auto seq = db.append_log(next_serial, ctx_.origin, *own_log);
        if (seq) log_seq = *seq;
        if (!seq) commit = seq.error();
      }
      // The journal row commits with the change it describes, so after a crash the
      // journal never claims a serial whose content it does not know.
      if (commit.ok() && ctx_.journal)
        (void)write_journal_row(ctx_, *batch_changes, from_serial, next_serial);
    }
    if (commit.ok() && ctx_.before_commit) commit = ctx_.before_commit();
    if (commit.ok()) commit = db.commit();
    if (commit.ok()) open = false;
  }
  if (open) db.rollback();
  if (!commit.ok()) {
    log::error("database commit failed; the batch was not acknowledged",
               {{"error", commit.error().message}, {"requests", std::to_string(batch.size())}});
  }
  if (commit.ok() && next_serial != 0) ctx_.last_serial = next_serial;  // only once durable
  if (commit.ok()) ctx_.log_seq = std::max(log_seq, foreign->last_seq);
  if (!commit.ok()) {
    foreign->entries.clear();  // read again by the next catch-up
    foreign->journal.clear();
    ctx_.journal_seq = journal_seq;
  }
  // Index first, then the acknowledgements: a value is answered by the very next query
  // once its /update has returned.
  auto jobs = std::make_shared<std::deque<Job>>(std::move(batch));
  publish(
      [this, jobs, results = std::move(results), commit, next_serial, from_serial, batch_changes, foreign] {
        std::unique_lock batch_lock(index_.batch_mutex());  // a zone transfer sees all of it or none
        if ((!foreign->entries.empty() || !foreign->journal.empty()) && ctx_.apply_foreign) {
          ctx_.apply_foreign(*foreign);
        }
        bool changed = false;
        for (std::size_t i = 0; i < jobs->size(); ++i) {
          if (commit.ok() && results[i].ok() && (*jobs)[i].publish) {
            (*jobs)[i].publish();
            changed = true;
          }
        }
        if (changed) index_.set_serial_at_least(next_serial);
        if (changed && ctx_.journal) {
          // Other instances' diffs were appended by apply_foreign, so ours follows them;
          // a diff that does not continue the chain starts it over (ZoneJournal::append).
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
