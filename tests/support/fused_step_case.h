// Inputs and outputs of one fast::fused_step for kernel tests that run the same step two ways
// and compare every output bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "rnn/core/rng.h"
#include "rnn/kernels/fast_recurrent.h"

namespace rnn::test {

// n values drawn uniformly from [-1, 1).
std::vector<float> random_values(int64_t n, Rng& rng);

struct FusedStepCase {
  // Random rows of [x | h] (kx > 0) or h alone, c, and gi (used where kx == 0).
  FusedStepCase(kernels::fast::Cell cell, int64_t hidden, int64_t kx, int64_t rows, Rng& rng);

  // The step's arguments over these inputs, with every output zeroed.
  kernels::fast::StepArgs args();
  // h_new, c_new, gates, hn and y, one after another.
  std::vector<float> outputs() const;

  int64_t rows, hidden, kx, gates_hidden;
  std::vector<float> a, c, gi;
  std::vector<float> h_new, c_new, gates, hn, y;
};

}  // namespace rnn::test
