#include "support/fused_step_case.h"

#include <algorithm>

namespace rnn::test {

namespace fast = kernels::fast;

std::vector<float> random_values(int64_t n, Rng& rng) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(rng.uniform(-1.0, 1.0));
  return v;
}

FusedStepCase::FusedStepCase(fast::Cell cell, int64_t hidden_, int64_t kx_, int64_t rows_, Rng& rng)
    : rows(rows_), hidden(hidden_), kx(kx_), gates_hidden(fast::gate_count(cell) * hidden_) {
  a = random_values(rows * (kx + hidden), rng);
  c = random_values(rows * hidden, rng);
  gi = random_values(rows * gates_hidden, rng);
}

fast::StepArgs FusedStepCase::args() {
  for (auto* v : {&h_new, &c_new, &hn, &y}) v->assign(static_cast<size_t>(rows * hidden), 0.0f);
  gates.assign(static_cast<size_t>(rows * gates_hidden), 0.0f);
  fast::StepArgs s;
  s.rows = rows;
  s.a = a.data();
  s.lda = kx + hidden;
  if (kx == 0) {
    s.gi = gi.data();
    s.ldgi = gates_hidden;
  }
  s.h_prev = a.data() + kx;
  s.ldh = kx + hidden;
  s.c_prev = c.data();
  s.h_new = h_new.data();
  s.c_new = c_new.data();
  s.y = y.data();
  s.ldy = hidden;
  s.gates = gates.data();
  s.hn = hn.data();
  return s;
}

std::vector<float> FusedStepCase::outputs() const {
  std::vector<float> all = h_new;
  for (const auto* v : {&c_new, &gates, &hn, &y}) all.insert(all.end(), v->begin(), v->end());
  return all;
}

}  // namespace rnn::test
