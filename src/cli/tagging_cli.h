// Shared by `rnn tag` and `rnn classify`: trainer options from the command line, usage
// checks, the run folder's command record and the confusion-matrix picture.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/run_control.h"
#include "rnn/core/error.h"
#include "rnn/kernels/gemm.h"
#include "rnn/plot/heatmap.h"
#include "rnn/tagging/metrics.h"
#include "rnn/train/trainer.h"

namespace rnn::cli::tagging_cli {

inline void usage_check(bool ok, const std::string& message) {
  if (!ok) throw UsageError(message);
}

inline std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Options every training command shares.
struct TrainLoop {
  int64_t steps = 0;       // 0: from epochs
  double epochs = 3.0;
  int64_t batch = 32;
  double time = 0.0;
  std::string optimizer = "adam";
  double lr = 2e-3;
  double weight_decay = 0.0;
  double clip = 5.0;
  int64_t eval_every = 0;  // 0: once per epoch
  int64_t patience = 0;
  std::string run_dir;
  bool resume = false;
  uint64_t seed = 1;
  int threads = 0;
  RunControl control;
  bool json = false;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--epochs", epochs, "Passes over the training data (when --steps is 0)")
        ->capture_default_str();
    cmd->add_option("--steps", steps, "Optimizer steps (0 = from --epochs)")->capture_default_str();
    cmd->add_option("--batch", batch, "Sequences per batch")->capture_default_str();
    cmd->add_option("--time", time, "Wall-clock budget in seconds (0 = none)")->capture_default_str();
    cmd->add_option("--optimizer", optimizer, "sgd, adam, adamw, rmsprop or adagrad")
        ->capture_default_str();
    cmd->add_option("--lr", lr, "Learning rate")->capture_default_str();
    cmd->add_option("--weight-decay", weight_decay, "Weight decay")->capture_default_str();
    cmd->add_option("--clip", clip, "Gradient norm clipping (0 = off)")->capture_default_str();
    cmd->add_option("--eval-every", eval_every, "Validation every N steps (0 = once per epoch)")
        ->capture_default_str();
    cmd->add_option("--patience", patience,
                    "Early stopping after N validations without improvement (0 = off)")
        ->capture_default_str();
    cmd->add_option("--run-dir", run_dir, "Run folder (checkpoints, metrics, pictures)")
        ->capture_default_str();
    cmd->add_flag("--resume", resume, "Continue the run in --run-dir from last.ckpt");
    cmd->add_option("--seed", seed, "Random seed")->capture_default_str();
    cmd->add_option("--threads", threads, "Threads (0 = all cores)")->capture_default_str();
    control.add_to(cmd);
    cmd->add_flag("--json", json, "Print one JSON object with the results on stdout");
  }

  void validate() const {
    usage_check(steps >= 0, "--steps must be >= 0");
    usage_check(epochs > 0 || steps > 0, "--epochs must be > 0 (or give --steps)");
    usage_check(batch >= 1, "--batch must be >= 1, got " + std::to_string(batch));
    usage_check(time >= 0, "--time must be >= 0");
    usage_check(lr > 0 && std::isfinite(lr), "--lr must be a positive number");
    usage_check(weight_decay >= 0, "--weight-decay must be >= 0");
    usage_check(clip >= 0, "--clip must be >= 0");
    usage_check(eval_every >= 0, "--eval-every must be >= 0");
    usage_check(patience >= 0, "--patience must be >= 0");
    usage_check(!run_dir.empty(), "--run-dir must not be empty");
    usage_check(threads >= 0, "--threads must be >= 0");
    TrainerOptions probe;
    control.apply(probe);  // the same checks, before any data is read
  }

  // `batches_per_epoch` turns epochs into steps.
  TrainerOptions trainer_options(int64_t batches_per_epoch) const {
    TrainerOptions t;
    const int64_t per_epoch = std::max<int64_t>(1, batches_per_epoch);
    t.max_steps = steps > 0 ? steps
                            : std::max<int64_t>(1, static_cast<int64_t>(std::ceil(epochs * static_cast<double>(per_epoch))));
    t.max_seconds = time;
    t.eval_every = eval_every > 0 ? eval_every : per_epoch;
    t.checkpoint_every = t.eval_every;
    t.patience = patience;
    t.clip_norm = clip;
    t.optimizer = optimizer;
    t.optimizer_options = {{"lr", lr}};
    if (weight_decay > 0) t.optimizer_options["weight_decay"] = weight_decay;
    t.seed = seed;
    t.run_dir = run_dir;
    t.resume = resume;
    control.apply(t);
    return t;
  }

  void apply_threads() const {
    if (threads > 0) kernels::set_num_threads(threads);
  }
};

inline std::string process_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : all) {
    if (c == '\0') c = ' ';
  }
  while (!all.empty() && all.back() == ' ') all.pop_back();
  return all;
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  check(static_cast<bool>(out), path.string(), ": cannot open for writing");
  out << text;
  check(static_cast<bool>(out), path.string(), ": write error");
}

// The confusion matrix over at most `max_classes` classes (those with the most errors) as an
// SVG heatmap.
inline std::string confusion_svg(const tagging::Confusion& confusion,
                                 const std::vector<std::string>& names, size_t max_classes,
                                 const std::string& title) {
  std::vector<int64_t> classes;
  if (static_cast<size_t>(confusion.classes()) <= max_classes) {
    for (int64_t c = 0; c < confusion.classes(); ++c) classes.push_back(c);
  } else {
    classes = confusion.most_confused_classes(max_classes);
  }
  if (classes.empty()) classes.push_back(0);
  std::vector<std::vector<double>> values;
  std::vector<std::string> labels;
  for (int64_t g : classes) {
    labels.push_back(names[static_cast<size_t>(g)]);
    std::vector<double> row;
    for (int64_t p : classes) row.push_back(static_cast<double>(confusion.count(g, p)));
    values.push_back(std::move(row));
  }
  plot::HeatmapOptions o;
  o.title = title;
  o.annotate = true;
  return plot::heatmap_svg(values, labels, labels, o);
}

}  // namespace rnn::cli::tagging_cli
