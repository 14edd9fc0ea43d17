#include "rnn/train/trainer.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <vector>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"
#include "rnn/diagnostics/spectral.h"
#include "rnn/io/atomic_file.h"
#include "rnn/plot/line_plot.h"
#include "rnn/train/clipping.h"
#include "rnn/train/factory.h"

namespace rnn {

namespace {

volatile sig_atomic_t g_stop_signal = 0;

void on_stop_signal(int signal_number) { g_stop_signal = signal_number; }

// Catches SIGINT and SIGTERM for the duration of a run, so that the loop can write a
// checkpoint and return; the previous handlers come back afterwards.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  bool requested() const { return g_stop_signal != 0; }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  }
  return buf;
}

std::string format_rate(double per_second) {
  char buf[32];
  if (per_second >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", per_second / 1e6);
  } else if (per_second >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1fk", per_second / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f", per_second);
  }
  return buf;
}

using Clock = std::chrono::steady_clock;

}  // namespace

nlohmann::json TrainSummary::to_json() const {
  return {{"steps", steps},
          {"last_train_loss", last_train_loss},
          {"best_val_loss", best_val_loss},
          {"best_step", best_step},
          {"units_per_second", units_per_second},
          {"seconds", seconds},
          {"stopped_early", stopped_early},
          {"interrupted", interrupted},
          {"skipped_steps", skipped_steps},
          {"best_checkpoint", best_checkpoint},
          {"last_checkpoint", last_checkpoint}};
}

struct Trainer::Impl {
  TrainerOptions options;
  TrainTask& task;
  std::unique_ptr<Optimizer<float>> optimizer;
  std::unique_ptr<LrSchedule> schedule;          // per-step schedules
  std::unique_ptr<ReduceLrOnPlateau> plateau;    // per-evaluation schedule
  Rng rng;

  // Loop state that a checkpoint carries.
  int64_t step = 0;
  double best_val = std::numeric_limits<double>::infinity();
  int64_t best_step = 0;
  int64_t bad_evals = 0;
  double log_loss_sum = 0.0;  // since the last metrics row
  int64_t log_loss_count = 0;
  double last_train_loss = std::numeric_limits<double>::quiet_NaN();
  double last_val = std::numeric_limits<double>::quiet_NaN();
  // NonFinitePolicy::Skip: the factor on top of the schedule's lr, the non-finite steps in
  // a row just now, and all of them.
  double lr_scale = 1.0;
  int64_t consecutive_skips = 0;
  int64_t skipped_steps = 0;
  int64_t last_saved_step = -1;  // step of run_dir/last.ckpt, -1 while there is none
  int64_t last_eval_step = -1;   // so that resuming a finished run does not validate twice

  // Curves for the picture (rebuilt from metrics.jsonl on resume).
  plot::Series train_curve{"training loss", {}, {}};
  plot::Series val_curve{"validation loss", {}, {}};

  // Display.
  ProgressStyle style = ProgressStyle::Lines;
  Clock::time_point started = Clock::now();
  Clock::time_point last_draw{};
  int64_t session_start_step = 0;
  double session_units = 0.0;
  bool bar_drawn = false;

  Impl(TrainerOptions o, TrainTask& t) : options(std::move(o)), task(t), rng(options.seed) {}

  std::string path(const std::string& name) const {
    return (std::filesystem::path(options.run_dir) / name).string();
  }

  void build_optimizer() {
    optimizer = make_optimizer<float>(options.optimizer, options.optimizer_options);
    const double lr = optimizer->lr();
    if (options.schedule == "plateau") {
      check(options.warmup_steps == 0, "warm-up is not available with the plateau schedule");
      plateau = std::make_unique<ReduceLrOnPlateau>(lr, plateau_options(options.schedule_options));
    } else {
      nlohmann::json sched = options.schedule_options;
      if (options.warmup_steps > 0) sched["warmup_steps"] = options.warmup_steps;
      schedule = make_schedule(options.schedule, lr, sched);
      optimizer->set_lr(schedule->lr());
    }
  }

  // The schedule's lr times the factor non-finite steps left (NonFinitePolicy::Skip).
  void advance_schedule() {
    if (schedule) optimizer->set_lr(schedule->step() * lr_scale);
  }

