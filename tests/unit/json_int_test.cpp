// JsonInt / json_int_or: integers from outside JSON are whole numbers that fit their type,
// or an rnn::Error (never nlohmann's plain cast, undefined beyond the type's range).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "rnn/core/json_int.h"

namespace rnn {
namespace {

using nlohmann::json;

template <class I>
std::string error_of(const json& j) {
  try {
    (void)j.get<JsonInt<I>>().value;
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(JsonInt, AcceptsWholeNumbersThatFit) {
  EXPECT_EQ(json(42).get<JsonInt<int64_t>>().value, 42);
  EXPECT_EQ(json(-7).get<JsonInt<int64_t>>().value, -7);
  EXPECT_EQ(json(3.0).get<JsonInt<int64_t>>().value, 3);
  EXPECT_EQ(json(std::numeric_limits<int64_t>::min()).get<JsonInt<int64_t>>().value,
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(json(std::numeric_limits<uint64_t>::max()).get<JsonInt<uint64_t>>().value,
            std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(json(2147483647).get<JsonInt<int>>().value, 2147483647);
  EXPECT_EQ(json::parse("9007199254740992.0").get<JsonInt<int64_t>>().value, int64_t{1} << 53);
}

TEST(JsonInt, RefusesFloatsOutOfRangeFractionsAndNonNumbers) {
  EXPECT_NE(error_of<int64_t>(json::parse("1e300")).find("expected an integer, got 1e+300"), std::string::npos);
  EXPECT_NE(error_of<int64_t>(json(9223372036854775808.0)).find("expected an integer"), std::string::npos);
  EXPECT_NE(error_of<int64_t>(json(-1e19)).find("expected an integer"), std::string::npos);
  EXPECT_NE(error_of<int64_t>(json(2.5)).find("expected an integer, got 2.5"), std::string::npos);
  EXPECT_NE(error_of<int64_t>(json("12")).find("expected an integer, got \"12\""), std::string::npos);
  EXPECT_NE(error_of<int64_t>(json(nullptr)).find("expected an integer"), std::string::npos);
  EXPECT_NE(error_of<int64_t>(json::array({1})).find("expected an integer"), std::string::npos);
  // Integers that do not fit the asked type.
  EXPECT_NE(error_of<int64_t>(json(std::numeric_limits<uint64_t>::max())).find("out of range"), std::string::npos);
  EXPECT_NE(error_of<size_t>(json(-1)).find("out of range"), std::string::npos);
  EXPECT_NE(error_of<int>(json(int64_t{1} << 40)).find("out of range"), std::string::npos);
  EXPECT_NE(error_of<uint64_t>(json(-1.0)).find("expected an integer"), std::string::npos);
  EXPECT_NE(error_of<int>(json(4294967296.0)).find("expected an integer"), std::string::npos);
}

TEST(JsonInt, OrFallbackWhenAbsent) {
  const json j = {{"steps", 12}, {"bad", 0.5}};
  EXPECT_EQ(json_int_or(j, "steps", int64_t{0}), 12);
  EXPECT_EQ(json_int_or(j, "missing", int64_t{-1}), -1);
  EXPECT_THROW(json_int_or(j, "bad", int64_t{0}), Error);
}

}  // namespace
}  // namespace rnn
