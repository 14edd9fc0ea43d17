// pack_gates stores an 8-unit LSTM/GRU block's gate vectors as runs of their own where the
// packed weights are larger than L2 (PackedGates::vector_runs), and pack_matrix a 32-wide
// panel's four vectors from 8 times the L2 on, so that a few-row product reads several
// streams at once. Only where the weights are read from changes: every output of fused_step
// must be bit-identical to the side-by-side layout, for every row tile (1..4 rows and their
// tails), with and without the input in the blocks (GRU's n gate then sums its x part apart),
// in either block order and on a thread's sub-range of blocks.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "rnn/core/rng.h"
#include "rnn/kernels/fast_recurrent.h"
#include "support/fused_step_case.h"

namespace {

namespace fast = rnn::kernels::fast;

using rnn::test::random_values;

// Restores the system's L2 size and AVX-512 setting however the test ends.
struct KernelSettings {
  ~KernelSettings() {
    fast::set_l2_cache_bytes(0);
    fast::enable_avx512(fast::avx512_available());
  }
};

TEST(VectorRuns, ChosenOnlyForBlocksLargerThanL2) {
  if (!fast::available()) GTEST_SKIP() << "no AVX2+FMA: the fast kernels are not used";
  KernelSettings restore;
  rnn::Rng rng(3);
  const int64_t H = 40;
  const std::vector<float> w = random_values(4 * H * H, rng);
  fast::PackedGates p;
  fast::set_l2_cache_bytes(int64_t{1} << 30);
  fast::pack_gates(p, fast::Cell::LSTM, H, 0, nullptr, nullptr, H, w.data(), nullptr);
  EXPECT_FALSE(p.vector_runs);
  fast::set_l2_cache_bytes(4096);
  fast::pack_gates(p, fast::Cell::LSTM, H, 0, nullptr, nullptr, H, w.data(), nullptr);
  EXPECT_TRUE(p.vector_runs);
  EXPECT_EQ(p.k_stride(), 8);
  EXPECT_EQ(p.vector_stride(), 8 * H);
  // The batched panels (another layout) in the same object: no runs left over.
  fast::pack_gate_panels(p, fast::Cell::LSTM, H, 0, nullptr, nullptr, H, w.data(), nullptr);
  EXPECT_FALSE(p.vector_runs);
  // RNN's 32-unit blocks are read by the AVX-512 tiles too: never in runs.
  fast::pack_gates(p, fast::Cell::RNN_TANH, H, 0, nullptr, nullptr, H, w.data(), nullptr);
  EXPECT_FALSE(p.vector_runs);
}

TEST(VectorRuns, StepEqualsSideBySideLayout) {
  if (!fast::available()) GTEST_SKIP() << "no AVX2+FMA: the fast kernels are not used";
  KernelSettings restore;
  fast::enable_avx512(false);  // the 8-unit blocks (AVX-512 packs 16-unit ones from H = 16)
  rnn::Rng rng(5);
  for (fast::Cell cell : {fast::Cell::LSTM, fast::Cell::GRU}) {
    for (int64_t kx : {0, 23}) {
      for (int64_t rows : {1, 2, 3, 4, 5, 7}) {
        // H = 45: a last block with 5 of its 8 units; K odd with the input in the blocks
        // (the one-row sweep's last single k).
        const int64_t H = 45, G = fast::gate_count(cell);
        const std::vector<float> w_x = random_values(G * H * kx, rng),
                                 w_h = random_values(G * H * H, rng),
                                 b_x = random_values(G * H, rng), b_h = random_values(G * H, rng);
        rnn::test::FusedStepCase step(cell, H, kx, rows, rng);
        std::vector<float> outs[2];
        for (int runs = 0; runs < 2; ++runs) {
          fast::set_l2_cache_bytes(runs == 1 ? 4096 : int64_t{1} << 30);
          fast::PackedGates p;
          fast::pack_gates(p, cell, H, kx, kx > 0 ? w_x.data() : nullptr, b_x.data(), H, w_h.data(),
                           b_h.data());
          ASSERT_EQ(p.vector_runs, runs == 1);
          fast::StepArgs s = step.args();
          // Blocks 1.. in descending order, then block 0: a thread's share, the other way.
          s.last_first = true;
          fast::fused_step(p, s, 1, p.blocks);
          s.last_first = false;
          fast::fused_step(p, s, 0, 1);
          outs[runs] = step.outputs();
        }
        EXPECT_EQ(outs[0], outs[1])
            << "cell " << static_cast<int>(cell) << " kx " << kx << " rows " << rows;
      }
    }
  }
}

// The backward's few-row product dh W_hh on 32-wide panels: the same with the panels' vectors
// in runs (8 times the L2 on).
TEST(VectorRuns, PackedGemmEqualsSideBySideLayout) {
  if (!fast::available()) GTEST_SKIP() << "no AVX2+FMA: the fast kernels are not used";
  KernelSettings restore;
  rnn::Rng rng(9);
  const int64_t k = 61, n = 75;  // a last panel with 11 of its 32 columns
  const std::vector<float> b = random_values(k * n, rng);
  for (int64_t m : {1, 2, 3, 4, 5}) {
    const std::vector<float> a = random_values(m * k, rng), c0 = random_values(m * n, rng);
    for (bool accumulate : {false, true}) {
      std::vector<float> outs[2];
      for (int runs = 0; runs < 2; ++runs) {
        fast::set_l2_cache_bytes(runs == 1 ? 256 : int64_t{1} << 30);
        fast::PackedMatrix p;
        fast::pack_matrix(p, k, n, b.data(), 32);
        ASSERT_EQ(p.vector_runs, runs == 1);
        outs[runs] = c0;
        fast::packed_gemm(p, m, a.data(), k, outs[runs].data(), n, 1, p.blocks, accumulate, true);
        fast::packed_gemm(p, m, a.data(), k, outs[runs].data(), n, 0, 1, accumulate);
      }
      EXPECT_EQ(outs[0], outs[1]) << "m " << m << " accumulate " << accumulate;
    }
  }
  // 16-wide panels (the AVX-512 tiles read them too) never take runs.
  fast::PackedMatrix p;
  fast::pack_matrix(p, k, n, b.data(), 16);
  EXPECT_FALSE(p.vector_runs);
}

}  // namespace
