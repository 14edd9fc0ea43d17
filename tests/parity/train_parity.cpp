// Parity of rnn's training pieces with PyTorch 1.13, against the committed fixtures in
// tests/fixtures/train/ (made by tools/fixtures/gen_train_fixtures.py with Debian's
// python3-torch): every cross_entropy / mse option (value and gradient), each optimizer
// variant for 10 steps (and a save/load resume in the middle, which must be bit-exact),
// each LR schedule for 30 epochs, clip_grad_norm and clip_grad_value.
//
// One test per fixture case. At exit the worst error seen per kind is printed.
//
// Tolerances: |actual - expected| <= atol + rtol * |expected| with
//   float32 (vs torch float32):   atol 1e-5,  rtol 1e-4   (DESIGN.md section 1)
//   float64 (vs torch float64):   atol 1e-12, rtol 1e-10  (losses)
//   schedules (double, as Python): atol 1e-15, rtol 1e-12
#include <gtest/gtest.h>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnn/io/safetensors.h"
#include "rnn/train/clipping.h"
#include "rnn/train/factory.h"
#include "rnn/train/losses.h"
#include "rnn/train/optimizers.h"
#include "rnn/train/schedules.h"
#include "support/compare.h"

namespace {

using nlohmann::json;
using rnn::Tensor;
using rnn::test::all_close;
using rnn::test::CloseReport;

constexpr double kAtolF32 = 1e-5, kRtolF32 = 1e-4;
constexpr double kAtolF64 = 1e-12, kRtolF64 = 1e-10;
constexpr double kAtolLr = 1e-15, kRtolLr = 1e-12;

// ---- fixtures and the worst-error table ---------------------------------------------------

struct Fixture {
  rnn::SafetensorsFile file;
  std::map<std::string, json> cases;  // by name
  std::vector<std::string> order;
};

const Fixture& fixture(const std::string& stem) {
  static std::map<std::string, std::unique_ptr<Fixture>> cache;
  auto& slot = cache[stem];
  if (!slot) {
    slot = std::make_unique<Fixture>();
    slot->file = rnn::read_safetensors(std::string(RNN_FIXTURE_DIR) + "/train/" + stem +
                                       ".safetensors");
    const json cases = json::parse(slot->file.metadata.at("cases"));
    for (const auto& c : cases) {
      slot->order.push_back(c.at("name").get<std::string>());
      slot->cases[slot->order.back()] = c;
    }
  }
  return *slot;
}

// Case names of a fixture file, or one "unreadable" entry that fails its test.
std::vector<std::string> case_names(const std::string& stem) {
  try {
    return fixture(stem).order;
  } catch (const std::exception&) {
    return {"fixture_unreadable"};
  }
}

struct WorstEntry {
  CloseReport report;
  std::string where;
};
std::map<std::string, WorstEntry>& worst_table() {
  static std::map<std::string, WorstEntry> table;
  return table;
}

class PrintWorst : public ::testing::Environment {
 public:
  void TearDown() override {
    if (worst_table().empty()) return;
    std::cout << "[ train parity ] worst error per kind (ratio = |diff| / (atol + rtol |ref|)):\n";
    for (const auto& [kind, w] : worst_table()) {
      std::cout << "  " << std::left << std::setw(30) << kind << " |diff| " << std::setw(12)
                << w.report.worst_abs << " ratio " << std::setw(12) << w.report.worst_ratio
                << " (" << w.where << ")\n";
    }
  }
};
[[maybe_unused]] auto* const kPrintWorst = ::testing::AddGlobalTestEnvironment(new PrintWorst);

// all_close that also records the worst error under `kind`.
template <class A, class E>
::testing::AssertionResult close(const std::string& kind, const std::string& where,
                                 const std::string& name, const Tensor<A>& actual,
                                 const Tensor<E>& expected, double atol, double rtol) {
  CloseReport report;
  auto result = all_close(where + ": " + name, actual, expected, atol, rtol, &report);
  auto& w = worst_table()[kind];
  if (report.worst_ratio >= w.report.worst_ratio) w.where = where;
  w.report.worst_abs = std::max(w.report.worst_abs, report.worst_abs);
  w.report.worst_ratio = std::max(w.report.worst_ratio, report.worst_ratio);
  return result;
}

rnn::Reduction reduction_of(const std::string& s) {
  if (s == "mean") return rnn::Reduction::Mean;
  if (s == "sum") return rnn::Reduction::Sum;
  if (s == "none") return rnn::Reduction::None;
  rnn::fail("unknown reduction '", s, "'");
}

Tensor<uint8_t> to_mask(const Tensor<int64_t>& t) {
  Tensor<uint8_t> m(t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) m[i] = static_cast<uint8_t>(t[i] != 0);
  return m;
}

std::vector<int64_t> to_vector(const Tensor<int64_t>& t) { return t.values(); }

// ---- losses -------------------------------------------------------------------------------

template <class T>
void check_loss_case(const Fixture& fx, const json& c) {
  const bool f32 = std::is_same_v<T, float>;
  const std::string tag = f32 ? "_f32" : "_f64";
  const double atol = f32 ? kAtolF32 : kAtolF64, rtol = f32 ? kRtolF32 : kRtolF64;
  const std::string name = c.at("name");
  const std::string kind = c.at("kind");
  const auto& f = fx.file;
  const auto reduction = reduction_of(c.at("reduction"));
  const bool none = reduction == rnn::Reduction::None;
  const Tensor<T> upstream = f.get<T>(name + ".upstream");

  rnn::LossUpstream<T> up;
  if (!none) up.scale = upstream[0];

  rnn::LossResult<T> result;
  if (kind == "cross_entropy" || kind == "cross_entropy_sequence") {
    rnn::CrossEntropyOptions<T> opt;
    opt.ignore_index = c.at("ignore_index");
    opt.label_smoothing = c.at("label_smoothing");
    opt.reduction = reduction;
    if (f.has(name + ".weight")) opt.weight = f.get<T>(name + ".weight");
    const Tensor<T> logits = f.get<T>(name + ".logits");
    const Tensor<int64_t> targets = f.get<int64_t>(name + ".targets");
    if (none) {
      up.per_row = upstream;
      up.per_row.reshape(targets.shape());
    }
    if (kind == "cross_entropy") {
      if (f.has(name + ".mask")) opt.mask = to_mask(f.get<int64_t>(name + ".mask"));
      result = rnn::cross_entropy(logits, targets, opt, up);
    } else {
      const auto lengths = to_vector(f.get<int64_t>(name + ".lengths"));
      result = rnn::cross_entropy_sequence(logits, targets, lengths, opt, up,
                                           c.at("batch_first").get<bool>());
    }
  } else {
    rnn::MseOptions<T> opt;
    opt.reduction = reduction;
    if (f.has(name + ".mask")) opt.mask = to_mask(f.get<int64_t>(name + ".mask"));
    if (f.has(name + ".lengths")) opt.lengths = to_vector(f.get<int64_t>(name + ".lengths"));
    const Tensor<T> pred = f.get<T>(name + ".pred");
    if (none) {
      up.per_row = upstream;
      up.per_row.reshape(pred.shape());
    }
    result = rnn::mse(pred, f.get<T>(name + ".target"), opt, up);
  }
  const std::string family = kind == "mse" ? "mse" : "cross_entropy";
  const std::string suffix = f32 ? " f32" : " f64";
  const Tensor<T> expected_loss = f.get<T>(name + ".loss" + tag);
  if (none) {
    EXPECT_TRUE(close(family + " losses" + suffix, name, "losses", result.losses, expected_loss,
                      atol, rtol));
  } else {
    EXPECT_TRUE(close(family + " loss" + suffix, name, "loss", Tensor<T>({1}, {result.loss}),
                      expected_loss, atol, rtol));
  }
  EXPECT_TRUE(close(family + " grad" + suffix, name, "grad", result.grad,
                    f.get<T>(name + ".grad" + tag), atol, rtol));
}

class LossParity : public ::testing::TestWithParam<std::string> {};

TEST_P(LossParity, ValueAndGradient) {
  const Fixture& fx = fixture("losses");
  const json& c = fx.cases.at(GetParam());
  check_loss_case<float>(fx, c);
  check_loss_case<double>(fx, c);
}

INSTANTIATE_TEST_SUITE_P(Train, LossParity, ::testing::ValuesIn(case_names("losses")),
                         [](const auto& param_info) { return param_info.param; });

// ---- optimizers ---------------------------------------------------------------------------

// Through the JSON factory, so the factory's option names are covered too.
template <class T>
std::unique_ptr<rnn::Optimizer<T>> make_optimizer(const json& c) {
  json options = c;
  for (const char* key : {"name", "kind", "lr_at_step", "lr_at_value"}) options.erase(key);
  return rnn::make_optimizer<T>(c.at("kind").get<std::string>(), options);
}

class OptimizerParity : public ::testing::TestWithParam<std::string> {};

TEST_P(OptimizerParity, TenStepsAndResume) {
  const Fixture& fx = fixture("optimizers");
  const json& c = fx.cases.at(GetParam());
  const std::string name = GetParam();
  const Tensor<float> params0 = fx.file.get<float>(name + ".params0");
  const Tensor<float> grads = fx.file.get<float>(name + ".grads");
  const Tensor<float> expected = fx.file.get<float>(name + ".params");
  const int64_t steps = grads.dim(0), P = grads.dim(1);
  const int64_t lr_at = c.value("lr_at_step", int64_t{-1});
  const double lr_value = c.value("lr_at_value", 0.0);

  // Runs steps [from, to) on `values` with `opt`; returns the params after each step.
  auto run = [&](rnn::Optimizer<float>& opt, std::vector<float>& values, int64_t from,
                 int64_t to, Tensor<float>* history) {
    for (int64_t s = from; s < to; ++s) {
      if (s == lr_at) opt.set_lr(lr_value);
      std::span<const float> g(grads.data() + s * P, static_cast<size_t>(P));
      opt.step(values, g);
      if (history) std::copy(values.begin(), values.end(), history->data() + s * P);
    }
  };

  auto opt = make_optimizer<float>(c);
  std::vector<float> values(params0.values());
  Tensor<float> history({steps, P});
  run(*opt, values, 0, steps, &history);
  EXPECT_TRUE(close("optimizer " + c.at("kind").get<std::string>(), name, "params", history,
                    expected, kAtolF32, kRtolF32));

  // Save after 4 steps, load into a fresh optimizer, finish: bit-exact with the above.
  auto first = make_optimizer<float>(c);
  std::vector<float> resumed(params0.values());
  run(*first, resumed, 0, 4, nullptr);
  const rnn::OptimizerState<float> saved = first->state();
  first.reset();
  auto second = make_optimizer<float>(c);
  second->load_state(saved);
  EXPECT_EQ(second->steps(), 4);
  run(*second, resumed, 4, steps, nullptr);
  EXPECT_TRUE(rnn::test::bitwise_equal(name + ": resumed params", Tensor<float>({P}, resumed),
                                       Tensor<float>({P}, values)));
}

INSTANTIATE_TEST_SUITE_P(Train, OptimizerParity, ::testing::ValuesIn(case_names("optimizers")),
                         [](const auto& param_info) { return param_info.param; });

// ---- schedules ----------------------------------------------------------------------------

class ScheduleParity : public ::testing::TestWithParam<std::string> {};

std::unique_ptr<rnn::LrSchedule> make_schedule(const json& c) {
  const std::string kind = c.at("kind");
  const double base = c.at("base_lr");
  if (kind == "step") {
    return std::make_unique<rnn::StepLr>(base, c.at("step_size").get<int64_t>(),
                                         c.at("gamma").get<double>());
  }
  if (kind == "exponential") return std::make_unique<rnn::ExponentialLr>(base, c.at("gamma"));
  if (kind == "cosine") {
    return std::make_unique<rnn::CosineAnnealingLr>(base, c.at("t_max").get<int64_t>(),
                                                    c.at("eta_min").get<double>());
  }
  const int64_t warmup = c.value("warmup", int64_t{0});
  const double start = c.value("start_factor", 0.0);
  if (kind == "warmup_step") {
    return std::make_unique<rnn::LinearWarmup>(
        std::make_unique<rnn::StepLr>(base, c.at("step_size").get<int64_t>(),
                                      c.at("gamma").get<double>()),
        warmup, start);
  }
  if (kind == "warmup_cosine") {
    return std::make_unique<rnn::LinearWarmup>(
        std::make_unique<rnn::CosineAnnealingLr>(base, c.at("t_max").get<int64_t>()), warmup,
        start);
  }
  if (kind == "warmup_constant") return std::make_unique<rnn::LinearWarmup>(base, warmup, start);
  rnn::fail("unknown schedule kind '", kind, "'");
}

TEST_P(ScheduleParity, LrPerEpoch) {
  const Fixture& fx = fixture("schedules");
  const json& c = fx.cases.at(GetParam());
  const std::string name = GetParam();
  const Tensor<double> expected = fx.file.get<double>(name + ".lrs");
  const int64_t epochs = expected.numel() - 1;
  Tensor<double> actual({epochs + 1});
  if (c.at("kind") == "plateau") {
    rnn::PlateauOptions o;
    o.mode = c.value("mode", std::string("min")) == "max" ? rnn::PlateauOptions::Mode::Max
                                                          : rnn::PlateauOptions::Mode::Min;
    o.factor = c.value("factor", o.factor);
    o.patience = c.value("patience", o.patience);
    o.threshold = c.value("threshold", o.threshold);
    o.threshold_mode = c.value("threshold_mode", std::string("rel")) == "abs"
                           ? rnn::PlateauOptions::ThresholdMode::Abs
                           : rnn::PlateauOptions::ThresholdMode::Rel;
    o.cooldown = c.value("cooldown", o.cooldown);
    o.min_lr = c.value("min_lr", o.min_lr);
    const Tensor<double> metrics = fx.file.get<double>(name + ".metrics");
    rnn::ReduceLrOnPlateau sched(c.at("base_lr"), o);
    actual[0] = sched.lr();
    for (int64_t e = 0; e < epochs; ++e) {
      actual[e + 1] = sched.step(metrics[e]);
      if (e == epochs / 2) {  // save/load in the middle changes nothing
        rnn::ReduceLrOnPlateau copy(c.at("base_lr"), o);
        copy.load_state(sched.state());
        sched = copy;
      }
    }
  } else {
    auto sched = make_schedule(c);
    actual[0] = sched->lr();
    for (int64_t e = 0; e < epochs; ++e) {
      actual[e + 1] = sched->step();
      if (e == epochs / 2) {
        auto copy = make_schedule(c);
        copy->load_state(sched->state());
        sched = std::move(copy);
      }
    }
  }
  EXPECT_TRUE(close("schedule lr", name, "lrs", actual, expected, kAtolLr, kRtolLr));
}

INSTANTIATE_TEST_SUITE_P(Train, ScheduleParity, ::testing::ValuesIn(case_names("schedules")),
                         [](const auto& param_info) { return param_info.param; });

// ---- clipping -----------------------------------------------------------------------------

class ClippingParity : public ::testing::TestWithParam<std::string> {};

TEST_P(ClippingParity, ClippedGradients) {
  const Fixture& fx = fixture("clipping");
  const json& c = fx.cases.at(GetParam());
  const std::string name = GetParam();
  Tensor<float> grads = fx.file.get<float>(name + ".grads");
  if (c.at("kind") == "norm") {
    rnn::ClipNormOptions o;
    o.norm_type = c.at("norm_type").is_string() ? rnn::kInfNorm : c.at("norm_type").get<double>();
    const double total = rnn::clip_grad_norm(grads.span(), c.at("max_norm").get<double>(), o);
    EXPECT_TRUE(close("clip_grad_norm total", name, "total_norm", Tensor<double>({1}, {total}),
                      fx.file.get<float>(name + ".total_norm"), kAtolF32, kRtolF32));
    EXPECT_TRUE(close("clip_grad_norm grads", name, "clipped", grads,
                      fx.file.get<float>(name + ".clipped"), kAtolF32, kRtolF32));
  } else {
    rnn::clip_grad_value(grads.span(), c.at("clip_value").get<double>());
    EXPECT_TRUE(rnn::test::bitwise_equal(name + ": clipped", grads,
                                         fx.file.get<float>(name + ".clipped")));
  }
}

INSTANTIATE_TEST_SUITE_P(Train, ClippingParity, ::testing::ValuesIn(case_names("clipping")),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
