// Diagnostics' errors: bad matrices and options for the power iterations, unsupported modules
// for the step-by-step gradient flow, a negative diagnostics_every for the trainer.
#include <gtest/gtest.h>

#include <vector>

#include "rnn/core/error.h"
#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/diagnostics/gradient_flow.h"
#include "rnn/diagnostics/spectral.h"
#include "rnn/lab/task.h"
#include "rnn/layers/recurrent.h"
#include "rnn/train/trainer.h"

namespace rnn::diagnostics {
namespace {

constexpr int64_t kI = 3, kH = 5, kB = 2, kT = 4;

TEST(SpectralErrors, BadArgumentsThrow) {
  const std::vector<double> a(6, 1.0);
  EXPECT_THROW(spectral_radius<double>(a, 2), Error);         // 6 values for 2x2
  EXPECT_THROW(spectral_radius<double>(a, 0), Error);
  EXPECT_THROW(largest_singular_value<double>(a, 4, 2), Error);
  PowerIterationOptions o;
  o.burn_in = o.iterations;
  EXPECT_THROW(spectral_radius<double>(std::vector<double>(4, 1.0), 2, o), Error);
  std::vector<float> w(6, 1.0f);
  EXPECT_THROW(scale_to_spectral_radius<float>(w, 3, 2, 1.0), Error);  // 3 rows, 2 cols
  std::vector<float> zero(4, 0.0f);
  EXPECT_THROW(scale_to_spectral_radius<float>(zero, 2, 2, 1.0), Error);  // radius 0
  std::vector<float> one(4, 1.0f);
  EXPECT_THROW(scale_to_spectral_radius<float>(one, 2, 2, -1.0), Error);
}

TEST(GradientFlowErrors, UnsupportedModulesAndShapesThrow) {
  RecurrentConfig c;
  c.mode = CellMode::GRU;
  c.input_size = kI;
  c.hidden_size = kH;
  c.num_layers = 2;
  Parameters<double> store;
  Rng rng(1);
  Recurrent<double> two(c, store, rng);
  Tensor<double> x({kT, kB, kI}), dy({kT, kB, kH});
  EXPECT_THROW(dh_norms_by_steps<double>(two, x, dy), Error);
  c.num_layers = 1;
  Parameters<double> store1;
  Recurrent<double> one(c, store1, rng);
  EXPECT_THROW(dh_norms_by_steps<double>(one, x, Tensor<double>({kT, kB, kH + 1})), Error);
  EXPECT_THROW(dh_norms_by_steps<double>(one, Tensor<double>({kT, kI}), dy), Error);
}

TEST(TrainerDiagnosticsErrors, NegativeEveryThrows) {
  lab::TaskSpec s;
  s.length = 4;
  lab::LabModelConfig c;
  c.hidden_size = 3;
  lab::LabTask task(s, c, {});
  TrainerOptions o;
  o.run_dir = "/nonexistent/never";
  o.diagnostics_every = -1;
  o.progress = ProgressStyle::Off;
  EXPECT_THROW(Trainer(o, task).run(), Error);
}

}  // namespace
}  // namespace rnn::diagnostics
