#include "store/answer_index.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace acmednsd {
namespace {

// Registered subdomains are UUIDs: kept as 16 bytes instead of a 36-character string,
// which is what keeps a million accounts well under 200 bytes each.
struct UuidKey {
  std::array<std::uint8_t, 16> bytes{};
  bool operator==(const UuidKey&) const = default;
};

struct UuidKeyHash {
  std::size_t operator()(const UuidKey& k) const noexcept {
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    std::memcpy(&a, k.bytes.data(), 8);
    std::memcpy(&b, k.bytes.data() + 8, 8);
    return static_cast<std::size_t>(a ^ (b * 0x9E3779B97F4A7C15ULL));
  }
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Only the canonical lowercase form maps to a key, so one name has one key.
std::optional<UuidKey> parse_uuid_label(std::string_view s) {
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return std::nullopt;
  UuidKey k;
  std::size_t out = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '-') {
      ++i;
      continue;
    }
    const int hi = hex_value(s[i]);
    const int lo = hex_value(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    k.bytes[out++] = static_cast<std::uint8_t>((hi << 4) | lo);
    i += 2;
  }
  return k;
}

struct StoredValue {
  std::array<char, kTxtValueLength> text{};
  std::int64_t updated_ms = 0;  // unix milliseconds, as the database orders them
};

// One per account: 32 bytes in the UUID shards, where a million of them live, so what
// only other names carry stays out of it (OtherEntry).
struct Entry {
  std::vector<StoredValue> values;  // newest first
  bool account = false;             // exists even without values
  [[nodiscard]] bool empty() const { return values.empty() && !account; }
};

// Names that are not UUIDs: the embedded client's names, and the dns-persist-01 owner
// names ("_validation-persist.<name>"), which are the only ones with `persistent`.
struct OtherEntry : Entry {
  std::vector<std::string> persistent;  // dns-persist-01 records, in insertion order
  [[nodiscard]] bool empty() const { return Entry::empty() && persistent.empty(); }
};

constexpr std::size_t kShards = 64;

struct UuidShard {
  mutable std::shared_mutex mutex;
  std::unordered_map<UuidKey, Entry, UuidKeyHash> entries;
};

}  // namespace

struct AnswerIndex::Impl {
  std::array<UuidShard, kShards> shards;
  // Names that are not UUIDs (the embedded ACME client's _acme-challenge names) are
  // few; they and the empty non-terminals above them share one lock.
  mutable std::shared_mutex other_mutex;
  std::unordered_map<std::string, OtherEntry> other;
  std::unordered_map<std::string, std::size_t> nonterminal_refs;

  UuidShard& shard(const UuidKey& k) { return shards[UuidKeyHash{}(k) % kShards]; }
  const UuidShard& shard(const UuidKey& k) const { return shards[UuidKeyHash{}(k) % kShards]; }

  // Every proper ancestor of a multi-label relative name is an empty non-terminal.
  template <typename F>
  static void for_each_ancestor(std::string_view name, F&& f) {
    for (auto dot = name.find('.'); dot != std::string_view::npos; dot = name.find('.', dot + 1)) {
      f(std::string(name.substr(dot + 1)));
    }
  }
  void add_other(std::string_view name, OtherEntry entry) {
    auto [it, inserted] = other.try_emplace(std::string(name), std::move(entry));
    if (inserted) for_each_ancestor(name, [this](std::string a) { ++nonterminal_refs[a]; });
  }
  void erase_other(std::unordered_map<std::string, OtherEntry>::iterator it) {
    const std::string name = it->first;
    other.erase(it);
    for_each_ancestor(name, [this](const std::string& a) {
      auto r = nonterminal_refs.find(a);
      if (r != nonterminal_refs.end() && --r->second == 0) nonterminal_refs.erase(r);
    });
  }
};

AnswerIndex::AnswerIndex(RetentionPolicy policy) : policy_(policy), impl_(std::make_unique<Impl>()) {}
AnswerIndex::~AnswerIndex() = default;

