// dns-persist-01 records: the writer jobs. The table (migration 3 in both dialects) and
// its statements are behind Db (sqlite_features.cpp, pg_features.cpp; each backend's
// load_index loads them). On a shared database each change is noted in the change log
// (LogEntry put_persistent / remove_persistent), so every instance serves the same records.
#include "common/encoding.hpp"
#include "common/persist_value.hpp"
#include "store/store_internal.hpp"

namespace acmednsd::store_detail {

Result<Job> set_persist_job(AnswerIndex& index, std::string name, const std::string& text,
                            std::function<void(Result<bool>)> done) {
  if (!is_valid_owner_name(name)) return make_error("bad_subdomain", "not a lowercase DNS name");
  auto parsed = parse_persist_value(text);
  if (!parsed) return parsed.error();
  struct State {
    std::string name;
    PersistValue record;
    std::string value;  // canonical
    std::string old_value;
    bool changed = false;
  };
  auto state = std::make_shared<State>();
  state->name = std::move(name);
  state->value = format_persist_value(*parsed);
  state->record = std::move(*parsed);
  const std::int64_t ms = unique_now_ms();
  Job job;
  job.apply = [state, ms](WriterContext& c) -> Status {
    state->changed = false;  // a batch may run again (Writer::run_batch)
    auto old = c.db->persist_value(state->name, state->record.issuer, state->record.account_uri);
    if (!old) return old.error();
    state->old_value = old->value_or(std::string());
    if (state->old_value == state->value) return ok_status();  // already there: no write
    if (state->old_value.empty()) {
      auto count = c.db->count_persist(state->name);
      if (!count) return count.error();
      if (*count >= static_cast<std::int64_t>(kMaxPersistRecordsPerName)) {
        return make_error("persist_limit", "this name already has " +
                                               std::to_string(kMaxPersistRecordsPerName) +
                                               " persist records; remove one first");
      }
    }
    if (auto s = c.db->upsert_persist(state->name, state->record.issuer, state->record.account_uri,
                                      state->value, ms);
        !s) {
      return s;
    }
    state->changed = true;
    if (!state->old_value.empty()) {
      if (c.changes) c.changes->removed(state->name, state->old_value);
      c.note(LogEntry::Kind::remove_persistent, state->name, state->old_value);
    }
    if (c.changes) c.changes->added(state->name, state->value);
    c.note(LogEntry::Kind::put_persistent, state->name, state->value);
    return ok_status();
  };
  job.publish = [&index, state] {
    if (!state->old_value.empty()) index.remove_persistent(state->name, state->old_value);
    index.put_persistent(state->name, state->value);
  };
  job.changed = [state] { return state->changed; };
  job.finish = [done = std::move(done), state](const Status& s) {
    done(s.ok() ? Result<bool>(state->changed) : Result<bool>(s.error()));
  };
  return job;
}

Job remove_persist_job(AnswerIndex& index, const std::string& name, const std::string& issuer,
                       const std::string& account_uri, std::function<void(Result<std::string>)> done) {
  auto removed = std::make_shared<std::string>();
  Job job;
  job.apply = [removed, name, issuer = to_lower_ascii(issuer), account_uri](WriterContext& c) -> Status {
    auto old = c.db->delete_persist(name, issuer, account_uri);
    if (!old) return old.error();
    *removed = old->value_or(std::string());
    if (!removed->empty()) {
      if (c.changes) c.changes->removed(name, *removed);
      c.note(LogEntry::Kind::remove_persistent, name, *removed);
    }
    return ok_status();
  };
  job.publish = [&index, removed, name] { index.remove_persistent(name, *removed); };
  job.changed = [removed] { return !removed->empty(); };
  job.finish = [done = std::move(done), removed](const Status& s) {
    done(s.ok() ? Result<std::string>(*removed) : Result<std::string>(s.error()));
  };
  return job;
}

Status delete_persist_of_name(WriterContext& c, const std::string& name, std::vector<std::string>& removed) {
  auto values = c.db->delete_persist_of_name(name);
  if (!values) return values.error();
  removed = std::move(values.value());
  for (const auto& v : removed) {
    if (c.changes) c.changes->removed(name, v);
    c.note(LogEntry::Kind::remove_persistent, name, v);
  }
  return ok_status();
}

}  // namespace acmednsd::store_detail
