// The IXFR journal (issue 13): one diff per serial, netted within a batch, written with
// the change, and still a chain after a restart.
#include "catch_compat.hpp"

#include <ctime>
#include <future>
#include <set>

#include "store/store.hpp"
#include "store/zone_journal.hpp"
#include "store_test_util.hpp"

using namespace acmednsd;
using acmednsd::testing::TempDir;
using acmednsd::testing::txt;

namespace {

std::unique_ptr<Store> open_journaled(const std::string& path, std::size_t journal = 1000,
                                      std::uint32_t limit = 100) {
  StoreOptions o;
  o.path = path;
  o.ixfr_journal = journal;
  o.retention.limit = limit;
  auto s = Store::open(o);
  INFO((s.ok() ? "" : s.error().message));
  REQUIRE(s.ok());
  return std::move(s.value());
}

// The TXT content after applying `diffs` to `start` the way a secondary does.
std::set<std::pair<std::string, std::string>> apply(std::set<std::pair<std::string, std::string>> start,
                                                    const std::vector<ZoneJournal::Diff>& diffs) {
  for (const auto& d : diffs) {
    for (const auto& c : d.removed) REQUIRE(start.erase({c.name, c.value}) == 1);   // must exist
    for (const auto& c : d.added) REQUIRE(start.insert({c.name, c.value}).second);  // must be new
  }
  return start;
}

}  // namespace

TEST_CASE("journal: the chain, its gaps and its bound") {
  ZoneJournal j(5);
  j.append({10, 11, {}, {{"a", "1"}}});
  j.append({11, 12, {{"a", "1"}}, {{"a", "2"}}});
  j.append({12, 13, {}, {{"b", "1"}}});
  CHECK(j.diffs_since(10, 13)->size() == 3);
  CHECK(j.diffs_since(11, 13)->size() == 2);
  CHECK_FALSE(j.diffs_since(9, 13));     // older than the journal
  CHECK_FALSE(j.diffs_since(10, 14));    // does not reach the serial asked
  j.append({20, 21, {}, {{"c", "1"}}});  // a gap: 13 -> 20 unknown
  CHECK_FALSE(j.diffs_since(12, 21));
  CHECK(j.diffs_since(20, 21)->size() == 1);
  CHECK(j.size() == 1);  // what came before the gap can never be used again: dropped
  CHECK(j.change_count() == 1);
  j.append({21, 22, {}, {{"d", "1"}, {"d", "2"}}});  // 6 changes > 5: the oldest go
  CHECK(j.change_count() <= 5);
  CHECK_FALSE(j.diffs_since(10, 22));
}

TEST_CASE("journal: diffs replay to the served content, across a restart") {
  TempDir dir;
  std::string sub;
  std::uint32_t first = 0;
  std::set<std::pair<std::string, std::string>> at_first;
  {
    auto store = open_journaled(dir.file("acme.db"), 1000, 3);
    auto creds = store->create_account_sync({});
    sub = creds->subdomain;
    REQUIRE(store->add_txt_sync(sub, txt(0)).ok());
    first = store->index().serial();
    at_first = {{sub, txt(0)}};
    for (int i = 1; i < 6; ++i) REQUIRE(store->add_txt_sync(sub, txt(i)).ok());  // limit 3: trims
    REQUIRE(*store->remove_txt_sync(sub, txt(5)));
    REQUIRE_FALSE(*store->remove_txt_sync(sub, txt(5)));  // absent: no change, no diff
    const auto diffs = store->journal()->diffs_since(first, store->index().serial());
    REQUIRE(diffs);
    CHECK(diffs->size() == 6);
    // What a secondary ends with is what the database and the index (AXFR) hold, even
    // when several values share a millisecond and the trim order decides.
    const auto now = apply(at_first, *diffs);
    std::set<std::pair<std::string, std::string>> stored;
    const auto listed = store->list_txt(sub);
    REQUIRE(listed.ok());
    for (const auto& r : listed.value()) stored.insert({sub, r.value});
    std::set<std::pair<std::string, std::string>> indexed;
    store->index().for_each_live(
        0,
        [](void* c, std::string_view name, std::string_view value) {
          static_cast<std::set<std::pair<std::string, std::string>>*>(c)->insert(
              {std::string(name), std::string(value)});
        },
        &indexed);
    CHECK(stored.size() == 2);
    CHECK(now == stored);
    CHECK(now == indexed);
  }
  // After a restart the serial moved on, and the chain still reaches it.
  auto store = open_journaled(dir.file("acme.db"), 1000, 3);
  const std::uint32_t serving = store->index().serial();
  const auto diffs = store->journal()->diffs_since(first, serving);
  REQUIRE(diffs);
  CHECK(diffs->back().to_serial == serving);
  CHECK(diffs->back().added.empty());
  REQUIRE(*store->delete_account_sync(store->list_accounts()->front().username));
  const auto after_delete = store->journal()->diffs_since(first, store->index().serial());
  REQUIRE(after_delete);
  CHECK(apply(at_first, *after_delete).empty());
}

TEST_CASE("journal: a prune that removes nothing raises no serial") {
  TempDir dir;
  auto store = open_journaled(dir.file("acme.db"));
  auto creds = store->create_account_sync({});
  REQUIRE(store->add_txt_sync(creds->subdomain, txt(1)).ok());
  const auto serial = store->index().serial();
  std::promise<Result<std::size_t>> p;
  store->prune(std::time(nullptr), [&p](Result<std::size_t> r) { p.set_value(std::move(r)); });
  REQUIRE(*p.get_future().get() == 0);
  CHECK(store->index().serial() == serial);
}
