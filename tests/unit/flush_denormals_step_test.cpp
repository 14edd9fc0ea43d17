// StepArgs::flush_denormals: fused_step stores h_new, c_new and y with denormals replaced by
// zeros of their sign, exactly the values copy_flush_denormals makes of what the step stores
// without the flag, and leaves gates and hn as computed. The weights are chosen so that the
// outputs are denormal (a zero gate passes a denormal state through), on active and inactive
// rows, on the AVX-512 tiles (where the CPU has them) and on the AVX2 ones.
#include <gtest/gtest.h>
#include <xmmintrin.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "rnn/core/rng.h"
#include "rnn/kernels/fast_recurrent.h"
#include "support/fused_step_case.h"

namespace {

namespace fast = rnn::kernels::fast;

using rnn::test::random_values;

std::vector<uint32_t> bits(const std::vector<float>& v) {
  std::vector<uint32_t> out;
  out.reserve(v.size());
  for (float x : v) out.push_back(std::bit_cast<uint32_t>(x));
  return out;
}

std::vector<float> flushed(std::vector<float> v) {
  fast::copy_flush_denormals(v.data(), v.data(), static_cast<int64_t>(v.size()));
  return v;
}

bool has_denormal(const std::vector<float>& v) {
  for (float x : v) {
    if (std::fpclassify(x) == FP_SUBNORMAL) return true;
  }
  return false;
}

// The step's outputs as stored, with or without the flag.
struct Outputs {
  std::vector<float> h_new, c_new, y, gates, hn;
};

class FlushDenormalsStep : public ::testing::Test {
 protected:
  // The arithmetic itself must not flush: the step's flag is what is tested.
  void SetUp() override {
    saved_ = _mm_getcsr();
    _mm_setcsr(saved_ & ~0x8040u);
  }
  void TearDown() override { _mm_setcsr(saved_); }

 private:
  unsigned saved_ = 0;
};

TEST_F(FlushDenormalsStep, StoresTheStateFlushedAndTheRestAsComputed) {
  if (!fast::available()) GTEST_SKIP() << "no AVX2+FMA: the fast kernels are not used";
  rnn::Rng rng(23);
  const fast::Cell cells[] = {fast::Cell::LSTM, fast::Cell::GRU, fast::Cell::RNN_TANH,
                              fast::Cell::RNN_RELU};
  for (bool wide : {false, true}) {
    if (wide && !fast::avx512_available()) continue;
    fast::enable_avx512(wide);
    for (fast::Cell cell : cells) {
      for (int64_t H : {8, 13, 37}) {
        for (int64_t rows : {1, 3}) {
          SCOPED_TRACE("cell " + std::to_string(static_cast<int>(cell)) + " H " +
                       std::to_string(H) + " rows " + std::to_string(rows) +
                       (wide ? " avx512" : " avx2"));
          const int64_t G = fast::gate_count(cell), GH = G * H, kx = 5, K = kx + H;
          std::vector<float> w_x = random_values(GH * kx, rng), w_h = random_values(GH * H, rng);
          std::vector<float> b_x = random_values(GH, rng), b_h = random_values(GH, rng);
          // LSTM's g gate and GRU's n gate zero: c = f * c_prev and h = z * h_prev carry a
          // denormal state into the outputs. RNN: no weights, denormal biases.
          const int64_t zero_gate = G == 1 ? 0 : 2;
          for (int64_t r = zero_gate * H; r < (zero_gate + 1) * H; ++r) {
            for (int64_t k = 0; k < kx; ++k) w_x[r * kx + k] = 0.0f;
            for (int64_t k = 0; k < H; ++k) w_h[r * H + k] = 0.0f;
            b_x[r] = 0.0f;
            b_h[r] = G == 1 ? (r % 2 ? -3e-39f : 2e-39f) : 0.0f;
          }
          fast::PackedGates p;
          fast::pack_gates(p, cell, H, kx, w_x.data(), b_x.data(), H, w_h.data(), b_h.data(), wide);
          rnn::test::FusedStepCase step(cell, H, kx, rows, rng);
          for (int64_t b = 0; b < rows; ++b) {
            for (int64_t j = 0; j < H; j += 2) {
              step.a[b * K + kx + j] = j % 4 ? -1e-39f : 5e-39f;
              step.c[b * H + j] = j % 4 ? 2e-39f : -4e-39f;
            }
          }
          const std::vector<unsigned char> active = {1, 0, 1};
          auto run = [&](bool flag) {
            fast::StepArgs s = step.args();
            s.active = rows > 1 ? active.data() : nullptr;
            s.flush_denormals = flag;
            fast::fused_step(p, s, 0, p.blocks);
            return Outputs{step.h_new, step.c_new, step.y, step.gates, step.hn};
          };
          const Outputs as_computed = run(false), stored = run(true);
          EXPECT_TRUE(has_denormal(as_computed.h_new));
          EXPECT_FALSE(has_denormal(stored.h_new));
          EXPECT_EQ(bits(stored.h_new), bits(flushed(as_computed.h_new)));
          EXPECT_EQ(bits(stored.c_new), bits(flushed(as_computed.c_new)));
          // Inactive rows' y is not written either way (the zeros args() put there stay).
          EXPECT_EQ(bits(stored.y), bits(flushed(as_computed.y)));
          EXPECT_EQ(bits(stored.gates), bits(as_computed.gates));
          EXPECT_EQ(bits(stored.hn), bits(as_computed.hn));
          if (cell == fast::Cell::LSTM) {
            EXPECT_TRUE(has_denormal(as_computed.c_new));
          }
        }
      }
    }
  }
  fast::enable_avx512(fast::avx512_available());
}

}  // namespace
