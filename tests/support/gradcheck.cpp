#include "support/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <iomanip>

namespace rnn::test {

::testing::AssertionResult gradcheck(const std::string& name, std::span<double> values,
                                     std::span<const double> analytic,
                                     const std::function<double()>& loss,
                                     const GradcheckOptions& options) {
  if (values.size() != analytic.size()) {
    return ::testing::AssertionFailure() << name << ": " << analytic.size()
                                         << " analytic values for " << values.size() << " inputs";
  }
  for (size_t i = 0; i < values.size(); ++i) {
    const double saved = values[i];
    values[i] = saved + options.eps;
    const double plus = loss();
    values[i] = saved - options.eps;
    const double minus = loss();
    values[i] = saved;
    const double numeric = (plus - minus) / (2.0 * options.eps);
    const double error = std::abs(analytic[i] - numeric) / std::max(1.0, std::abs(numeric));
    if (!(error <= options.tolerance)) {
      return ::testing::AssertionFailure()
             << std::setprecision(12) << name << ": first bad index " << i << ": numeric "
             << numeric << ", analytic " << analytic[i] << " (relative error " << error
             << " > " << options.tolerance << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

Tensor<double> random_tensor(const Shape& shape, Rng& rng, double scale) {
  Tensor<double> t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(-scale, scale);
  return t;
}

Tensor<float> random_tensor_f(const Shape& shape, Rng& rng, double scale) {
  Tensor<float> t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform(-scale, scale));
  return t;
}

double dot(const Tensor<double>& a, const Tensor<double>& b) {
  double sum = 0.0;
  const int64_t n = std::min(a.numel(), b.numel());
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace rnn::test
