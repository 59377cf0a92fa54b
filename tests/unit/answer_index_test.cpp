#include "catch_compat.hpp"
#include <string>
#include <vector>

#include "store/answer_index.hpp"

using namespace acmednsd;

namespace {

constexpr const char* kSub = "d420c923-bbd7-4056-ab64-c3ca54c9b3cf";

std::string value(int i) {
  std::string s = "v" + std::to_string(i);
  s.resize(kTxtValueLength, 'A');
  return s;
}

struct Visit {
  NameKind kind;
  std::vector<std::string> values;
};

Visit visit(const AnswerIndex& index, std::string_view name, std::int64_t now) {
  Visit v;
  v.kind = index.visit(
      name, now,
      [](void* ctx, std::string_view value) {
        static_cast<std::vector<std::string>*>(ctx)->emplace_back(value);
      },
      &v.values);
  return v;
}

}  // namespace

TEST_CASE("registered names exist with or without values; others are absent") {
  AnswerIndex index(RetentionPolicy{});
  CHECK(visit(index, kSub, 1000).kind == NameKind::absent);
  index.add_name(kSub);
  auto v = visit(index, kSub, 1000);
  CHECK(v.kind == NameKind::exists);
  CHECK(v.values.empty());
  index.remove_name(kSub);
  CHECK(visit(index, kSub, 1000).kind == NameKind::absent);
}

TEST_CASE("more than two values are served, newest first; a refresh does not duplicate") {
  AnswerIndex index(RetentionPolicy{});
  index.add_name(kSub);
  for (int i = 0; i < 10; ++i) index.put_value(kSub, value(i), 1000 + i);
  auto v = visit(index, kSub, 1010);
  REQUIRE(v.values.size() == 10);
  CHECK(v.values.front() == value(9));
  CHECK(v.values.back() == value(0));
  index.put_value(kSub, value(0), 1011);
  v = visit(index, kSub, 1011);
  REQUIRE(v.values.size() == 10);
  CHECK(v.values.front() == value(0));
}

TEST_CASE("retention: the two newest are always served, older ones until they expire") {
  AnswerIndex index(RetentionPolicy{100, 3600});
  index.add_name(kSub);
  for (int i = 0; i < 5; ++i) index.put_value(kSub, value(i), 1000 + i);
  CHECK(visit(index, kSub, 1000 + 3599).values.size() == 5);
  auto v = visit(index, kSub, 1000 + 100000);
  REQUIRE(v.values.size() == 2);
  CHECK(v.values[0] == value(4));
  CHECK(v.values[1] == value(3));
}

TEST_CASE("limit: past the limit the oldest goes first") {
  AnswerIndex index(RetentionPolicy{3, 3600});
  index.add_name(kSub);
  for (int i = 0; i < 5; ++i) index.put_value(kSub, value(i), 1000 + i);
  auto v = visit(index, kSub, 1005);
  CHECK(v.values == std::vector<std::string>{value(4), value(3), value(2)});
  CHECK(index.value_count() == 3);
}

TEST_CASE("names that are not UUIDs live only while they have values, with empty non-terminals") {
  AnswerIndex index(RetentionPolicy{});
  index.put_value("_acme-challenge.www", value(1), 1000);
  CHECK(visit(index, "_acme-challenge.www", 1000).values.size() == 1);
  CHECK(visit(index, "www", 1000).kind == NameKind::nonterminal);
  CHECK(visit(index, "other", 1000).kind == NameKind::absent);
  index.remove_value("_acme-challenge.www", value(1));
  CHECK(visit(index, "_acme-challenge.www", 1000).kind == NameKind::absent);
  CHECK(visit(index, "www", 1000).kind == NameKind::absent);
}

TEST_CASE("removing the last value of an account leaves the name (NODATA, not NXDOMAIN)") {
  AnswerIndex index(RetentionPolicy{});
  index.add_name(kSub);
  index.put_value(kSub, value(1), 1000);
  index.remove_value(kSub, value(1));
  auto v = visit(index, kSub, 1000);
  CHECK(v.kind == NameKind::exists);
  CHECK(v.values.empty());
}

TEST_CASE("serial follows the clock and otherwise increases (RFC 1982)") {
  CHECK(AnswerIndex::next_serial(5, 1000) == 1000);
  CHECK(AnswerIndex::next_serial(1000, 1000) == 1001);
  CHECK(AnswerIndex::next_serial(2000, 1000) == 2001);
  CHECK(AnswerIndex::next_serial(0xFFFFFFFFU, 5) == 5);  // wraps forward
  AnswerIndex index(RetentionPolicy{});
  index.set_serial_at_least(100);
  index.set_serial_at_least(50);
  CHECK(index.serial() == 100);
}

TEST_CASE("replace_contents swaps in a freshly loaded index") {
  AnswerIndex index(RetentionPolicy{});
  index.add_name(kSub);
  AnswerIndex fresh(RetentionPolicy{});
  fresh.add_name("0b9a2d8e-0000-4000-8000-000000000001");
  fresh.put_value("0b9a2d8e-0000-4000-8000-000000000001", value(1), 1000);
  index.replace_contents(fresh);
  CHECK(visit(index, kSub, 1000).kind == NameKind::absent);
  CHECK(visit(index, "0b9a2d8e-0000-4000-8000-000000000001", 1000).values.size() == 1);
}