namespace {

void emit_live(const Entry& e, const RetentionPolicy& policy, std::int64_t now, AnswerIndex::ValueSink sink,
               void* context) {
  std::size_t served = 0;
  for (std::size_t i = 0; i < e.values.size() && served < policy.limit; ++i) {
    const auto& v = e.values[i];
    // The two newest are always served (acme-dns behaviour); older ones until they expire.
    if (i >= 2 && now - v.updated_ms / 1000 >= policy.retention_seconds) continue;
    sink(context, std::string_view(v.text.data(), v.text.size()));
    ++served;
  }
}

void emit_live(const OtherEntry& e, const RetentionPolicy& policy, std::int64_t now,
               AnswerIndex::ValueSink sink, void* context) {
  emit_live(static_cast<const Entry&>(e), policy, now, sink, context);
  for (const auto& p : e.persistent) sink(context, p);
}

void insert_value(Entry& e, std::string_view value, std::int64_t updated_ms, std::uint32_t limit) {
  StoredValue v;
  std::memcpy(v.text.data(), value.data(), std::min(value.size(), v.text.size()));
  v.updated_ms = updated_ms;
  auto same = std::find_if(e.values.begin(), e.values.end(), [&](const StoredValue& s) {
    return std::memcmp(s.text.data(), v.text.data(), v.text.size()) == 0;
  });
  if (same != e.values.end()) e.values.erase(same);  // a refresh moves it up
  // The database's order (updated_ms DESC, value): newest first, equal times by value.
  // The limit then drops exactly the values the database's trim deletes, so what a zone
  // transfer copies from here matches the IXFR journal, which the database writes.
  auto pos = std::find_if(e.values.begin(), e.values.end(), [&](const StoredValue& s) {
    return s.updated_ms < v.updated_ms ||
           (s.updated_ms == v.updated_ms && std::memcmp(s.text.data(), v.text.data(), v.text.size()) > 0);
  });
  e.values.insert(pos, v);
  if (e.values.size() > limit) e.values.resize(limit);
}

bool erase_value(Entry& e, std::string_view value) {
  const auto before = e.values.size();
  std::erase_if(e.values, [&](const StoredValue& s) {
    return std::string_view(s.text.data(), s.text.size()) == value;
  });
  if (e.values.empty()) e.values.shrink_to_fit();
  return e.values.size() != before;
}

}  // namespace

NameKind AnswerIndex::visit(std::string_view name, std::int64_t now, ValueSink sink, void* context) const {
  if (auto key = parse_uuid_label(name)) {
    const auto& shard = impl_->shard(*key);
    std::shared_lock lock(shard.mutex);
    const auto it = shard.entries.find(*key);
    if (it == shard.entries.end()) return NameKind::absent;
    emit_live(it->second, policy_, now, sink, context);
    return NameKind::exists;
  }
  std::shared_lock lock(impl_->other_mutex);
  if (impl_->other.empty() && impl_->nonterminal_refs.empty()) return NameKind::absent;
  const std::string key(name);
  if (const auto it = impl_->other.find(key); it != impl_->other.end()) {
    emit_live(it->second, policy_, now, sink, context);
    return NameKind::exists;
  }
  return impl_->nonterminal_refs.contains(key) ? NameKind::nonterminal : NameKind::absent;
}

void AnswerIndex::for_each_live(std::int64_t now, EntrySink sink, void* context) const {
  static constexpr char kHex[] = "0123456789abcdef";
  struct Forward {
    EntrySink sink;
    void* context;
    std::string_view name;
  };
  const auto forward = [](void* ctx, std::string_view value) {
    const auto* f = static_cast<const Forward*>(ctx);
    f->sink(f->context, f->name, value);
  };
  for (const auto& shard : impl_->shards) {
    std::shared_lock lock(shard.mutex);
    for (const auto& [key, entry] : shard.entries) {
      if (entry.values.empty()) continue;
      std::array<char, 36> text{};
      std::size_t out = 0;
      for (std::size_t i = 0; i < key.bytes.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) text[out++] = '-';
        text[out++] = kHex[key.bytes[i] >> 4];
        text[out++] = kHex[key.bytes[i] & 0x0F];
      }
      Forward f{sink, context, std::string_view(text.data(), text.size())};
      emit_live(entry, policy_, now, forward, &f);
    }
  }
  std::shared_lock lock(impl_->other_mutex);
  for (const auto& [name, entry] : impl_->other) {
    Forward f{sink, context, name};
    emit_live(entry, policy_, now, forward, &f);
  }
}

void AnswerIndex::add_name(std::string_view name) {
  if (auto key = parse_uuid_label(name)) {
    auto& shard = impl_->shard(*key);
    std::unique_lock lock(shard.mutex);
    shard.entries[*key].account = true;
    return;
  }
  std::unique_lock lock(impl_->other_mutex);
  if (auto it = impl_->other.find(std::string(name)); it != impl_->other.end()) {
    it->second.account = true;
  } else {
    OtherEntry e;
    e.account = true;
    impl_->add_other(name, std::move(e));
  }
}

void AnswerIndex::remove_name(std::string_view name) {
  if (auto key = parse_uuid_label(name)) {
    auto& shard = impl_->shard(*key);
    std::unique_lock lock(shard.mutex);
    shard.entries.erase(*key);
    return;
  }
  std::unique_lock lock(impl_->other_mutex);
  if (auto it = impl_->other.find(std::string(name)); it != impl_->other.end()) impl_->erase_other(it);
}

