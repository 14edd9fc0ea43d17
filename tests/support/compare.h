// Tensor comparisons whose failures name the tensor, the first bad index and both values.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "rnn/core/tensor.h"

namespace rnn::test {

struct CloseReport {
  double worst_abs = 0.0;   // largest |actual - expected|
  double worst_ratio = 0.0; // largest |a - e| / (atol + rtol |e|); <= 1 passes
};

// Passes when |actual - expected| <= atol + rtol * |expected| everywhere (the DESIGN.md
// contract: fp32 atol 1e-5, rtol 1e-4). `report`, if given, receives the worst errors.
::testing::AssertionResult all_close(const std::string& name, std::span<const double> actual,
                                     std::span<const double> expected, double atol, double rtol,
                                     CloseReport* report = nullptr);

template <class A, class E>
::testing::AssertionResult all_close(const std::string& name, const Tensor<A>& actual,
                                     const Tensor<E>& expected, double atol, double rtol,
                                     CloseReport* report = nullptr) {
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << name << ": shape " << shape_str(actual.shape())
                                         << " differs from expected " << shape_str(expected.shape());
  }
  std::vector<double> a(actual.values().begin(), actual.values().end());
  std::vector<double> e(expected.values().begin(), expected.values().end());
  return all_close(name, a, e, atol, rtol, report);
}

// Exact equality, element by element (for bit-for-bit contracts).
template <class T>
::testing::AssertionResult bitwise_equal(const std::string& name, const Tensor<T>& actual,
                                         const Tensor<T>& expected) {
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << name << ": shape " << shape_str(actual.shape())
                                         << " differs from expected " << shape_str(expected.shape());
  }
  for (int64_t i = 0; i < actual.numel(); ++i) {
    if (!(actual[i] == expected[i]) && !(std::isnan(actual[i]) && std::isnan(expected[i]))) {
      return ::testing::AssertionFailure() << name << ": first difference at flat index " << i
                                           << ": expected " << expected[i] << ", got " << actual[i];
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace rnn::test
