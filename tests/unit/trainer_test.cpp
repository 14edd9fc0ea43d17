// The one trainer: loop, logging, pictures, checkpoints, bit-exact resume, Ctrl-C, early
// stopping and non-finite handling, on a small regression task.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "rnn/core/error.h"
#include "rnn/nn/linear.h"
#include "rnn/train/checkpoint.h"
#include "rnn/train/losses.h"
#include "rnn/train/trainer.h"

namespace rnn {
namespace {

namespace fs = std::filesystem;

// y = x . w* + noise, with batches drawn from the trainer's generator.
class RegressionTask : public TrainTask {
 public:
  explicit RegressionTask(uint64_t seed = 5) {
    Rng init(seed);
    layer_ = std::make_unique<nn::Linear<float>>(4, 1, params_, init, "head.");
    Rng data(99);
    val_x_ = Tensor<float>({64, 4});
    for (int64_t i = 0; i < val_x_.numel(); ++i) val_x_[i] = static_cast<float>(data.normal());
    val_y_ = target(val_x_, nullptr);
  }

  Parameters<float>& parameters() override { return params_; }

  StepResult train_step(Rng& rng) override {
    ++position_;
    if (position_ == nan_at_) return {std::numeric_limits<double>::quiet_NaN(), 8};
    if (position_ == interrupt_at_) ::raise(SIGINT);
    Tensor<float> x({8, 4});
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.normal());
    const Tensor<float> y = target(x, &rng);
    // A NaN reaching the prediction: the loss refuses it with an rnn::NonFiniteError.
    if (position_ == nan_input_at_) x[5] = std::numeric_limits<float>::quiet_NaN();
    const Tensor<float> prediction = layer_->forward(x);
    const LossResult<float> loss = mse(prediction, y);
    layer_->backward(x, loss.grad);
    // A real gradient with one element overflowed: applying it would move every weight.
    if (position_ >= inf_grad_from_ && position_ <= inf_grad_to_) {
      params_.grads()[2] = std::numeric_limits<float>::infinity();
    }
    // Weights gone bad without the loss or the gradients showing it (an overflowing update).
    if (position_ == poison_weights_at_) params_.values()[1] = std::numeric_limits<float>::quiet_NaN();
    return {loss.loss, 8};
  }

  EvalResult validate() override {
    ++validations_;
    if (!val_script_.empty()) {
      const double v = val_script_[std::min(val_script_.size() - 1, static_cast<size_t>(validations_ - 1))];
      return {v, {}};
    }
    LossUpstream<float> no_grad;
    no_grad.want_grad = false;
    return {mse(layer_->forward(val_x_), val_y_, {}, no_grad).loss, {{"rmse", 0.0}}};
  }

  double epoch() const override { return static_cast<double>(position_) / 100.0; }

  void save_state(Checkpoint& c) const override {
    c.meta["task"] = {{"kind", "regression"}, {"position", position_}};
  }
  void load_state(const Checkpoint& c) override {
    check(c.meta.contains("task") && c.meta["task"].value("kind", "") == "regression",
          "checkpoint belongs to another task");
    position_ = c.meta["task"]["position"].get<int64_t>();
  }

  int64_t nan_at_ = -1;
  int64_t nan_input_at_ = -1;
  int64_t inf_grad_from_ = -1, inf_grad_to_ = -1;  // steps with an infinite gradient element
  int64_t poison_weights_at_ = -1;
  int64_t interrupt_at_ = -1;
  std::vector<double> val_script_;
  int64_t validations_ = 0;

 private:
  static Tensor<float> target(const Tensor<float>& x, Rng* noise) {
    const float w[4] = {0.5f, -1.0f, 2.0f, 0.25f};
    Tensor<float> y({x.dim(0), 1});
    for (int64_t n = 0; n < x.dim(0); ++n) {
      float s = 0.1f;
      for (int j = 0; j < 4; ++j) s += w[j] * x.at(n, j);
      if (noise) s += static_cast<float>(0.01 * noise->normal());
      y[n] = s;
    }
    return y;
  }

