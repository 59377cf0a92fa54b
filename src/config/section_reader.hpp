// Private to src/config/: the reader every config section goes through. It knows each
// key's type and range, so an error always names the file, line, section, key and value,
// and it remembers which keys were read, so any other key is reported as unknown.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

#include "common/cidr.hpp"
#include "config/config_values.hpp"

namespace acmednsd::config_detail {

class Errors {
 public:
  explicit Errors(std::string source) : source_(std::move(source)) {}
  void add(int line, std::string_view where, std::string_view text) {
    std::ostringstream s;
    s << source_ << ':' << line << ": " << where << ": " << text;
    list_.push_back(s.str());
  }
  [[nodiscard]] bool empty() const { return list_.empty(); }
  [[nodiscard]] std::string joined() const {
    std::string out;
    for (const auto& e : list_) out += (out.empty() ? "" : "\n") + e;
    return out;
  }
  [[nodiscard]] const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::vector<std::string> list_;
};

inline int line_of(const toml::node& node) {
  return static_cast<int>(node.source().begin.line);
}

inline std::string show(const toml::node& node) {
  std::ostringstream s;
  if (const auto* str = node.as_string()) {
    s << '"' << str->get() << '"';
  } else {
    node.visit([&s](auto&& n) { s << n; });
  }
  std::string out = s.str();
  if (out.size() > 80) out = out.substr(0, 77) + "...";
  return out;
}

// Reads the keys of one table and remembers which ones were read.
class SectionReader {
 public:
  SectionReader(const toml::table* table, std::string name, int line, Errors& errors)
      : table_(table), name_(std::move(name)), line_(line), errors_(errors) {}

  [[nodiscard]] const toml::node* node(std::string_view key) {
    seen_.insert(std::string(key));
    return table_ ? table_->get(key) : nullptr;
  }
  [[nodiscard]] bool has(std::string_view key) const { return table_ && table_->contains(key); }
  [[nodiscard]] int line() const { return line_; }

  void fail(const toml::node& n, std::string_view key, std::string_view why) {
    errors_.add(line_of(n), where(key), show(n) + " " + std::string(why));
  }
  void fail_at(int line, std::string_view key, std::string_view why) { errors_.add(line, where(key), why); }
  [[nodiscard]] std::string where(std::string_view key) const {
    return "[" + name_ + "] " + std::string(key);
  }

  bool read(std::string_view key, std::string& out) {
    const auto* n = node(key);
    if (!n) return false;
    if (!n->is_string()) return fail(*n, key, "is not a string"), false;
    out = n->as_string()->get();
    return true;
  }

  bool read(std::string_view key, bool& out) {
    const auto* n = node(key);
    if (!n) return false;
    if (!n->is_boolean()) return fail(*n, key, "is not true or false"), false;
    out = n->as_boolean()->get();
    return true;
  }

  // Integers may also be written as strings of digits ("443"), as acme-dns does for port.
  template <typename Int>
  bool read(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
    const auto* n = node(key);
    if (!n) return false;
    std::int64_t v = 0;
    if (n->is_integer()) {
      v = n->as_integer()->get();
    } else if (n->is_string()) {
      const auto& s = n->as_string()->get();
      std::size_t used = 0;
      try {
        v = std::stoll(s, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != s.size()) return fail(*n, key, "is not a whole number"), false;
    } else {
      return fail(*n, key, "is not a whole number"), false;
    }
    if (v < min || v > max) {
      return fail(*n, key, "is out of range " + std::to_string(min) + ".." + std::to_string(max)), false;
    }
    out = static_cast<Int>(v);
    return true;
  }

  // An array of strings; `allow_single` also accepts one string (acme-dns `listen`).
  // `locations`, when given, gets "file:line" of each element, for later messages.
  bool read(std::string_view key, std::vector<std::string>& out, bool allow_single = false,
            std::vector<std::string>* locations = nullptr) {
    const auto* n = node(key);
    if (!n) return false;
    if (allow_single && n->is_string()) {
      out = {n->as_string()->get()};
      return true;
    }
    const auto* arr = n->as_array();
    if (!arr) return fail(*n, key, "is not an array of strings"), false;
    std::vector<std::string> values;
    std::vector<std::string> where_defined;
    for (const auto& el : *arr) {
      if (!el.is_string()) return fail(el, key, "is not a string"), false;
      values.push_back(el.as_string()->get());
      where_defined.push_back(errors_.source() + ":" + std::to_string(line_of(el)));
    }
    out = std::move(values);
    if (locations != nullptr) *locations = std::move(where_defined);
    return true;
  }

  bool read_duration(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max) {
    const auto* n = node(key);
    if (!n) return false;
    std::optional<std::int64_t> v;
    if (n->is_integer()) v = n->as_integer()->get();
    if (n->is_string()) v = config_values::parse_duration(n->as_string()->get());
    if (!v) return fail(*n, key, "is not a duration (seconds, or a number with s/m/h/d)"), false;
    if (*v < min || *v > max) return fail(*n, key, "is out of range"), false;
    out = *v;
    return true;
  }

  template <typename Enum>
  bool read_enum(std::string_view key, Enum& out,
                 std::initializer_list<std::pair<std::string_view, Enum>> choices) {
    std::string text;
    if (!read(key, text)) return false;
    for (const auto& [name, value] : choices) {
      if (text == name) {
        out = value;
        return true;
      }
    }
    std::string names;
    for (const auto& c : choices) names += (names.empty() ? "" : ", ") + std::string(c.first);
    fail(*node(key), key, "is not one of: " + names);
    return false;
  }

  void read_cidrs(std::string_view key, std::vector<std::string>& out) {
    if (!read(key, out)) return;
    for (const auto& c : out) {
      if (!Cidr::parse(c)) fail(*node(key), key, "has \"" + c + "\", which is not a CIDR (e.g. 10.0.0.0/8)");
    }
  }

  // Legacy keys are read (so they are not "unknown") and produce a warning.
  void legacy(std::string_view key, std::string_view why, std::vector<std::string>& warnings) {
    if (const auto* n = node(key)) {
      warnings.push_back(errors_.source() + ":" + std::to_string(line_of(*n)) + ": " + where(key) +
                         " is ignored: " + std::string(why));
    }
  }

  void reject_unknown() {
    if (!table_) return;
    for (const auto& [k, v] : *table_) {
      if (!seen_.contains(std::string(k.str()))) {
        errors_.add(static_cast<int>(k.source().begin.line), where(k.str()), "unknown key");
      }
    }
  }

 private:
  const toml::table* table_;
  std::string name_;
  int line_;
  Errors& errors_;
  std::set<std::string> seen_;
};

inline SectionReader section(const toml::table& root, std::string_view name, Errors& errors) {
  const auto* n = root.get(name);
  const toml::table* t = n ? n->as_table() : nullptr;
  if (n && !t) errors.add(line_of(*n), name, "must be a table ([" + std::string(name) + "])");
  return SectionReader(t, std::string(name), n ? line_of(*n) : 1, errors);
}

}  // namespace acmednsd::config_detail
