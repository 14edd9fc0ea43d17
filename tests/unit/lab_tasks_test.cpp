// The lab's task generators: shapes, structure, correct targets, statistics of the data and
// the trivial baselines; the models' initialisations (identity, orthogonal, radius scaling).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "rnn/core/error.h"
#include "rnn/diagnostics/spectral.h"
#include "rnn/lab/task.h"
#include "rnn/lab/tasks.h"
#include "rnn/train/losses.h"

namespace rnn::lab {
namespace {

TEST(AddingProblem, TwoMarkersOneInEachHalfAndTheirSum) {
  TaskSpec s;
  s.kind = TaskKind::Adding;
  s.length = 30;
  Rng rng(1);
  const int64_t B = 4000;
  const Batch b = generate(s, B, rng);
  ASSERT_EQ(b.x.shape(), (Shape{30, B, 2}));
  ASSERT_EQ(b.target.shape(), (Shape{B, 1}));
  double value_sum = 0.0, baseline = 0.0;
  std::vector<int64_t> first_hist(15, 0);
  for (int64_t n = 0; n < B; ++n) {
    std::vector<int64_t> marked;
    for (int64_t t = 0; t < 30; ++t) {
      const float v = b.x.at(t, n, 0), m = b.x.at(t, n, 1);
      ASSERT_TRUE(v >= 0.0f && v < 1.0f);
      ASSERT_TRUE(m == 0.0f || m == 1.0f);
      value_sum += v;
      if (m == 1.0f) marked.push_back(t);
    }
    ASSERT_EQ(marked.size(), 2u) << "sequence " << n;
    ASSERT_LT(marked[0], 15);
    ASSERT_GE(marked[1], 15);
    ++first_hist[static_cast<size_t>(marked[0])];
    EXPECT_FLOAT_EQ(b.target[n], b.x.at(marked[0], n, 0) + b.x.at(marked[1], n, 0));
    baseline += (b.target[n] - 1.0) * (b.target[n] - 1.0);
  }
  EXPECT_NEAR(value_sum / (30.0 * B), 0.5, 0.005);
  // Always predicting 1: E[(u1 + u2 - 1)^2] = 1/6 (s.e. ~0.003 at B = 4000).
  EXPECT_NEAR(baseline / B, s.baseline_loss(), 0.012);
  EXPECT_NEAR(s.baseline_loss(), 0.1667, 1e-4);
  for (int64_t c : first_hist) EXPECT_NEAR(static_cast<double>(c), B / 15.0, 5 * std::sqrt(B / 15.0));  // uniform
}

TEST(CopyMemory, LayoutTargetsAndBaseline) {
  TaskSpec s;
  s.kind = TaskKind::Copy;
  s.length = 12;
  s.alphabet = 5;
  s.copy_length = 4;
  const int64_t S = s.sequence_length(), B = 500;
  ASSERT_EQ(S, 12 + 8);
  EXPECT_EQ(s.input_size(), 7);
  EXPECT_EQ(s.output_size(), 6);
  Rng rng(2);
  const Batch b = generate(s, B, rng);
  ASSERT_EQ(b.x.shape(), (Shape{S, B, 7}));
  ASSERT_EQ(b.labels.shape(), (Shape{S, B}));
  std::vector<int64_t> counts(6, 0);
  for (int64_t n = 0; n < B; ++n) {
    for (int64_t t = 0; t < S; ++t) {
      int64_t hot = -1, ones = 0;
      for (int64_t i = 0; i < 7; ++i)
        if (b.x.at(t, n, i) == 1.0f) hot = i, ++ones;
      ASSERT_EQ(ones, 1);
      if (t < 4) {
        ASSERT_GE(hot, 1);
        ASSERT_LE(hot, 5);
        ++counts[static_cast<size_t>(hot)];
        EXPECT_EQ(b.labels.at(12 + 4 + t, n), hot) << "recall of symbol " << t;
      } else if (t == 4 + 12 - 1) {
        EXPECT_EQ(hot, 6);  // delimiter
      } else {
        EXPECT_EQ(hot, 0);  // blank
      }
      if (t < 12 + 4) {
        EXPECT_EQ(b.labels.at(t, n), 0);
      }
    }
  }
  for (int64_t a = 1; a <= 5; ++a) EXPECT_NEAR(static_cast<double>(counts[static_cast<size_t>(a)]), 400, 5 * 18);
  // The baseline: certain blanks, then a uniform guess over the A symbols.
  Tensor<float> logits({S * B, 6});
  for (int64_t t = 0; t < S; ++t)
    for (int64_t n = 0; n < B; ++n) logits.at(t * B + n, 0) = t < 16 ? 60.0f : -60.0f;
  Tensor<int64_t> flat = b.labels;
  flat.reshape({S * B});
  EXPECT_NEAR(cross_entropy(logits, flat).loss, s.baseline_loss(), 1e-5);
  EXPECT_NEAR(s.baseline_loss(), 4 * std::log(5.0) / 20.0, 1e-12);
}

TEST(TemporalOrder, MarkersInTheirWindowsAndBalancedClasses) {
  TaskSpec s;
  s.kind = TaskKind::TemporalOrder;
  s.length = 40;
  const int64_t B = 2000;
  Rng rng(3);
  const Batch b = generate(s, B, rng);
  ASSERT_EQ(b.x.shape(), (Shape{40, B, 8}));
  ASSERT_EQ(b.labels.shape(), (Shape{B}));
  std::vector<int64_t> classes(4, 0);
  for (int64_t n = 0; n < B; ++n) {
    std::vector<std::pair<int64_t, int64_t>> relevant;
    for (int64_t t = 0; t < 40; ++t) {
      int64_t hot = -1;
      for (int64_t i = 0; i < 8; ++i)
        if (b.x.at(t, n, i) == 1.0f) hot = i;
      if (t == 0) EXPECT_EQ(hot, 6);
      else if (t == 39) EXPECT_EQ(hot, 7);
      else if (hot == 4 || hot == 5) relevant.push_back({t, hot});
      else EXPECT_LT(hot, 4);
    }
    ASSERT_EQ(relevant.size(), 2u);
    EXPECT_GE(relevant[0].first, 4);
    EXPECT_LE(relevant[0].first, 8);
    EXPECT_GE(relevant[1].first, 20);
    EXPECT_LE(relevant[1].first, 24);
    const int64_t expected = (relevant[0].second == 5 ? 2 : 0) + (relevant[1].second == 5 ? 1 : 0);
    EXPECT_EQ(b.labels[n], expected);
    ++classes[static_cast<size_t>(b.labels[n])];
  }
  for (int64_t c : classes) EXPECT_NEAR(static_cast<double>(c), 500, 5 * 19.4);
  EXPECT_NEAR(s.baseline_loss(), std::log(4.0), 1e-12);
}

TEST(Generators, SameSeedSameBatchAndSpecRoundTrip) {
  for (TaskKind k : {TaskKind::Adding, TaskKind::Copy, TaskKind::TemporalOrder}) {
    TaskSpec s;
    s.kind = k;
    s.length = 20;
    Rng a(9), b(9);
    const Batch x = generate(s, 3, a), y = generate(s, 3, b);
    EXPECT_EQ(x.x.values(), y.x.values());
    EXPECT_EQ(x.labels.values(), y.labels.values());
    EXPECT_EQ(x.target.values(), y.target.values());
    EXPECT_EQ(TaskSpec::from_json(s.to_json()).to_json(), s.to_json());
  }
}

TEST(LabModel, InitialisationsSetTheRecurrentMatrix) {
  TaskSpec s;
  s.length = 10;
  {
    LabModelConfig c;
    c.cell = "irnn";
    c.hidden_size = 6;
    LabTask t(s, c, {});
    Parameters<float>& p = t.parameters();
    const Tensor<float> w = p.get("rnn.weight_hh_l0");
    for (int64_t i = 0; i < 6; ++i)
      for (int64_t j = 0; j < 6; ++j) EXPECT_EQ(w.at(i, j), i == j ? 1.0f : 0.0f);
    const Tensor<float> bh = p.get("rnn.bias_hh_l0"), bi = p.get("rnn.bias_ih_l0");
    for (float v : bh.values()) EXPECT_EQ(v, 0.0f);
    for (float v : bi.values()) EXPECT_EQ(v, 0.0f);
  }
  {
    LabModelConfig c;
    c.cell = "lstm";
    c.hidden_size = 6;
    c.init = "orthogonal";
    LabTask t(s, c, {});
    const auto stats = diagnostics::recurrent_stats(t.parameters());
    ASSERT_EQ(stats.size(), 1u);
    ASSERT_EQ(stats[0].blocks, 4);
    for (double sg : stats[0].block_sigma) EXPECT_NEAR(sg, 1.0, 1e-5);  // orthogonal blocks
  }
  for (const char* cell : {"rnn_tanh", "gru", "lstm"}) {
    LabModelConfig c;
    c.cell = cell;
    c.hidden_size = 8;
    c.radius = 1.5;
    LabTask t(s, c, {});
    const auto stats = diagnostics::recurrent_stats(t.parameters());
    for (double r : stats[0].block_radius) EXPECT_NEAR(r, 1.5, 0.03) << cell;
  }
}

}  // namespace
}  // namespace rnn::lab