  Parameters<float> params_;
  std::unique_ptr<nn::Linear<float>> layer_;
  Tensor<float> val_x_, val_y_;
  int64_t position_ = 0;
};

std::string file_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rnn_trainer_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
            "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  TrainerOptions options(const std::string& sub, int64_t steps) const {
    TrainerOptions o;
    o.max_steps = steps;
    o.eval_every = 10;
    o.checkpoint_every = 10;
    o.clip_norm = 1.0;
    o.optimizer = "adam";
    o.optimizer_options = {{"lr", 0.05}};
    o.schedule = "cosine";
    o.schedule_options = {{"t_max", 200}};
    o.warmup_steps = 5;
    o.run_dir = (dir_ / sub).string();
    o.progress = ProgressStyle::Off;
    o.log_every = 5;
    return o;
  }

  static std::vector<std::string> metric_rows(const fs::path& file) {
    std::vector<std::string> rows;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      j.erase("units_per_s");  // the only field that depends on the clock
      rows.push_back(j.dump());
    }
    return rows;
  }

  fs::path dir_;
};

TEST_F(TrainerTest, LearnsAndWritesRunFolder) {
  RegressionTask task;
  Trainer trainer(options("run", 200), task);
  const TrainSummary s = trainer.run();
  EXPECT_EQ(s.steps, 200);
  EXPECT_LT(s.best_val_loss, 0.01);  // from about 5.3 at the start
  for (const char* f : {"last.ckpt", "best.ckpt", "metrics.jsonl", "curves.svg"}) {
    EXPECT_TRUE(fs::exists(dir_ / "run" / f)) << f;
  }
  const auto rows = metric_rows(dir_ / "run" / "metrics.jsonl");
  EXPECT_EQ(rows.size(), 40u + 20u);  // a row every 5 steps, a validation every 10
  std::ifstream svg(dir_ / "run" / "curves.svg");
  const std::string text((std::istreambuf_iterator<char>(svg)), {});
  EXPECT_NE(text.find("<polyline"), std::string::npos);
}

TEST_F(TrainerTest, ResumeReproducesUninterruptedRunBitForBit) {
  RegressionTask straight;
  Trainer(options("straight", 60), straight).run();

  RegressionTask first;
  Trainer(options("split", 30), first).run();
  RegressionTask second(/*seed=*/777);  // different init: everything must come from the checkpoint
  TrainerOptions resumed = options("split", 60);
  resumed.resume = true;
  Trainer(resumed, second).run();

  const auto a = straight.parameters().values();
  const auto b = second.parameters().values();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "parameter " << i;
  EXPECT_EQ(metric_rows(dir_ / "straight" / "metrics.jsonl"),
            metric_rows(dir_ / "split" / "metrics.jsonl"));
}

TEST_F(TrainerTest, CtrlCWritesCheckpointAndResumeMatches) {
  RegressionTask straight;
  Trainer(options("straight", 40), straight).run();

  RegressionTask interrupted;
  interrupted.interrupt_at_ = 17;  // SIGINT during step 17: the step completes, then the loop stops
  const TrainSummary s = Trainer(options("stopped", 40), interrupted).run();
  EXPECT_TRUE(s.interrupted);
  EXPECT_EQ(s.steps, 17);
  EXPECT_EQ(Checkpoint::load((dir_ / "stopped" / "last.ckpt").string()).meta["trainer"]["step"], 17);

  RegressionTask resumed_task(/*seed=*/3);
  TrainerOptions resumed = options("stopped", 40);
  resumed.resume = true;
  Trainer(resumed, resumed_task).run();
  const auto a = straight.parameters().values();
  const auto b = resumed_task.parameters().values();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "parameter " << i;
}

TEST_F(TrainerTest, RefusesToOverwriteARunAndToResumeNothing) {
  RegressionTask task;
  Trainer(options("run", 10), task).run();
  RegressionTask again;
  EXPECT_THROW(Trainer(options("run", 10), again).run(), Error);
  TrainerOptions o = options("empty", 10);
  o.resume = true;
  try {
    Trainer(o, again).run();
    FAIL() << "resume without a checkpoint must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nothing to resume"), std::string::npos) << e.what();
  }
}

TEST_F(TrainerTest, ResumeWithAnotherOptimizerIsRefused) {
  RegressionTask task;
  Trainer(options("run", 10), task).run();
  TrainerOptions o = options("run", 20);
  o.resume = true;
  o.optimizer = "sgd";
  o.optimizer_options = {{"lr", 0.1}};
  RegressionTask other;
  EXPECT_THROW(Trainer(o, other).run(), Error);
}

TEST_F(TrainerTest, EarlyStoppingKeepsTheBestModel) {
  RegressionTask task;
  task.val_script_ = {1.0, 0.5, 0.6, 0.7, 0.8, 0.9};
  TrainerOptions o = options("run", 100);
  o.patience = 3;
  const TrainSummary s = Trainer(o, task).run();
  EXPECT_TRUE(s.stopped_early);
  EXPECT_EQ(s.steps, 50);  // evaluations at 10..50; best at 20, then 3 without improvement
  EXPECT_EQ(s.best_step, 20);
  EXPECT_DOUBLE_EQ(s.best_val_loss, 0.5);
  EXPECT_EQ(Checkpoint::load(s.best_checkpoint).meta["trainer"]["step"], 20);
}

