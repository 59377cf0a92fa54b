#include "store/zone_journal.hpp"

namespace acmednsd {

std::optional<std::vector<ZoneJournal::Diff>> ZoneJournal::diffs_since(std::uint32_t from,
                                                                       std::uint32_t to) const {
  std::lock_guard lock(mutex_);
  std::size_t i = 0;
  while (i < diffs_.size() && diffs_[i].from_serial != from) ++i;
  if (i == diffs_.size()) return std::nullopt;
  std::vector<Diff> out;
  std::uint32_t at = from;
  for (; i < diffs_.size() && at != to; ++i) {
    if (diffs_[i].from_serial != at) return std::nullopt;  // a gap
    out.push_back(diffs_[i]);
    at = diffs_[i].to_serial;
  }
  if (at != to) return std::nullopt;
  return out;
}

void ZoneJournal::append(Diff diff) {
  std::lock_guard lock(mutex_);
  if (!diffs_.empty() && diffs_.back().to_serial != diff.from_serial) {
    // A change this journal did not see (another instance without a journal, a failed
    // read): older diffs can no longer reach the current serial.
    diffs_.clear();
    changes_ = 0;
  }
  changes_ += diff.removed.size() + diff.added.size();
  diffs_.push_back(std::move(diff));
  while (!diffs_.empty() && changes_ > max_changes_) {
    changes_ -= diffs_.front().removed.size() + diffs_.front().added.size();
    diffs_.pop_front();
  }
}

void ZoneJournal::clear() {
  std::lock_guard lock(mutex_);
  diffs_.clear();
  changes_ = 0;
}

std::size_t ZoneJournal::size() const {
  std::lock_guard lock(mutex_);
  return diffs_.size();
}

std::size_t ZoneJournal::change_count() const {
  std::lock_guard lock(mutex_);
  return changes_;
}

}  // namespace acmednsd