  // "(training stopped; ...)": what the user still has.
  std::string kept_note() const {
    if (last_saved_step < 0) return "training stopped; no checkpoint was written yet";
    return concat("training stopped; the last checkpoint, ", path("last.ckpt"), " at step ",
                  last_saved_step, ", is intact");
  }

  // Empty when the loss and every gradient are finite; otherwise names the first culprit.
  std::string non_finite_culprit(double loss) {
    if (!std::isfinite(loss)) return concat("the loss is not finite (", loss, ")");
    const Parameters<float>& p = task.parameters();
    const std::span<const float> g = p.grads();
    bool finite = true;
    for (float v : g) finite = finite && std::isfinite(v);
    if (finite) return {};
    for (const ParamInfo& info : p.infos()) {
      for (size_t i = 0; i < info.numel; ++i) {
        const float v = g[info.offset + i];
        if (!std::isfinite(v)) {
          return concat("the gradient of '", info.name, "' is not finite (", v, " at index ", i, ")");
        }
      }
    }
    return "a gradient is not finite";
  }

  // ---- checkpoints ---------------------------------------------------------------------
  void save_checkpoint(const std::string& file) {
    Checkpoint c;
    c.put_parameters(task.parameters());
    c.put_rng("trainer", rng);
    const OptimizerState<float> os = optimizer->state();
    nlohmann::json buffers = nlohmann::json::array();
    for (const auto& b : os.buffers) {
      buffers.push_back(b.name);
      c.tensors["optim." + b.name] =
          Tensor<float>({static_cast<int64_t>(b.values.size())}, b.values);
    }
    c.meta["optimizer"] = {{"kind", os.kind}, {"step", os.step}, {"lr", os.lr},
                           {"buffers", buffers}};
    auto schedule_json = [](const ScheduleState& s) {
      nlohmann::json values = nlohmann::json::array();
      for (const auto& [k, v] : s.values) values.push_back({k, v});
      return nlohmann::json{{"kind", s.kind}, {"values", values}};
    };
    if (schedule) c.meta["schedule"] = schedule_json(schedule->state());
    if (plateau) c.meta["schedule"] = schedule_json(plateau->state());
    c.meta["trainer"] = {{"step", step},
                         {"best_val", std::isfinite(best_val) ? nlohmann::json(best_val) : nlohmann::json()},
                         {"best_step", best_step},
                         {"bad_evals", bad_evals},
                         {"log_loss_sum", log_loss_sum},
                         {"log_loss_count", log_loss_count},
                         {"lr_scale", lr_scale},
                         {"consecutive_skips", consecutive_skips},
                         {"skipped_steps", skipped_steps},
                         {"last_eval_step", last_eval_step},
                         {"optimizer", options.optimizer},
                         {"schedule", options.schedule}};
    task.save_state(c);
    try {
      c.save(file);  // atomic: on failure the previous file is untouched
    } catch (const Error& e) {
      fail("step ", step, ": ", e.what(), " (training stopped; the previous '",
           std::filesystem::path(file).filename().string(), "' is untouched)");
    }
    if (file == path("last.ckpt")) last_saved_step = step;
  }

