// The IXFR journal: the last changes of the zone's TXT content, one diff per SOA
// serial, so a secondary that is a few serials behind gets only what changed (RFC 1995)
// instead of the whole zone.
//
// Written by the store's publisher (under the answer index's batch lock, so each diff
// is exactly the change between two serials), kept in memory for the DNS plane, and
// persisted in the `ixfr_journal` table so it survives a restart. It is a cache: a
// chain that has a gap (a crash between a commit and its journal row, a change by
// another process) is not used, and the secondary gets the whole zone instead.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace acmednsd {

class ZoneJournal {
 public:
  struct Change {
    std::string name;  // relative owner name
    std::string value;
  };
  struct Diff {
    std::uint32_t from_serial = 0;
    std::uint32_t to_serial = 0;
    std::vector<Change> removed;
    std::vector<Change> added;
  };

  explicit ZoneJournal(std::size_t max_changes) : max_changes_(max_changes) {}

  // The diffs that lead from `from` to `to`, in order, or nullopt when the journal does
  // not hold an unbroken chain between them (the caller then sends the whole zone).
  [[nodiscard]] std::optional<std::vector<Diff>> diffs_since(std::uint32_t from, std::uint32_t to) const;

  // Appends a diff; old diffs go once more than `max_changes` changes are kept, and all
  // of them when `diff` does not start where the last one ended (a gap in the chain).
  void append(Diff diff);
  void clear();
  [[nodiscard]] std::size_t size() const;          // diffs
  [[nodiscard]] std::size_t change_count() const;  // changes in them
  [[nodiscard]] std::size_t max_changes() const { return max_changes_; }

 private:
  std::size_t max_changes_;
  mutable std::mutex mutex_;
  std::deque<Diff> diffs_;
  std::size_t changes_ = 0;
};

}  // namespace acmednsd
