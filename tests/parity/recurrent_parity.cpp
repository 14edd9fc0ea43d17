// Parity of rnn::Recurrent with torch.nn.{LSTM,GRU,RNN}: forward outputs, final states
// and every gradient, against the committed fixtures in tests/fixtures/recurrent/
// (made by tools/fixtures/gen_recurrent_fixtures.py with Debian's python3-torch).
//
// One test per fixture (RecurrentParity/Fixture.Matches/<fixture>), plus
// RecurrentParitySummary.WorstErrorPerKind, which runs them all again and prints the
// worst error seen per kind of tensor (y, h_n, c_n, dx, dh0, dc0, dweight_ih, ...).
//
// Tolerances (DESIGN.md section 1): |actual - expected| <= atol + rtol * |expected| with
//   float32: atol 1e-5, rtol 1e-4       float64: atol 1e-10, rtol 1e-9
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/io/safetensors.h"
#include "rnn/layers/recurrent.h"
#include "support/compare.h"

namespace {

constexpr double kAtolF32 = 1e-5;
constexpr double kRtolF32 = 1e-4;
constexpr double kAtolF64 = 1e-10;
constexpr double kRtolF64 = 1e-9;

std::string fixture_dir() { return std::string(RNN_FIXTURE_DIR) + "/recurrent"; }

// Fixture stems ("lstm_L2_bi_bias_proj2_len_bf_f32"), sorted.
std::vector<std::string> list_fixtures() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(fixture_dir(), ec)) {
    if (entry.path().extension() == ".safetensors") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Kind of a compared tensor for the summary: "y", "dx", "dweight_ih", ...
std::string kind_of(const std::string& tensor) {
  if (tensor.rfind("grad.", 0) == 0) {
    std::string param = tensor.substr(5);  // weight_ih_l1_reverse
    const auto cut = param.find("_l");
    std::string kind = "d";
    kind.append(param, 0, cut);
    return kind;
  }
  return tensor;
}

struct Worst {
  double abs = 0.0;
  double ratio = 0.0;  // |diff| / (atol + rtol |expected|); <= 1 passes
  std::string where;   // fixture of the worst ratio
};

// kind -> worst, separately for float32 ("f32") and float64 ("f64").
using WorstTable = std::map<std::string, std::map<std::string, Worst>>;

// Row-major multi-index of flat position `i` in `shape`: "[2, 0, 4]".
std::string unravel(int64_t i, const rnn::Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t a = shape.size(); a-- > 0;) {
    idx[a] = shape[a] == 0 ? 0 : i % shape[a];
    i = shape[a] == 0 ? 0 : i / shape[a];
  }
  std::ostringstream out;
  out << "[";
  for (size_t a = 0; a < idx.size(); ++a) out << (a ? ", " : "") << idx[a];
  out << "]";
  return out.str();
}

struct Comparer {
  std::string fixture;
  std::string precision;  // "f32" / "f64"
  double atol, rtol;
  WorstTable* table;

  template <class T>
  ::testing::AssertionResult operator()(const std::string& tensor, const rnn::Tensor<T>& actual,
                                        const rnn::Tensor<T>& expected) const {
    rnn::test::CloseReport report;
    auto result = rnn::test::all_close(fixture + ": " + tensor + " " +
                                           rnn::shape_str(expected.shape()),
                                       actual, expected, atol, rtol, &report);
    if (table) {
      Worst& w = (*table)[precision][kind_of(tensor)];
      w.abs = std::max(w.abs, report.worst_abs);
      if (report.worst_ratio >= w.ratio) {
        w.ratio = report.worst_ratio;
        w.where = fixture + " (" + tensor + ")";
      }
    }
    if (!result && actual.shape() == expected.shape()) {
      for (int64_t i = 0; i < actual.numel(); ++i) {
        const double e = static_cast<double>(expected[i]);
        const double diff = std::abs(static_cast<double>(actual[i]) - e);
        if (!(diff <= atol + rtol * std::abs(e))) {
          result << " -- index " << unravel(i, expected.shape());
          break;
        }
      }
    }
    return result;
  }
};