TEST_F(TrainerTest, NonFiniteLossStopsNamingTheStepAndKeepsCheckpoint) {
  RegressionTask task;
  task.nan_at_ = 14;
  try {
    Trainer(options("run", 40), task).run();
    FAIL() << "a NaN loss must stop training";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const char* part : {"step 14", "the loss is not finite", "last.ckpt at step 10, is intact"}) {
      EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  }
  EXPECT_EQ(Checkpoint::load((dir_ / "run" / "last.ckpt").string()).meta["trainer"]["step"], 10);

  RegressionTask skipping;
  skipping.nan_at_ = 14;
  TrainerOptions o = options("skip", 40);
  o.non_finite = NonFinitePolicy::Skip;
  EXPECT_EQ(Trainer(o, skipping).run().steps, 40);
}

// A NaN met inside the step (the loss throws rnn::NonFiniteError before any gradient
// exists) is the same fault as a non-finite loss: it stops naming the step, or is skipped.
TEST_F(TrainerTest, NonFiniteErrorInsideTheStepIsANonFiniteStep) {
  RegressionTask task;
  task.nan_input_at_ = 14;
  try {
    Trainer(options("run", 40), task).run();
    FAIL() << "a NaN prediction must stop training";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const char* part :
         {"step 14: a value inside the step is not finite (mse: pred holds a non-finite value",
          "last.ckpt at step 10, is intact"}) {
      EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  }

  RegressionTask skipping;
  skipping.nan_input_at_ = 14;
  TrainerOptions o = options("skip", 40);
  o.non_finite = NonFinitePolicy::Skip;
  const TrainSummary s = Trainer(o, skipping).run();
  EXPECT_EQ(s.steps, 40);
  EXPECT_EQ(s.skipped_steps, 1);
  EXPECT_EQ(Checkpoint::load((dir_ / "skip" / "last.ckpt").string())
                .meta["trainer"]["lr_scale"]
                .get<double>(),
            0.5);
}

TEST_F(TrainerTest, CheckpointDetectsCorruptionAndRefusesNaNWeights) {
  RegressionTask task;
  Trainer(options("run", 10), task).run();
  const fs::path file = dir_ / "run" / "last.ckpt";
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(in)), {});
  }
  bytes[bytes.size() - 3] ^= 0x40;  // a flipped bit in the data
  {
    std::ofstream out(dir_ / "bad.ckpt", std::ios::binary);
    out << bytes;
  }
  try {
    Checkpoint::load((dir_ / "bad.ckpt").string());
    FAIL() << "a corrupted checkpoint must not load";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }

  Checkpoint c = Checkpoint::load(file.string());
  c.tensors.begin()->second[0] = std::numeric_limits<float>::quiet_NaN();
  c.tensors["param.head.weight"][0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(c.save(file.string()), Error);
  EXPECT_NO_THROW(Checkpoint::load(file.string()));  // the previous file is intact
}

// Any single flipped bit anywhere in a checkpoint (header, metadata, data) is refused.
TEST_F(TrainerTest, EveryFlippedBitOfACheckpointIsRefused) {
  RegressionTask task;
  Trainer(options("run", 10), task).run();
  const std::string good = file_bytes(dir_ / "run" / "last.ckpt");
  ASSERT_GT(good.size(), 100u);
  const fs::path bad = dir_ / "bad.ckpt";
  std::ofstream(bad, std::ios::binary) << good;
  std::fstream file(bad, std::ios::binary | std::ios::in | std::ios::out);
  int checksum_messages = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    const auto bit = static_cast<unsigned char>(1u << (i % 8));  // each bit position in turn
    file.seekp(static_cast<std::streamoff>(i));
    file.put(static_cast<char>(good[i] ^ static_cast<char>(bit)));
    file.flush();
    try {
      Checkpoint::load(bad.string());
      ADD_FAILURE() << "byte " << i << " of " << good.size() << " with bit " << int{bit}
                    << " flipped still loads";
    } catch (const Error& e) {
      checksum_messages += std::string(e.what()).find("checksum") != std::string::npos;
    }
    file.seekp(static_cast<std::streamoff>(i));
    file.put(good[i]);
  }
  file.flush();
  EXPECT_NO_THROW(Checkpoint::load(bad.string()));  // restored: the test itself is sound
  EXPECT_GT(checksum_messages, 0);
}

