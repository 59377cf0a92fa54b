// The in-memory answer index: which names exist below the zone and their live TXT
// values. The DNS plane reads it on every query; only the store's writer changes it,
// after the change is durable in SQLite.
//
// Readers never touch SQLite and never wait on I/O: the index is sharded and each
// shard is guarded by a reader/writer lock that a writer holds only for an in-memory
// insert or erase (microseconds).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

namespace acmednsd {

// The retention rule of API.md Part 2: the two newest values are always served,
// older ones while younger than `retention_seconds`, at most `limit` of them.
struct RetentionPolicy {
  std::uint32_t limit = 100;
  std::int64_t retention_seconds = 24 * 3600;
};

enum class NameKind {
  absent,       // no such name: NXDOMAIN (unless the DNS plane knows it otherwise)
  exists,       // the name exists (registered subdomain or a name with values)
  nonterminal,  // an empty non-terminal: only names below it exist (NODATA)
};

// Challenge values are always 43 characters of base64url (a SHA-256 digest).
inline constexpr std::size_t kTxtValueLength = 43;

class AnswerIndex {
 public:
  explicit AnswerIndex(RetentionPolicy policy);
  ~AnswerIndex();
  AnswerIndex(const AnswerIndex&) = delete;
  AnswerIndex& operator=(const AnswerIndex&) = delete;

  using ValueSink = void (*)(void* context, std::string_view value);

  // Hot path. `relative_name` is the lowercase owner name below the zone without the
  // zone suffix and without a trailing dot ("d420c923-...-c3ca54c9b3cf" or
  // "_acme-challenge.www"); the empty string is the apex. Calls `sink` once per live
  // value, newest first, while holding a shard read lock; `sink` must not block.
  NameKind visit(std::string_view relative_name, std::int64_t now_unix, ValueSink sink, void* context) const;

  // Every live value of every name (names in text form, as visit() takes them), shard
  // by shard under each shard's read lock; `sink` must not block. For zone transfers.
  using EntrySink = void (*)(void* context, std::string_view relative_name, std::string_view value);
  void for_each_live(std::int64_t now_unix, EntrySink sink, void* context) const;

  // Held by the store's publisher while it applies one commit's changes and raises the
  // serial, and by a zone transfer while it copies the zone: the copy then matches its
  // serial exactly (no half-applied batch). DNS queries never take it.
  [[nodiscard]] std::mutex& batch_mutex() const { return batch_mutex_; }

  // Increases whenever the served content changes (RFC 1982 arithmetic).
  [[nodiscard]] std::uint32_t serial() const { return serial_.load(std::memory_order_acquire); }

  // Writer side: called by the store once a change is committed.
  void add_name(std::string_view relative_name);     // a registered account subdomain
  void remove_name(std::string_view relative_name);  // drops its values too
  // `updated_ms` (default: updated_at * 1000) orders values exactly as the database does.
  void put_value(std::string_view relative_name, std::string_view value, std::int64_t updated_at,
                 std::int64_t updated_ms = -1);
  void remove_value(std::string_view relative_name, std::string_view value);
  // dns-persist-01 records (store/persist_store.cpp): served after the challenge values
  // of the name, never aged out by retention and never counted against the limit.
  // Values up to kMaxPersistValueLength octets; the DNS plane splits them into strings.
  void put_persistent(std::string_view relative_name, std::string_view value);
  void remove_persistent(std::string_view relative_name, std::string_view value);
  void set_serial_at_least(std::uint32_t serial);
  // Takes over the names and values of `fresh` (shard by shard; readers see each shard
  // either before or after) and its serial if higher. `fresh` is left empty.
  void replace_contents(AnswerIndex& fresh);
  // The serial after `current` for a change at `now_unix`: the clock when it is ahead,
  // otherwise current + 1 (RFC 1982 arithmetic).
  static std::uint32_t next_serial(std::uint32_t current, std::int64_t now_unix);
  // Whether serial `a` comes after `b` (RFC 1982: within half the number space).
  static bool serial_after(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) > 0; }

  void reserve(std::size_t names);  // before a bulk load
  [[nodiscard]] std::size_t name_count() const;
  [[nodiscard]] std::size_t value_count() const;
  [[nodiscard]] const RetentionPolicy& policy() const { return policy_; }

 private:
  struct Impl;
  RetentionPolicy policy_;
  std::unique_ptr<Impl> impl_;
  std::atomic<std::uint32_t> serial_{1};
  mutable std::mutex batch_mutex_;
};

}  // namespace acmednsd