  void load_checkpoint(const std::string& file) {
    const Checkpoint c = Checkpoint::load(file);
    check(c.meta.contains("trainer") && c.meta.contains("optimizer"), "checkpoint '", file,
          "' lacks the trainer state");
    const auto& t = c.meta["trainer"];
    check(t.value("optimizer", "") == options.optimizer, "cannot resume '", file, "': it was trained with optimizer '",
          t.value("optimizer", ""), "', this run asks for '", options.optimizer, "'");
    check(t.value("schedule", "") == options.schedule, "cannot resume '", file, "': it was trained with schedule '",
          t.value("schedule", ""), "', this run asks for '", options.schedule, "'");
    task.load_state(c);  // first: it names a model or vocabulary mismatch most clearly
    c.get_parameters(task.parameters());
    c.get_rng("trainer", rng);

    OptimizerState<float> os;
    const auto& oj = c.meta["optimizer"];
    os.kind = oj.at("kind").get<std::string>();
    os.step = oj.at("step").get<JsonInt<int64_t>>().value;
    os.lr = oj.at("lr").get<double>();
    for (const auto& name : oj.at("buffers")) {
      const Tensor<float>& b = c.tensors.at("optim." + name.get<std::string>());
      os.buffers.push_back({name.get<std::string>(), b.values()});
    }
    optimizer->load_state(os);
    if (c.meta.contains("schedule")) {
      ScheduleState s;
      s.kind = c.meta["schedule"].at("kind").get<std::string>();
      for (const auto& kv : c.meta["schedule"].at("values")) {
        s.values.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<double>());
      }
      if (schedule) schedule->load_state(s);
      if (plateau) plateau->load_state(s);
    }
    step = t.at("step").get<JsonInt<int64_t>>().value;
    best_val = t.at("best_val").is_null() ? std::numeric_limits<double>::infinity()
                                          : t.at("best_val").get<double>();
    best_step = t.at("best_step").get<JsonInt<int64_t>>().value;
    bad_evals = t.at("bad_evals").get<JsonInt<int64_t>>().value;
    log_loss_sum = t.at("log_loss_sum").get<double>();
    log_loss_count = t.at("log_loss_count").get<JsonInt<int64_t>>().value;
    lr_scale = t.value("lr_scale", 1.0);  // absent in checkpoints older than these fields
    consecutive_skips = json_int_or(t, "consecutive_skips", int64_t{0});
    skipped_steps = json_int_or(t, "skipped_steps", int64_t{0});
    last_eval_step = json_int_or(t, "last_eval_step", int64_t{-1});
    if (file == path("last.ckpt")) last_saved_step = step;
  }

  // ---- metrics log and picture -----------------------------------------------------------
  void append_metrics(const nlohmann::json& row) {
    std::ofstream out(path("metrics.jsonl"), std::ios::app);
    check(static_cast<bool>(out), "cannot append to '", path("metrics.jsonl"), "'");
    out << row.dump() << "\n";
    check(static_cast<bool>(out), "cannot append to '", path("metrics.jsonl"), "' (disk full?)");
  }

  // On resume: keep the rows up to the checkpoint's step (a later row came from the part
  // of the interrupted run that is about to be repeated), and rebuild the curves.
  void trim_metrics() {
    std::ifstream in(path("metrics.jsonl"));
    std::string kept, line;
    while (std::getline(in, line)) {
      nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
      if (row.is_discarded() || !row.contains("step")) continue;
      if (row["step"].get<JsonInt<int64_t>>().value > step) continue;
      kept += line + "\n";
      record_curve(row);
    }
    write_file_atomic(path("metrics.jsonl"), kept);
  }

  // Diagnostics rows past the checkpoint's step are dropped on resume, as metrics rows.
  void trim_diagnostics() {
    std::ifstream in(path("diagnostics.jsonl"));
    std::string kept, line;
    while (std::getline(in, line)) {
      nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
      if (row.is_discarded() || !row.contains("step")) continue;
      if (row["step"].get<JsonInt<int64_t>>().value > step) continue;
      kept += line + "\n";
    }
    write_file_atomic(path("diagnostics.jsonl"), kept);
  }

  // One diagnostics row (TrainerOptions::diagnostics_every): gradient norms, spectra of the
  // recurrent matrices (the weights this step's gradient was computed at) and the gradient
  // flow the task recorded.
  void write_diagnostics(int64_t at_step, double loss, double norm_before, double norm_after) {
    const auto t0 = Clock::now();
    auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); };
    nlohmann::json row = {{"step", at_step},
                          {"loss", num(loss)},
                          {"grad_norm", num(norm_before)},
                          {"grad_norm_clipped", num(norm_after)}};
    nlohmann::json weights = nlohmann::json::array();
    for (const auto& w : diagnostics::recurrent_stats<float>(task.parameters())) weights.push_back(w.to_json());
    row["weights"] = weights;
    nlohmann::json flow = nlohmann::json::array();
    for (const auto& layer : task.gradient_flow()) {
      nlohmann::json l = nlohmann::json::array();
      for (double v : layer) l.push_back(num(v));
      flow.push_back(l);
    }
    row["dh_norms"] = flow;
    row["spectra_seconds"] = std::chrono::duration<double>(Clock::now() - t0).count();
    std::ofstream out(path("diagnostics.jsonl"), std::ios::app);
    check(static_cast<bool>(out), "cannot append to '", path("diagnostics.jsonl"), "'");
    out << row.dump() << "\n";
    check(static_cast<bool>(out), "cannot append to '", path("diagnostics.jsonl"), "' (disk full?)");
  }

  void record_curve(const nlohmann::json& row) {
    const double x = static_cast<double>(row["step"].get<JsonInt<int64_t>>().value);
    if (row.contains("train_loss") && row["train_loss"].is_number()) {
      train_curve.x.push_back(x);
      train_curve.y.push_back(row["train_loss"].get<double>());
    }
    if (row.contains("val_loss") && row["val_loss"].is_number()) {
      val_curve.x.push_back(x);
      val_curve.y.push_back(row["val_loss"].get<double>());
    }
  }

  void write_curves() {
    plot::LinePlotOptions o;
    o.title = "Training and validation loss";
    o.x_label = "step";
    o.y_label = "loss";
    write_file_atomic(path("curves.svg"), plot::line_plot_svg({train_curve, val_curve}, o));
  }

  // ---- display --------------------------------------------------------------------------
  void show(bool force) {
    if (style == ProgressStyle::Off) return;
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - started).count();
    const double rate = elapsed > 0 ? session_units / elapsed : 0.0;
    const int64_t done = step - session_start_step;
    const double per_step = done > 0 ? elapsed / static_cast<double>(done) : 0.0;
    double left = per_step * static_cast<double>(options.max_steps - step);
    if (options.max_seconds > 0) left = std::min(left, std::max(0.0, options.max_seconds - elapsed));
    char line[256];
    std::snprintf(line, sizeof line,
                  "step %lld/%lld  epoch %.2f  loss %.4f  val %.4f  %s %s/s  lr %.3g  left %s",
                  static_cast<long long>(step), static_cast<long long>(options.max_steps),
                  task.epoch(), last_train_loss, last_val, format_rate(rate).c_str(),
                  options.unit_name.c_str(), optimizer->lr(), format_duration(left).c_str());
    if (style == ProgressStyle::Bar) {
      if (!force && now - last_draw < std::chrono::milliseconds(100)) return;
      last_draw = now;
      const int width = 24;
      const int filled = static_cast<int>(width * static_cast<double>(step) /
                                          static_cast<double>(std::max<int64_t>(1, options.max_steps)));
      std::string bar(static_cast<size_t>(std::clamp(filled, 0, width)), '#');
      bar.resize(static_cast<size_t>(width), '.');
      std::fprintf(stderr, "\r[%s] %s\033[K", bar.c_str(), line);
      bar_drawn = true;
    } else {
      std::fprintf(stderr, "%s\n", line);
    }
    std::fflush(stderr);
  }

  void end_display() {
    if (bar_drawn) std::fprintf(stderr, "\n");
    bar_drawn = false;
  }

  void note(const std::string& message) {
    if (style == ProgressStyle::Off) return;
    end_display();
    std::fprintf(stderr, "%s\n", message.c_str());
  }

  // ---- evaluation -----------------------------------------------------------------------
  // Returns true when training should stop early.
  bool evaluate() {
    const EvalResult r = task.validate();
    last_val = r.loss;
    last_eval_step = step;
    nlohmann::json row = {{"step", step}, {"epoch", task.epoch()}, {"val_loss", r.loss}};
    for (const auto& [k, v] : r.metrics) row["val_" + k] = v;
    append_metrics(row);
    record_curve(row);
    write_curves();
    if (std::isfinite(r.loss) && r.loss < best_val - options.min_delta) {
      best_val = r.loss;
      best_step = step;
      bad_evals = 0;
      save_checkpoint(path("best.ckpt"));
    } else {
      ++bad_evals;
    }
    if (plateau) optimizer->set_lr(plateau->step(r.loss) * lr_scale);
    return options.patience > 0 && bad_evals >= options.patience;
  }
};