TEST_F(TrainerTest, NonFiniteGradientStopsNamingStepAndParameter) {
  RegressionTask task;
  task.inf_grad_from_ = task.inf_grad_to_ = 7;
  TrainerOptions o = options("run", 20);
  o.checkpoint_every = 5;
  try {
    Trainer(o, task).run();
    FAIL() << "an infinite gradient must stop training";
  } catch (const Error& e) {
    const std::string what = e.what();
    // Parameter 2 of the flat buffer is head.weight[2] (weight [1, 4] first, then bias).
    for (const char* part : {"step 7", "gradient of 'head.weight' is not finite", "inf at index 2",
                             "at step 5, is intact"}) {
      EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  }
  const Checkpoint c = Checkpoint::load((dir_ / "run" / "last.ckpt").string());
  EXPECT_EQ(c.meta["trainer"]["step"], 5);
}

// A skipped step leaves the weights and every optimizer buffer as they were, bit for bit,
// counts as a step (its batch is consumed) and halves the lr.
TEST_F(TrainerTest, SkippedStepChangesNeitherWeightsNorOptimizerStateAndHalvesLr) {
  TrainerOptions o = options("run", 13);
  o.schedule = "constant";
  o.schedule_options = nlohmann::json::object();
  o.warmup_steps = 0;
  o.checkpoint_every = 1;
  o.non_finite = NonFinitePolicy::Skip;
  RegressionTask first;
  Trainer(o, first).run();
  const Checkpoint before = Checkpoint::load((dir_ / "run" / "last.ckpt").string());
  ASSERT_EQ(before.meta["trainer"]["step"], 13);

  RegressionTask second;
  second.inf_grad_from_ = second.inf_grad_to_ = 14;
  o.max_steps = 14;
  o.resume = true;
  const TrainSummary s = Trainer(o, second).run();
  EXPECT_EQ(s.steps, 14);
  EXPECT_EQ(s.skipped_steps, 1);
  const Checkpoint after = Checkpoint::load((dir_ / "run" / "last.ckpt").string());
  EXPECT_EQ(after.meta["trainer"]["step"], 14);
  EXPECT_EQ(after.meta["trainer"]["skipped_steps"], 1);
  ASSERT_EQ(before.tensors.size(), after.tensors.size());
  int optimizer_buffers = 0;
  for (const auto& [name, t] : before.tensors) {
    const Tensor<float>& u = after.tensors.at(name);
    ASSERT_EQ(t.numel(), u.numel()) << name;
    for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(t[i], u[i]) << name << " [" << i << "]";
    optimizer_buffers += name.rfind("optim.", 0) == 0;
  }
  EXPECT_EQ(optimizer_buffers, 2);  // Adam's two moments
  EXPECT_EQ(after.meta["optimizer"]["step"], before.meta["optimizer"]["step"]);
  EXPECT_EQ(after.meta["optimizer"]["lr"].get<double>(), 0.5 * before.meta["optimizer"]["lr"].get<double>());
  EXPECT_EQ(after.meta["trainer"]["lr_scale"].get<double>(), 0.5);
  // The step's batch was consumed: the task's position moved on.
  EXPECT_EQ(after.meta["task"]["position"], 14);
  // And the skip is in the metrics log.
  std::ifstream in(dir_ / "run" / "metrics.jsonl");
  std::string line, skipped_row;
  while (std::getline(in, line)) {
    if (line.find("\"skipped\"") != std::string::npos) skipped_row = line;
  }
  const auto row = nlohmann::json::parse(skipped_row);
  EXPECT_EQ(row["step"], 14);
  EXPECT_NE(row["skipped"].get<std::string>().find("head.weight"), std::string::npos);
}

// The lowered lr stays lowered on top of the schedule for the rest of the run.
TEST_F(TrainerTest, SkipLowersTheScheduledLrForTheRestOfTheRun) {
  RegressionTask plain;
  Trainer(options("plain", 40), plain).run();
  RegressionTask skipping;
  skipping.nan_at_ = 12;
  skipping.inf_grad_from_ = skipping.inf_grad_to_ = 23;
  TrainerOptions o = options("skip", 40);
  o.non_finite = NonFinitePolicy::Skip;
  o.non_finite_lr_factor = 0.25;
  EXPECT_EQ(Trainer(o, skipping).run().skipped_steps, 2);
  auto lrs = [](const fs::path& file) {
    std::map<int64_t, double> lr;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line);
      if (j.contains("train_loss")) lr[j["step"].get<int64_t>()] = j["lr"].get<double>();
    }
    return lr;
  };
  const auto a = lrs(dir_ / "plain" / "metrics.jsonl");
  const auto b = lrs(dir_ / "skip" / "metrics.jsonl");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [step, lr] : a) {
    const double factor = step < 12 ? 1.0 : step < 23 ? 0.25 : 0.0625;
    EXPECT_EQ(b.at(step), lr * factor) << "step " << step;  // powers of two: exact
  }
}

