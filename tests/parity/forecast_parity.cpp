// rnn::nn::Conv1d and the forecasting losses against PyTorch 1.13 (float64 fixtures from
// tools/fixtures/gen_forecast_fixtures.py, seed 606, and gen_forecast_quantile.py, seed
// 607, the pinball loss through autograd): outputs and every gradient to 1e-12.
#include <gtest/gtest.h>

#include "rnn/forecast/metrics.h"
#include "rnn/forecast/quantile.h"
#include "rnn/io/safetensors.h"
#include "rnn/nn/conv1d.h"
#include "support/compare.h"

namespace rnn::test {
namespace {

const SafetensorsFile& fixture() {
  static const SafetensorsFile file =
      read_safetensors(std::string(RNN_FIXTURE_DIR) + "/forecast/torch_conv_losses.safetensors");
  return file;
}

void check_conv(const std::string& name, int64_t dilation, bool bias) {
  const auto& f = fixture();
  const Tensor<double> w = f.get<double>(name + ".weight");
  const Tensor<double> x = f.get<double>(name + ".x");
  Parameters<double> store;
  Rng rng(0);
  nn::Conv1d<double> conv(w.dim(1), w.dim(0), w.dim(2), store, rng, "c.", bias, dilation);
  store.set("c.weight", w);
  if (bias) store.set("c.bias", f.get<double>(name + ".bias"));
  EXPECT_TRUE(all_close(name + ".y", conv.forward(x), f.get<double>(name + ".y"), 1e-12, 1e-12));
  store.zero_grad();
  const Tensor<double> dx = conv.backward(x, f.get<double>(name + ".dy"));
  EXPECT_TRUE(all_close(name + ".dx", dx, f.get<double>(name + ".dx"), 1e-12, 1e-12));
  EXPECT_TRUE(all_close(name + ".dweight", store.get_grad("c.weight"),
                        f.get<double>(name + ".dweight"), 1e-12, 1e-12));
  if (bias) {
    EXPECT_TRUE(all_close(name + ".dbias", store.get_grad("c.bias"), f.get<double>(name + ".dbias"),
                          1e-12, 1e-12));
  }
}

TEST(ForecastParity, Conv1d) { check_conv("conv_a", 1, true); }
TEST(ForecastParity, Conv1dDilatedNoBias) { check_conv("conv_b", 3, false); }

TEST(ForecastParity, Losses) {
  const auto& f = fixture();
  for (auto [name, kind] : {std::pair{"l1", forecast::LossKind::MAE},
                            std::pair{"huber", forecast::LossKind::Huber},
                            std::pair{"mse", forecast::LossKind::MSE}}) {
    const std::string n = name;
    const auto r = forecast::regression_loss(kind, f.get<double>(n + ".pred"),
                                             f.get<double>(n + ".target"), 0.7);
    EXPECT_NEAR(r.loss, f.get<double>(n + ".loss")[0], 1e-12) << n;
    EXPECT_TRUE(all_close(n + ".grad", r.grad, f.get<double>(n + ".grad"), 1e-12, 1e-12));
  }
}

TEST(ForecastParity, PinballLoss) {
  const SafetensorsFile f =
      read_safetensors(std::string(RNN_FIXTURE_DIR) + "/forecast/torch_pinball.safetensors");
  for (const std::string n : {"pinball_a", "pinball_b"}) {
    const Tensor<double> lv = f.get<double>(n + ".levels");
    const std::vector<double> levels(lv.values().begin(), lv.values().end());
    const auto r = forecast::pinball_loss(f.get<double>(n + ".pred"), f.get<double>(n + ".target"),
                                          levels);
    EXPECT_NEAR(r.loss, f.get<double>(n + ".loss")[0], 1e-12) << n;
    EXPECT_TRUE(all_close(n + ".grad", r.grad, f.get<double>(n + ".grad"), 1e-12, 1e-12));
  }
}

}  // namespace
}  // namespace rnn::test