void AnswerIndex::put_value(std::string_view name, std::string_view value, std::int64_t updated_at,
                            std::int64_t updated_ms) {
  if (updated_ms < 0) updated_ms = updated_at * 1000;
  if (value.size() != kTxtValueLength) return;  // the store validates; never serve a torn value
  if (auto key = parse_uuid_label(name)) {
    auto& shard = impl_->shard(*key);
    std::unique_lock lock(shard.mutex);
    insert_value(shard.entries[*key], value, updated_ms, policy_.limit);
    return;
  }
  std::unique_lock lock(impl_->other_mutex);
  auto it = impl_->other.find(std::string(name));
  if (it == impl_->other.end()) {
    impl_->add_other(name, OtherEntry{});
    it = impl_->other.find(std::string(name));
  }
  insert_value(it->second, value, updated_ms, policy_.limit);
}

void AnswerIndex::remove_value(std::string_view name, std::string_view value) {
  if (auto key = parse_uuid_label(name)) {
    auto& shard = impl_->shard(*key);
    std::unique_lock lock(shard.mutex);
    auto it = shard.entries.find(*key);
    if (it == shard.entries.end()) return;
    erase_value(it->second, value);
    // A name that only existed for its values (not an account) disappears with them.
    if (it->second.empty()) shard.entries.erase(it);
    return;
  }
  std::unique_lock lock(impl_->other_mutex);
  auto it = impl_->other.find(std::string(name));
  if (it == impl_->other.end()) return;
  erase_value(it->second, value);
  if (it->second.empty()) impl_->erase_other(it);
}

// Persistent names are "_validation-persist.<name>", never a bare UUID: they live in the
// `other` map with the embedded client's names.
void AnswerIndex::put_persistent(std::string_view name, std::string_view value) {
  std::unique_lock lock(impl_->other_mutex);
  auto it = impl_->other.find(std::string(name));
  if (it == impl_->other.end()) {
    impl_->add_other(name, OtherEntry{});
    it = impl_->other.find(std::string(name));
  }
  auto& list = it->second.persistent;
  if (std::find(list.begin(), list.end(), value) == list.end()) list.emplace_back(value);
}

void AnswerIndex::remove_persistent(std::string_view name, std::string_view value) {
  std::unique_lock lock(impl_->other_mutex);
  auto it = impl_->other.find(std::string(name));
  if (it == impl_->other.end()) return;
  std::erase(it->second.persistent, std::string(value));
  if (it->second.empty()) impl_->erase_other(it);
}

void AnswerIndex::replace_contents(AnswerIndex& fresh) {
  for (std::size_t i = 0; i < kShards; ++i) {
    std::unique_lock lock(impl_->shards[i].mutex);
    impl_->shards[i].entries.swap(fresh.impl_->shards[i].entries);
  }
  {
    std::unique_lock lock(impl_->other_mutex);
    impl_->other.swap(fresh.impl_->other);
    impl_->nonterminal_refs.swap(fresh.impl_->nonterminal_refs);
  }
  set_serial_at_least(fresh.serial() + 1);
}

void AnswerIndex::set_serial_at_least(std::uint32_t serial) {
  std::uint32_t current = serial_.load();
  while (serial_after(serial, current) && !serial_.compare_exchange_weak(current, serial)) {
  }
}

std::uint32_t AnswerIndex::next_serial(std::uint32_t current, std::int64_t now_unix) {
  // The serial follows the clock when it can (operators read it as a time) and
  // otherwise just increases.
  const auto now32 = static_cast<std::uint32_t>(now_unix);
  return serial_after(now32, current) ? now32 : current + 1;
}

void AnswerIndex::reserve(std::size_t names) {
  for (auto& s : impl_->shards) {
    std::unique_lock lock(s.mutex);
    s.entries.reserve(names / kShards + 1);
  }
}

std::size_t AnswerIndex::name_count() const {
  std::size_t n = 0;
  for (const auto& s : impl_->shards) {
    std::shared_lock lock(s.mutex);
    n += s.entries.size();
  }
  std::shared_lock lock(impl_->other_mutex);
  return n + impl_->other.size();
}

std::size_t AnswerIndex::value_count() const {
  std::size_t n = 0;
  for (const auto& s : impl_->shards) {
    std::shared_lock lock(s.mutex);
    for (const auto& [k, e] : s.entries) n += e.values.size();
  }
  std::shared_lock lock(impl_->other_mutex);
  for (const auto& [k, e] : impl_->other) n += e.values.size() + e.persistent.size();
  return n;
}

}  // namespace acmednsd
