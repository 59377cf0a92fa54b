// What the contract suites (store_contract*_test.cpp, store_pg_writer_test.cpp) share:
// opening a store on a TestDb, the values its index serves, and a bounded wait.
#pragma once

#include "catch_compat.hpp"
#include <chrono>
#include <ctime>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/store.hpp"
#include "store_test_db.hpp"

namespace acmednsd::testing {

inline std::unique_ptr<Store> open_store(const TestDb& db, RetentionPolicy policy = {}) {
  auto s = Store::open(db.options(policy));
  INFO((s.ok() ? "" : s.error().message));
  REQUIRE(s.ok());
  return std::move(s.value());
}

// The values the index answers for `name` now, in answer order.
inline std::vector<std::string> served(const Store& store, const std::string& name) {
  std::vector<std::string> out;
  store.index().visit(
      name, std::time(nullptr),
      [](void* c, std::string_view v) { static_cast<std::vector<std::string>*>(c)->emplace_back(v); }, &out);
  return out;
}

inline std::set<std::string> served_set(const Store& store, const std::string& name) {
  auto v = served(store, name);
  return {v.begin(), v.end()};
}

// True as soon as `pred` holds, checked every 10 ms for at most `limit`.
template <typename Pred>
bool within(std::chrono::milliseconds limit, Pred pred) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace acmednsd::testing