Trainer::Trainer(TrainerOptions options, TrainTask& task) : impl_(new Impl(std::move(options), task)) {}
Trainer::~Trainer() { delete impl_; }

TrainSummary Trainer::run() {
  Impl& m = *impl_;
  const TrainerOptions& o = m.options;
  check(!o.run_dir.empty(), "trainer: a run folder is needed (checkpoints, metrics, pictures)");
  check(o.max_steps > 0, "trainer: max_steps must be positive, got ", o.max_steps);
  check(o.eval_every >= 0 && o.checkpoint_every >= 0 && o.patience >= 0 && o.log_every >= 0,
        "trainer: eval_every, checkpoint_every, patience and log_every must be >= 0");
  check(o.clip_norm >= 0 && o.clip_value >= 0, "trainer: clipping thresholds must be >= 0");
  check(o.diagnostics_every >= 0, "trainer: diagnostics_every must be >= 0, got ", o.diagnostics_every);
  check(o.non_finite_lr_factor > 0 && o.non_finite_lr_factor <= 1,
        "trainer: non_finite_lr_factor must be in (0, 1], got ", o.non_finite_lr_factor);
  check(o.max_consecutive_skips >= 0, "trainer: max_consecutive_skips must be >= 0, got ",
        o.max_consecutive_skips);
  std::error_code ec;
  std::filesystem::create_directories(o.run_dir, ec);
  check(!ec, "cannot create run folder '", o.run_dir, "': ", ec.message());
  // A run killed while writing (SIGKILL, power loss) leaves a temporary file beside the
  // target; the target itself is whole, old or new. Clear those leftovers.
  remove_stale_temporaries(o.run_dir);

  m.build_optimizer();
  const std::string last = m.path("last.ckpt");
  if (o.resume) {
    check(std::filesystem::exists(last), "nothing to resume: '", last, "' does not exist");
    m.load_checkpoint(last);
    m.trim_metrics();
    if (o.diagnostics_every > 0) m.trim_diagnostics();
  } else {
    check(!std::filesystem::exists(last), "run folder '", o.run_dir,
          "' already holds a run (last.ckpt): pass --resume to continue it, or choose another "
          "folder");
    write_file_atomic(m.path("metrics.jsonl"), std::string_view());
    if (o.diagnostics_every > 0) write_file_atomic(m.path("diagnostics.jsonl"), std::string_view());
  }

  m.style = o.progress;
  if (m.style == ProgressStyle::Auto) m.style = ::isatty(STDERR_FILENO) ? ProgressStyle::Bar : ProgressStyle::Lines;
  const int64_t log_every = o.log_every > 0 ? o.log_every : std::max<int64_t>(1, o.max_steps / 100);
  m.started = Clock::now();
  m.session_start_step = m.step;
  if (o.resume) m.note(concat("resumed from ", last, " at step ", m.step));

  TrainSummary summary;
  StopSignals signals;
  Parameters<float>& params = m.task.parameters();
  // Resuming a run whose last step was already validated (killed after its checkpoint, or
  // resumed when finished) must not validate it again: the log would gain a row.
  bool evaluated_now = m.step > 0 && m.last_eval_step == m.step;
  while (m.step < o.max_steps) {
    if (signals.requested()) {
      summary.interrupted = true;
      break;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - m.started).count();
    if (o.max_seconds > 0 && elapsed >= o.max_seconds) break;

    params.zero_grad();
    const int64_t this_step = m.step + 1;
    const bool diagnose = o.diagnostics_every > 0 && (this_step == 1 || this_step % o.diagnostics_every == 0);
    if (diagnose) m.task.record_gradient_flow(true);
    StepResult r;
    std::string culprit;
    try {
      r = m.task.train_step(m.rng);
    } catch (const NonFiniteError& e) {
      // The model diverged inside the step (NaN logits, an infinite gradient reaching a layer):
      // the same fault as a non-finite loss, found earlier, and under the same policy.
      culprit = concat("a value inside the step is not finite (", e.what(), ")");
      r.loss = std::numeric_limits<double>::quiet_NaN();
    } catch (const Error& e) {
      m.end_display();
      fail("step ", this_step, ": ", e.what(), " (", m.kept_note(), ")");
    }
    if (diagnose) m.task.record_gradient_flow(false);
    if (culprit.empty()) culprit = m.non_finite_culprit(r.loss);
    double diag_norm_before = std::numeric_limits<double>::quiet_NaN();
    if (diagnose) {
      double s = 0.0;
      for (float g : params.grads()) s += static_cast<double>(g) * static_cast<double>(g);
      diag_norm_before = std::sqrt(s);
      if (!culprit.empty()) m.write_diagnostics(this_step, r.loss, diag_norm_before, diag_norm_before);
    }
    if (!culprit.empty()) {
      // The weights and the optimizer state stay as they were; only the lr changes.
      if (o.non_finite == NonFinitePolicy::Stop) {
        m.end_display();
        fail("step ", this_step, ": ", culprit, " (", m.kept_note(), ")");
      }
      if (m.consecutive_skips >= o.max_consecutive_skips) {
        m.end_display();
        fail("step ", this_step, ": ", culprit, "; ", m.consecutive_skips + 1,
             " non-finite steps in a row, more than the ", o.max_consecutive_skips,
             " allowed to skip (", m.kept_note(), ")");
      }
      ++m.consecutive_skips;
      ++m.skipped_steps;
      m.lr_scale *= o.non_finite_lr_factor;
      m.optimizer->set_lr(m.optimizer->lr() * o.non_finite_lr_factor);
      m.step = this_step;
      m.advance_schedule();
      m.note(concat("step ", this_step, ": ", culprit, "; step skipped, lr now ", m.optimizer->lr()));
      m.append_metrics({{"step", m.step}, {"epoch", m.task.epoch()}, {"skipped", culprit},
                        {"lr", m.optimizer->lr()}});
    } else {
      double grad_norm = std::numeric_limits<double>::quiet_NaN();
      if (o.clip_norm > 0) grad_norm = clip_grad_norm<float>(params.grads(), o.clip_norm);
      if (o.clip_value > 0) clip_grad_value<float>(params.grads(), o.clip_value);
      if (diagnose) {
        double s = 0.0;
        for (float g : params.grads()) s += static_cast<double>(g) * static_cast<double>(g);
        m.write_diagnostics(this_step, r.loss, diag_norm_before, std::sqrt(s));
      }
      m.optimizer->step(params.values(), params.grads());
      m.consecutive_skips = 0;
      m.step = this_step;
      m.advance_schedule();
      m.last_train_loss = r.loss;
      m.log_loss_sum += r.loss;
      ++m.log_loss_count;
      m.session_units += static_cast<double>(r.units);
      if (on_step) on_step(m.step, r);
      if (m.step % log_every == 0) {
        const double seconds = std::chrono::duration<double>(Clock::now() - m.started).count();
        nlohmann::json row = {{"step", m.step},
                              {"epoch", m.task.epoch()},
                              {"train_loss", m.log_loss_sum / static_cast<double>(m.log_loss_count)},
                              {"lr", m.optimizer->lr()},
                              {"units_per_s", seconds > 0 ? m.session_units / seconds : 0.0}};
        if (std::isfinite(grad_norm)) row["grad_norm"] = grad_norm;
        m.append_metrics(row);
        m.record_curve(row);
        m.log_loss_sum = 0.0;
        m.log_loss_count = 0;
        m.show(m.style == ProgressStyle::Lines);
      } else if (m.style == ProgressStyle::Bar) {
        m.show(false);
      }
    }

    evaluated_now = false;
    if (o.eval_every > 0 && m.step % o.eval_every == 0) {
      evaluated_now = true;
      if (m.evaluate()) {
        summary.stopped_early = true;
        m.note(concat("early stop at step ", m.step, ": no improvement in ", o.patience,
                      " evaluations (best ", m.best_val, " at step ", m.best_step, ")"));
        break;
      }
    }
    if (o.checkpoint_every > 0 && m.step % o.checkpoint_every == 0) m.save_checkpoint(last);
  }

  if (!summary.interrupted && !summary.stopped_early && !evaluated_now) m.evaluate();
  m.save_checkpoint(last);
  m.write_curves();
  m.show(true);
  m.end_display();
  if (summary.interrupted) m.note(concat("interrupted at step ", m.step, "; checkpoint written to ", last));

  summary.steps = m.step;
  summary.skipped_steps = m.skipped_steps;
  summary.last_train_loss = m.last_train_loss;
  summary.best_val_loss = m.best_val;
  summary.best_step = m.best_step;
  summary.seconds = std::chrono::duration<double>(Clock::now() - m.started).count();
  summary.units_per_second = summary.seconds > 0 ? m.session_units / summary.seconds : 0.0;
  summary.best_checkpoint = std::filesystem::exists(m.path("best.ckpt")) ? m.path("best.ckpt") : "";
  summary.last_checkpoint = last;
  return summary;
}

}  // namespace rnn
