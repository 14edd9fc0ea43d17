// The fast kernels' last-to-first block order (StepArgs::last_first, packed_gemm's
// last_first) changes only which weights are read first: every output must be bit-identical
// to the ascending order, on the AVX-512 tiles and on the AVX2 ones, for every pass shape
// (3-panel passes, a 1/2/4-panel tail, two 8 x 32 passes at <= 16 rows) and for fused_step's
// 8- and 16-unit blocks.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "rnn/core/rng.h"
#include "rnn/kernels/fast_recurrent.h"
#include "support/fused_step_case.h"

namespace {

namespace fast = rnn::kernels::fast;

using rnn::test::random_values;

// Runs `body` on the AVX-512 tiles (where the CPU has them) and on the AVX2 ones.
template <class F>
void on_each_width(F body) {
  if (!fast::available()) GTEST_SKIP() << "no AVX2+FMA: the fast kernels are not used";
  if (fast::avx512_available()) {
    fast::enable_avx512(true);
    body();
  }
  fast::enable_avx512(false);
  body();
  fast::enable_avx512(fast::avx512_available());
}

TEST(BlockOrder, PackedGemmLastFirstEqualsAscending) {
  rnn::Rng rng(7);
  // Panel counts 5..13 cover every tail of the 3-panel passes; widths 16 and 32; 16 and 21
  // rows (two 8 x 32 passes for a 4-panel tail at <= 16 rows, one 6 x 64 pass above).
  for (int64_t width : {16, 32}) {
    for (int64_t n : {80, 96, 112, 128, 150, 176, 208}) {
      for (int64_t m : {3, 16, 21}) {
        const int64_t k = 37;
        const std::vector<float> b = random_values(k * n, rng), a = random_values(m * k, rng),
                                 c0 = random_values(m * n, rng);
        fast::PackedMatrix p;
        fast::pack_matrix(p, k, n, b.data(), width);
        on_each_width([&] {
          for (bool accumulate : {false, true}) {
            std::vector<float> up = c0, down = c0;
            // A sub-range, as a thread gets, and the whole.
            for (auto [lo, hi] : {std::pair<int64_t, int64_t>{1, p.blocks}, {0, p.blocks}}) {
              fast::packed_gemm(p, m, a.data(), k, up.data(), n, lo, hi, accumulate, false);
              fast::packed_gemm(p, m, a.data(), k, down.data(), n, lo, hi, accumulate, true);
              EXPECT_EQ(up, down) << "width " << width << " n " << n << " m " << m;
            }
          }
        });
      }
    }
  }
}

TEST(BlockOrder, StepLastFirstEqualsAscending) {
  rnn::Rng rng(11);
  for (fast::Cell cell : {fast::Cell::LSTM, fast::Cell::GRU, fast::Cell::RNN_TANH}) {
    for (int64_t rows : {1, 5, 16, 40}) {
      const int64_t H = 150, I = 70, G = fast::gate_count(cell);
      const bool panels = rows >= 16;
      const std::vector<float> w_x = random_values(G * H * I, rng), w_h = random_values(G * H * H, rng),
                               b_x = random_values(G * H, rng), b_h = random_values(G * H, rng),
                               x = random_values(rows * I, rng), h = random_values(rows * H, rng),
                               c = random_values(rows * H, rng);
      const std::vector<float> gi = random_values(rows * G * H, rng);
      on_each_width([&] {
        // Few rows: pack_gates' blocks, of 16 units where AVX-512 is on.
        fast::PackedGates p;
        if (panels) {
          fast::pack_gate_panels(p, cell, H, I, w_x.data(), b_x.data(), H, w_h.data(), b_h.data());
        } else {
          fast::pack_gates(p, cell, H, 0, nullptr, b_x.data(), H, w_h.data(), b_h.data(), fast::avx512_enabled());
        }
        const int64_t units = panels ? fast::gate_groups(p) : p.blocks;
        std::vector<float> outs[2];
        for (int order = 0; order < 2; ++order) {
          std::vector<float> h_new(rows * H), c_new(rows * H), gates(rows * G * H), hn(rows * H);
          fast::StepArgs s;
          s.rows = rows;
          s.a = h.data();
          s.lda = H;
          if (panels) {
            s.x = x.data();
            s.ldx = I;
          } else {
            s.gi = gi.data();
            s.ldgi = G * H;
          }
          s.h_prev = h.data();
          s.ldh = H;
          s.c_prev = c.data();
          s.h_new = h_new.data();
          s.c_new = c_new.data();
          s.gates = gates.data();
          s.hn = hn.data();
          s.last_first = order == 1;
          if (panels) {
            std::vector<float> scratch(static_cast<size_t>(rows * fast::panel_scratch_cols(p) + 16));
            fast::panel_step(p, s, 0, units, scratch.data());
          } else {
            fast::fused_step(p, s, 0, units);
          }
          outs[order] = h_new;
          outs[order].insert(outs[order].end(), c_new.begin(), c_new.end());
          outs[order].insert(outs[order].end(), gates.begin(), gates.end());
        }
        EXPECT_EQ(outs[0], outs[1]) << "rows " << rows << " cell " << static_cast<int>(cell);
      });
    }
  }
}

// One row over a few blocks (batch 1, the single step) takes them two at a time with their
// epilogues together: the same as each block alone, bit for bit, LSTM and GRU (with GRU's
// input in the blocks too), an odd block count included.
TEST(BlockOrder, OneRowBlockPairsEqualOneBlockAtATime) {
  rnn::Rng rng(13);
  for (fast::Cell cell : {fast::Cell::LSTM, fast::Cell::GRU}) {
    for (int64_t H : {13, 29}) {  // 2 and 4 blocks of 8 units, the last one partly used
      for (int64_t kx : {0, 6}) {
        const int64_t G = fast::gate_count(cell);
        const std::vector<float> w_x = random_values(G * H * kx, rng),
                                 w_h = random_values(G * H * H, rng),
                                 b_x = random_values(G * H, rng), b_h = random_values(G * H, rng);
        rnn::test::FusedStepCase step(cell, H, kx, 1, rng);
        on_each_width([&] {
          fast::PackedGates p;
          fast::pack_gates(p, cell, H, kx, kx > 0 ? w_x.data() : nullptr, b_x.data(), H, w_h.data(),
                           b_h.data(), fast::avx512_enabled());
          std::vector<float> outs[2];
          for (int alone = 0; alone < 2; ++alone) {
            const fast::StepArgs s = step.args();
            if (alone == 1) {
              for (int64_t jb = 0; jb < p.blocks; ++jb) fast::fused_step(p, s, jb, jb + 1);
            } else {
              fast::fused_step(p, s, 0, p.blocks);
            }
            outs[alone] = step.outputs();
          }
          EXPECT_EQ(outs[0], outs[1])
              << "cell " << static_cast<int>(cell) << " H " << H << " kx " << kx;
        });
      }
    }
  }
}

}  // namespace
