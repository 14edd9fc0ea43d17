// Central finite differences in double precision against an analytic gradient.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <span>
#include <string>

#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"

namespace rnn::test {

struct GradcheckOptions {
  double eps = 1e-6;      // finite-difference step
  double tolerance = 1e-6;  // on |analytic - numeric| / max(1, |numeric|)
};

// Perturbs each element of `values` by +-eps, evaluates `loss` (which must read
// `values`), and compares (f(+) - f(-)) / 2eps with `analytic`. Restores `values`.
::testing::AssertionResult gradcheck(const std::string& name, std::span<double> values,
                                     std::span<const double> analytic,
                                     const std::function<double()>& loss,
                                     const GradcheckOptions& options = {});

// A tensor of the given shape with entries U(-scale, scale) (random upstream gradients,
// inputs, states: never all ones).
Tensor<double> random_tensor(const Shape& shape, Rng& rng, double scale = 1.0);
Tensor<float> random_tensor_f(const Shape& shape, Rng& rng, double scale = 1.0);

// sum(a * b) over all elements (the scalar loss <dy, y> used by gradchecks).
double dot(const Tensor<double>& a, const Tensor<double>& b);

}  // namespace rnn::test
