#include "support/compare.h"

#include <algorithm>
#include <iomanip>

namespace rnn::test {

::testing::AssertionResult all_close(const std::string& name, std::span<const double> actual,
                                     std::span<const double> expected, double atol, double rtol,
                                     CloseReport* report) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure() << name << ": " << actual.size() << " values, expected "
                                         << expected.size();
  }
  CloseReport local;
  int64_t first_bad = -1;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double diff = std::abs(actual[i] - expected[i]);
    const double ratio = diff / (atol + rtol * std::abs(expected[i]));
    const bool bad = !(ratio <= 1.0);  // NaN counts as bad
    local.worst_abs = std::max(local.worst_abs, diff);
    local.worst_ratio = std::max(local.worst_ratio, std::isnan(ratio) ? 1e300 : ratio);
    if (bad && first_bad < 0) first_bad = static_cast<int64_t>(i);
  }
  if (report) {
    report->worst_abs = std::max(report->worst_abs, local.worst_abs);
    report->worst_ratio = std::max(report->worst_ratio, local.worst_ratio);
  }
  if (first_bad < 0) return ::testing::AssertionSuccess();
  const auto i = static_cast<size_t>(first_bad);
  return ::testing::AssertionFailure()
         << std::setprecision(10) << name << ": first bad index " << first_bad << ": expected "
         << expected[i] << ", got " << actual[i] << " (atol " << atol << ", rtol " << rtol
         << "; worst |diff| " << local.worst_abs << ")";
}

}  // namespace rnn::test
