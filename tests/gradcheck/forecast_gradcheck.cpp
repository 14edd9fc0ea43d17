// Gradchecks of the forecasting pieces: Conv1d, the MAE/Huber and pinball losses in double
// (central differences, eps 1e-6, bound 1e-7 on |analytic - numeric| / max(1, |numeric|)),
// and every ForecastModel kind end to end in float32 (eps 2e-3 on a smooth loss, bound
// 2e-2: float rounding, stated loosely on purpose; the pieces are checked tightly above and
// in the recurrent/linear gradchecks).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "rnn/forecast/metrics.h"
#include "rnn/forecast/model.h"
#include "rnn/forecast/quantile.h"
#include "rnn/nn/conv1d.h"
#include "support/gradcheck.h"

namespace rnn::test {
namespace {

const GradcheckOptions kOptions{1e-6, 1e-7};

void check_conv(int64_t B, int64_t C, int64_t O, int64_t K, int64_t L, int64_t dilation, bool bias) {
  Rng rng(21);
  Parameters<double> store;
  nn::Conv1d<double> conv(C, O, K, store, rng, "conv.", bias, dilation);
  Tensor<double> x = random_tensor({B, C, L}, rng);
  const Tensor<double> dy = random_tensor({B, O, conv.output_length(L)}, rng);
  store.zero_grad();
  const Tensor<double> dx = conv.backward(x, dy);
  auto loss = [&] { return dot(dy, conv.forward(x)); };
  EXPECT_TRUE(gradcheck("dx", x.span(), dx.span(), loss, kOptions));
  for (const auto& info : store.infos()) {
    const ParamId id = store.id(info.name);
    EXPECT_TRUE(gradcheck(info.name, {store.value(id), info.numel}, {store.grad(id), info.numel},
                          loss, kOptions));
  }
}

TEST(ForecastGradcheck, Conv1d) { check_conv(2, 3, 5, 3, 7, 1, true); }
TEST(ForecastGradcheck, Conv1dDilatedNoBias) { check_conv(3, 2, 4, 2, 9, 3, false); }

TEST(ForecastGradcheck, RegressionLosses) {
  Rng rng(5);
  for (auto kind : {forecast::LossKind::MSE, forecast::LossKind::MAE, forecast::LossKind::Huber}) {
    Tensor<double> p = random_tensor({3, 4}, rng, 2.0);
    const Tensor<double> y = random_tensor({3, 4}, rng, 2.0);
    for (int64_t i = 0; i < p.numel(); ++i)  // stay away from the kinks (|d| = 0, |d| = delta)
      if (std::abs(std::abs(p[i] - y[i]) - 0.7) < 1e-3 || std::abs(p[i] - y[i]) < 1e-3) p[i] += 0.01;
    const auto r = forecast::regression_loss(kind, p, y, 0.7);
    auto loss = [&] { return forecast::regression_loss(kind, p, y, 0.7, false).loss; };
    EXPECT_TRUE(gradcheck(forecast::to_string(kind), p.span(), r.grad.span(), loss, kOptions));
  }
}

TEST(ForecastGradcheck, PinballLoss) {
  // [S=3, B=2, Nt=2 targets * Q=3 levels]; levels not symmetric around 0.5.
  Rng rng(6);
  const std::vector<double> levels{0.1, 0.35, 0.8};
  Tensor<double> p = random_tensor({3, 2, 6}, rng, 2.0);
  const Tensor<double> y = random_tensor({3, 2, 2}, rng, 2.0);
  for (int64_t i = 0; i < p.numel(); ++i)  // stay away from the kink at q = y
    if (std::abs(p[i] - y[i / 3]) < 1e-3) p[i] += 0.01;
  const auto r = forecast::pinball_loss(p, y, levels);
  auto loss = [&] { return forecast::pinball_loss(p, y, levels, false).loss; };
  EXPECT_TRUE(gradcheck("pinball", p.span(), r.grad.span(), loss, kOptions));
}

void check_model(forecast::ForecastModelConfig cfg) {
  Rng rng(8);
  Parameters<float> store;
  forecast::ForecastModel model(cfg, store, rng);
  const int64_t B = 2;
  const Tensor<float> x = random_tensor_f({cfg.lookback, B, cfg.input_size}, rng);
  const Tensor<float> teacher = random_tensor_f({cfg.horizon, B, cfg.n_targets}, rng);
  const Tensor<float> r =
      random_tensor_f({cfg.train_steps(), B, cfg.n_targets * cfg.levels()}, rng);
  auto loss = [&] {
    Rng dropout(1);
    forecast::ForecastModel::CachePtr cache;
    const Tensor<float> p = model.forward(x, teacher, dropout, cache);
    double s = 0.0;
    for (int64_t i = 0; i < p.numel(); ++i) s += static_cast<double>(p[i]) * r[i] + 0.5 * p[i] * p[i];
    return s;
  };
  Rng dropout(1);
  forecast::ForecastModel::CachePtr cache;
  const Tensor<float> p = model.forward(x, teacher, dropout, cache);
  Tensor<float> dp(p.shape());
  for (int64_t i = 0; i < p.numel(); ++i) dp[i] = r[i] + p[i];
  store.zero_grad();
  model.backward(*cache, dp);
  const std::vector<float> analytic(store.grads().begin(), store.grads().end());
  auto values = store.values();
  // Every parameter of a tiny model, float central differences.
  const double eps = 2e-3;
  int64_t bad = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const float saved = values[i];
    values[i] = saved + static_cast<float>(eps);
    const double up = loss();
    values[i] = saved - static_cast<float>(eps);
    const double down = loss();
    values[i] = saved;
    const double numeric = (up - down) / (2 * eps);
    const double err = std::abs(numeric - analytic[i]) / std::max(1.0, std::abs(numeric));
    if (err > 2e-2 && bad++ < 5)
      ADD_FAILURE() << forecast::to_string(cfg.kind) << " parameter " << i << ": analytic "
                    << analytic[i] << ", numeric " << numeric;
  }
  EXPECT_EQ(bad, 0);
}

forecast::ForecastModelConfig tiny(forecast::ModelKind kind, CellMode cell) {
  forecast::ForecastModelConfig c;
  c.kind = kind;
  c.cell = cell;
  c.input_size = kind == forecast::ModelKind::Recursive ? 2 : 3;
  c.n_targets = 2;
  c.lookback = 5;
  c.horizon = 3;
  c.hidden_size = 4;
  c.channels = 3;
  c.kernel_size = 2;
  return c;
}

TEST(ForecastGradcheck, RecursiveLstm) { check_model(tiny(forecast::ModelKind::Recursive, CellMode::LSTM)); }
TEST(ForecastGradcheck, DirectGruBidirectionalTwoLayers) {
  auto c = tiny(forecast::ModelKind::Direct, CellMode::GRU);
  c.bidirectional = true;
  c.num_layers = 2;
  check_model(c);
}
TEST(ForecastGradcheck, Seq2SeqLstm) { check_model(tiny(forecast::ModelKind::Seq2Seq, CellMode::LSTM)); }
TEST(ForecastGradcheck, Seq2SeqGru) { check_model(tiny(forecast::ModelKind::Seq2Seq, CellMode::GRU)); }
TEST(ForecastGradcheck, Cnn) { check_model(tiny(forecast::ModelKind::Cnn, CellMode::GRU)); }

// Quantile heads: Q = 3 outputs per target and step for every model kind.
TEST(ForecastGradcheck, QuantileHeadsEveryKind) {
  for (auto kind : {forecast::ModelKind::Recursive, forecast::ModelKind::Direct,
                    forecast::ModelKind::Seq2Seq, forecast::ModelKind::Cnn}) {
    auto c = tiny(kind, CellMode::LSTM);
    c.quantiles = {0.1, 0.5, 0.9};
    SCOPED_TRACE(forecast::to_string(kind));
    check_model(c);
  }
}

}  // namespace
}  // namespace rnn::test