// Runs one fixture in precision T and compares everything. Failures are returned as
// gtest non-fatal failures through EXPECT_TRUE.
template <class T>
void run_fixture(const std::string& name, const rnn::SafetensorsFile& file, double atol,
                 double rtol, WorstTable* table) {
  const auto config = rnn::RecurrentConfig::from_json(nlohmann::json::parse(file.metadata.at("config")));
  const bool lstm = config.mode == rnn::CellMode::LSTM;

  rnn::Parameters<T> store;
  rnn::Rng rng(1234);
  rnn::Recurrent<T> module(config, store, rng);

  // The module's parameters are exactly the fixture's (PyTorch names and order).
  std::vector<std::string> fixture_params;
  for (const auto& [tensor, stored] : file.tensors) {
    if (tensor.rfind("grad.", 0) == 0) fixture_params.push_back(tensor.substr(5));
  }
  std::vector<std::string> module_params = module.parameter_names();
  std::vector<std::string> sorted_module = module_params;
  std::sort(sorted_module.begin(), sorted_module.end());
  ASSERT_EQ(sorted_module, fixture_params) << name << ": parameter names differ from torch's";
  for (const auto& p : module_params) store.set(p, file.get<T>(p));

  rnn::RecurrentInput<T> input;
  input.x = file.get<T>("x");
  input.h0 = file.get<T>("h0");
  if (lstm) input.c0 = file.get<T>("c0");
  if (file.has("lengths")) input.lengths = file.get<int64_t>("lengths").values();

  rnn::RecurrentCachePtr<T> cache;
  rnn::RecurrentOutput<T> out = module.forward(input, rnn::Mode::Eval, nullptr, &cache);
  ASSERT_TRUE(cache) << name << ": forward gave no cache";

  rnn::RecurrentGradOutput<T> grad;
  grad.dy = file.get<T>("dy");
  grad.dh_n = file.get<T>("dh_n");
  if (lstm) grad.dc_n = file.get<T>("dc_n");
  store.zero_grad();
  rnn::RecurrentGradInput<T> gin = module.backward(*cache, grad);

  Comparer cmp{name, std::is_same_v<T, double> ? "f64" : "f32", atol, rtol, table};
  EXPECT_TRUE(cmp("y", out.y, file.get<T>("y")));
  EXPECT_TRUE(cmp("h_n", out.h_n, file.get<T>("h_n")));
  if (lstm) {
    EXPECT_TRUE(cmp("c_n", out.c_n, file.get<T>("c_n")));
  } else {
    EXPECT_TRUE(out.c_n.empty()) << name << ": c_n given for a non-LSTM module";
  }
  EXPECT_TRUE(cmp("dx", gin.dx, file.get<T>("dx")));
  EXPECT_TRUE(cmp("dh0", gin.dh0, file.get<T>("dh0")));
  if (lstm) {
    EXPECT_TRUE(cmp("dc0", gin.dc0, file.get<T>("dc0")));
  }
  for (const auto& p : module_params) {
    EXPECT_TRUE(cmp("grad." + p, store.get_grad(p), file.get<T>("grad." + p)));
  }

  // Padded positions of y are exactly zero, not merely close to it.
  if (!input.lengths.empty() && out.y.rank() == 3) {
    const int64_t steps = config.batch_first ? out.y.dim(1) : out.y.dim(0);
    const int64_t batch = config.batch_first ? out.y.dim(0) : out.y.dim(1);
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t t = input.lengths[static_cast<size_t>(b)]; t < steps; ++t) {
        for (int64_t f = 0; f < out.y.dim(2); ++f) {
          const T v = config.batch_first ? out.y.at(b, t, f) : out.y.at(t, b, f);
          if (v != T(0)) {
            ADD_FAILURE() << name << ": y at padded position (t " << t << ", b " << b << ", f "
                          << f << ") is " << v << ", expected exactly 0";
            return;
          }
        }
      }
    }
  }
}

void run_fixture_file(const std::string& name, WorstTable* table) {
  const auto file = rnn::read_safetensors(fixture_dir() + "/" + name + ".safetensors");
  ASSERT_TRUE(file.metadata.count("config")) << name << ": no config in __metadata__";
  const auto dtype = file.metadata.count("dtype") ? file.metadata.at("dtype") : "float32";
  if (dtype == "float64") {
    run_fixture<double>(name, file, kAtolF64, kRtolF64, table);
  } else {
    run_fixture<float>(name, file, kAtolF32, kRtolF32, table);
  }
}

class Fixture : public ::testing::TestWithParam<std::string> {};

TEST_P(Fixture, Matches) { run_fixture_file(GetParam(), nullptr); }

INSTANTIATE_TEST_SUITE_P(RecurrentParity, Fixture, ::testing::ValuesIn(list_fixtures()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param;  // stems are [a-z0-9_] only
                         });

TEST(RecurrentParitySummary, FixturesPresent) {
  const auto names = list_fixtures();
  EXPECT_GE(names.size(), 100u) << "expected the committed fixtures in " << fixture_dir();
  // Every cell appears in both precisions.
  for (const char* cell : {"lstm_", "gru_", "rnn_tanh_", "rnn_relu_"}) {
    for (const char* precision : {"_f32", "_f64"}) {
      EXPECT_TRUE(std::any_of(names.begin(), names.end(),
                              [&](const std::string& n) {
                                return n.rfind(cell, 0) == 0 &&
                                       n.size() >= 4 && n.substr(n.size() - 4) == precision;
                              }))
          << "no fixture for " << cell << "*" << precision;
    }
  }
}

// Runs every fixture again and prints the worst error per kind of tensor, so the
// evidence shows how close to the bound the implementation is (not only pass/fail).
TEST(RecurrentParitySummary, WorstErrorPerKind) {
  WorstTable table;
  const auto names = list_fixtures();
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    run_fixture_file(name, &table);
  }
  std::ostringstream text;
  text << "worst parity error seen per kind over " << names.size()
       << " fixtures (ratio = |diff| / (atol + rtol |expected|), <= 1 passes):\n";
  for (const auto& [precision, kinds] : table) {
    text << "  " << precision << " (atol " << (precision == "f64" ? kAtolF64 : kAtolF32)
         << ", rtol " << (precision == "f64" ? kRtolF64 : kRtolF32) << ")\n";
    for (const auto& [kind, w] : kinds) {
      text << "    " << std::left << std::setw(11) << kind << " max|diff| " << std::setw(11)
           << std::setprecision(3) << std::scientific << w.abs << " ratio " << std::setw(10)
           << w.ratio << std::defaultfloat << "  at " << w.where << "\n";
      std::ostringstream value;
      value << std::setprecision(3) << std::scientific << w.abs;
      ::testing::Test::RecordProperty(precision + "." + kind + ".max_abs_diff", value.str());
    }
  }
  std::cout << text.str() << std::flush;
}

}  // namespace