TEST_F(TrainerTest, ConsecutiveSkipsAreBounded) {
  RegressionTask task;
  task.inf_grad_from_ = 20;
  task.inf_grad_to_ = 1000;
  TrainerOptions o = options("run", 40);
  o.non_finite = NonFinitePolicy::Skip;
  o.max_consecutive_skips = 3;
  try {
    Trainer(o, task).run();
    FAIL() << "endless non-finite steps must stop training";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const char* part : {"step 23", "4 non-finite steps in a row", "more than the 3",
                             "last.ckpt at step 20, is intact"}) {
      EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  }
  // The checkpoint of step 20 (itself skipped) holds the weights of step 19, and the count.
  const Checkpoint c = Checkpoint::load((dir_ / "run" / "last.ckpt").string());
  EXPECT_EQ(c.meta["trainer"]["step"], 20);
  EXPECT_EQ(c.meta["trainer"]["consecutive_skips"], 1);
  EXPECT_EQ(c.meta["trainer"]["lr_scale"].get<double>(), 0.5);
}

// Skips and the lowered lr are part of the checkpoint: resuming after them reproduces the
// uninterrupted run bit for bit.
TEST_F(TrainerTest, ResumeAfterSkipsIsBitExact) {
  TrainerOptions o = options("straight", 40);
  o.non_finite = NonFinitePolicy::Skip;
  RegressionTask straight;
  straight.inf_grad_from_ = 14;
  straight.inf_grad_to_ = 15;
  Trainer(o, straight).run();

  o.run_dir = (dir_ / "split").string();
  o.max_steps = 20;
  RegressionTask first;
  first.inf_grad_from_ = 14;
  first.inf_grad_to_ = 15;
  Trainer(o, first).run();
  o.max_steps = 40;
  o.resume = true;
  RegressionTask second(/*seed=*/41);
  second.inf_grad_from_ = 14;  // already behind the checkpoint's position
  second.inf_grad_to_ = 15;
  Trainer(o, second).run();
  const auto a = straight.parameters().values();
  const auto b = second.parameters().values();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "parameter " << i;
  EXPECT_EQ(metric_rows(dir_ / "straight" / "metrics.jsonl"), metric_rows(dir_ / "split" / "metrics.jsonl"));
}

// Weights that turned NaN without the loss or gradients showing it are never saved: the
// checkpoint is refused, naming the step and the parameter, and the previous file stays.
TEST_F(TrainerTest, CheckpointWithNaNWeightsIsNeverWritten) {
  RegressionTask task;
  task.poison_weights_at_ = 10;  // after step 10's update, just before its checkpoint
  TrainerOptions o = options("run", 20);
  o.eval_every = 0;  // validation of NaN weights would fail first
  o.checkpoint_every = 5;
  const fs::path last = dir_ / "run" / "last.ckpt";
  std::string at_step_5;
  Trainer trainer(o, task);
  trainer.on_step = [&](int64_t step, const StepResult&) {
    if (step == 6) at_step_5 = file_bytes(last);
  };
  try {
    trainer.run();
    FAIL() << "NaN weights must not be checkpointed";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const char* part : {"step 10", "refusing to write checkpoint", "head.weight", "non-finite",
                             "previous 'last.ckpt' is untouched"}) {
      EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  }
  ASSERT_FALSE(at_step_5.empty());
  EXPECT_EQ(file_bytes(last), at_step_5);
  EXPECT_EQ(Checkpoint::load(last.string()).meta["trainer"]["step"], 5);
}

TEST_F(TrainerTest, ErrorInsideAStepNamesTheStep) {
  class Failing : public RegressionTask {
   public:
    StepResult train_step(Rng& rng) override {
      if (++calls_ == 3) fail("batch 3 is broken");
      return RegressionTask::train_step(rng);
    }
    int calls_ = 0;
  } task;
  try {
    Trainer(options("run", 10), task).run();
    FAIL() << "the task's error must come through";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("step 3: batch 3 is broken"), std::string::npos) << what;
    EXPECT_NE(what.find("no checkpoint was written yet"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace rnn
