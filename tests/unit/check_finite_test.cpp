// rnn::check_finite and all_finite: the blocked, vectorised scan must find every kind of
// non-finite value wherever it sits (block edges, tails, a clean block after a dirty one), and
// check_finite name its index.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rnn/core/tensor.h"

namespace {

template <class T>
std::string error_of(const std::vector<T>& v) {
  try {
    rnn::check_finite<T>(std::span<const T>(v), "x");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

template <class T>
void every_position_and_kind() {
  const std::vector<T> bad = {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                              -std::numeric_limits<T>::infinity()};
  for (size_t n : {1u, 7u, 4095u, 4096u, 4097u, 9000u}) {
    std::vector<T> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<T>(std::sin(static_cast<double>(i)) * 1e30);
    v[0] = std::numeric_limits<T>::max();
    if (n > 1) v[1] = std::numeric_limits<T>::denorm_min();
    EXPECT_EQ(error_of(v), "") << n;
    EXPECT_TRUE(rnn::all_finite<T>(std::span<const T>(v))) << n;
    for (size_t at : {size_t{0}, n / 2, n - 1, size_t{4095}, size_t{4096}}) {
      if (at >= n) continue;
      for (T b : bad) {
        std::vector<T> w = v;
        w[at] = b;
        const std::string msg = error_of(w);
        EXPECT_NE(msg.find("x holds a non-finite value"), std::string::npos) << msg;
        EXPECT_NE(msg.find("at flat index " + std::to_string(at)), std::string::npos) << msg;
        EXPECT_FALSE(rnn::all_finite<T>(std::span<const T>(w))) << n << " at " << at;
      }
    }
  }
}

TEST(CheckFinite, FindsNanAndBothInfinitiesAnywhereInFloat) { every_position_and_kind<float>(); }
TEST(CheckFinite, FindsNanAndBothInfinitiesAnywhereInDouble) { every_position_and_kind<double>(); }

TEST(CheckFinite, NamesTheFirstOfSeveral) {
  std::vector<float> v(10000, 1.0f);
  v[5000] = std::numeric_limits<float>::infinity();
  v[9000] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(error_of(v).find("at flat index 5000"), std::string::npos);
}

}  // namespace
