// Diagnostics as an option of the one trainer: rows in diagnostics.jsonl on step 1 and every
// N steps (gradient norms before/after clipping, spectra of weight_hh, ||dL/dh_t||), training
// unchanged by them, nothing written when off, rows trimmed on a bit-exact resume.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/lab/task.h"
#include "rnn/train/trainer.h"

namespace rnn {
namespace {

namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("rnn_diag_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  return d.string();
}

std::vector<nlohmann::json> rows_of(const std::string& dir) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(fs::path(dir) / "diagnostics.jsonl");
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

lab::TaskSpec adding(int64_t T) {
  lab::TaskSpec s;
  s.length = T;
  return s;
}

lab::LabModelConfig model(const std::string& cell) {
  lab::LabModelConfig c;
  c.cell = cell;
  c.hidden_size = 6;
  return c;
}

lab::LabTaskOptions small() {
  lab::LabTaskOptions o;
  o.batch_size = 4;
  o.test_size = 16;
  return o;
}

TrainerOptions options(const std::string& dir, int64_t steps, int64_t every) {
  TrainerOptions t;
  t.max_steps = steps;
  t.eval_every = 0;
  t.checkpoint_every = 0;
  t.run_dir = dir;
  t.progress = ProgressStyle::Off;
  t.diagnostics_every = every;
  t.optimizer_options = {{"lr", 0.01}};
  return t;
}

TEST(TrainerDiagnostics, RowsWithNormsSpectraAndGradientFlow) {
  const std::string dir = fresh_dir("rows");
  lab::LabTask task(adding(7), model("gru"), small());
  TrainerOptions o = options(dir, 6, 4);
  o.clip_norm = 0.05;  // small enough to clip
  Trainer(o, task).run();
  const auto rows = rows_of(dir);
  ASSERT_EQ(rows.size(), 2u);  // steps 1 and 4
  EXPECT_EQ(rows[0]["step"], 1);
  EXPECT_EQ(rows[1]["step"], 4);
  for (const auto& r : rows) {
    const double before = r["grad_norm"].get<double>(), after = r["grad_norm_clipped"].get<double>();
    EXPECT_GT(before, 0.05);
    EXPECT_NEAR(after, 0.05, 1e-4);
    ASSERT_EQ(r["weights"].size(), 1u);
    EXPECT_EQ(r["weights"][0]["name"], "rnn.weight_hh_l0");
    EXPECT_EQ(r["weights"][0]["blocks"], 3);
    EXPECT_EQ(r["weights"][0]["block_radius"].size(), 3u);
    EXPECT_GE(r["weights"][0]["sigma"].get<double>(), r["weights"][0]["radius"].get<double>() - 1e-6);
    ASSERT_EQ(r["dh_norms"].size(), 1u);
    ASSERT_EQ(r["dh_norms"][0].size(), 7u);
    for (const auto& v : r["dh_norms"][0]) EXPECT_GT(v.get<double>(), 0.0);
  }
  fs::remove_all(dir);
}

TEST(TrainerDiagnostics, StackedModelsGetOneRowOfNormsPerLayer) {
  const std::string dir = fresh_dir("stacked");
  lab::LabModelConfig c = model("lstm");
  c.num_layers = 3;
  lab::LabTask task(adding(9), c, small());
  Trainer(options(dir, 1, 1), task).run();
  const auto rows = rows_of(dir);
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(rows[0]["dh_norms"].size(), 3u);
  for (const auto& layer : rows[0]["dh_norms"]) {
    ASSERT_EQ(layer.size(), 9u);
    for (const auto& v : layer) EXPECT_GT(v.get<double>(), 0.0);
  }
  ASSERT_EQ(rows[0]["weights"].size(), 3u);  // one weight_hh per layer
  fs::remove_all(dir);
}

TEST(TrainerDiagnostics, TrainingIsUnchangedAndNothingIsWrittenWhenOff) {
  const std::string on = fresh_dir("on"), off = fresh_dir("off");
  lab::LabTask a(adding(6), model("lstm"), small()), b(adding(6), model("lstm"), small());
  Trainer(options(on, 5, 2), a).run();
  Trainer(options(off, 5, 0), b).run();
  const auto pa = a.parameters().values(), pb = b.parameters().values();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) ASSERT_EQ(pa[i], pb[i]) << "parameter element " << i;
  EXPECT_TRUE(fs::exists(fs::path(on) / "diagnostics.jsonl"));
  EXPECT_FALSE(fs::exists(fs::path(off) / "diagnostics.jsonl"));
  fs::remove_all(on);
  fs::remove_all(off);
}

TEST(TrainerDiagnostics, ResumeRepeatsTheRunAndItsRows) {
  const std::string whole = fresh_dir("whole"), split = fresh_dir("split");
  lab::LabTask a(adding(5), model("rnn_tanh"), small());
  Trainer(options(whole, 8, 3), a).run();
  {
    lab::LabTask b(adding(5), model("rnn_tanh"), small());
    TrainerOptions o = options(split, 8, 3);
    o.max_steps = 4;
    Trainer(o, b).run();
  }
  // A row from past the checkpoint (as if the run had died after writing it) is dropped.
  {
    std::ofstream out(fs::path(split) / "diagnostics.jsonl", std::ios::app);
    out << R"({"step": 6, "grad_norm": 1.0})" << "\n";
  }
  lab::LabTask c(adding(5), model("rnn_tanh"), small());
  TrainerOptions o = options(split, 8, 3);
  o.resume = true;
  Trainer(o, c).run();
  const auto pa = a.parameters().values(), pc = c.parameters().values();
  for (size_t i = 0; i < pa.size(); ++i) ASSERT_EQ(pa[i], pc[i]) << "parameter element " << i;
  const auto ra = rows_of(whole), rc = rows_of(split);
  ASSERT_EQ(ra.size(), 3u);  // 1, 3, 6
  ASSERT_EQ(rc.size(), ra.size());
  for (size_t i = 0; i < ra.size(); ++i) {
    EXPECT_EQ(ra[i]["step"], rc[i]["step"]);
    EXPECT_EQ(ra[i]["grad_norm"], rc[i]["grad_norm"]);
    EXPECT_EQ(ra[i]["dh_norms"], rc[i]["dh_norms"]);
  }
  fs::remove_all(whole);
  fs::remove_all(split);
}

TEST(TrainerDiagnostics, TasksWithoutGradientFlowStillGetNormsAndSpectra) {
  // A TrainTask that keeps the default virtuals: dh_norms is an empty list.
  class Plain : public TrainTask {
   public:
    Plain() { params_.add("enc.weight_hh_l0", {2, 2}); }
    Parameters<float>& parameters() override { return params_; }
    StepResult train_step(Rng&) override {
      float* w = params_.value(params_.id("enc.weight_hh_l0"));
      float* g = params_.grad(params_.id("enc.weight_hh_l0"));
      for (int i = 0; i < 4; ++i) g[i] = w[i] + 1.0f;
      return {1.0, 1};
    }
    EvalResult validate() override { return {1.0, {}}; }
    void save_state(Checkpoint&) const override {}
    void load_state(const Checkpoint&) override {}

   private:
    Parameters<float> params_;
  } task;
  const std::string dir = fresh_dir("plain");
  Trainer(options(dir, 2, 1), task).run();
  const auto rows = rows_of(dir);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NEAR(rows[0]["grad_norm"].get<double>(), 2.0, 1e-12);  // four ones
  EXPECT_TRUE(rows[0]["dh_norms"].empty());
  EXPECT_EQ(rows[0]["weights"][0]["blocks"], 1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rnn
