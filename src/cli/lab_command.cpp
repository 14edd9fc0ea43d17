// `rnn lab run|sweep`: the gradient-flow lab (docs/GRADIENT_FLOW.md). Long-range tasks
// (adding problem, copy memory, temporal order) trained by the one trainer with gradient
// diagnostics on: ||dL/dh_t|| per step, gradient norms before/after clipping, spectra of the
// recurrent matrices; sweeps over cells, lengths, initial spectral radii and clipping.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "rnn/core/error.h"
#include "rnn/core/json_int.h"
#include "rnn/io/atomic_file.h"
#include "rnn/lab/task.h"
#include "rnn/plot/line_plot.h"
#include "rnn/train/trainer.h"

namespace rnn::cli {
namespace {

namespace fs = std::filesystem;
using namespace rnn::lab;

struct LabOptions {
  std::string task = "adding";
  int64_t length = 100;
  int64_t alphabet = 8, copy_length = 10;
  std::string cell = "lstm";
  int64_t hidden = 64, layers = 1;
  std::string init = "default";
  double radius = 0.0;
  int64_t batch = 32, steps = 2000, eval_every = 200, test_size = 1000, diagnostics_every = 50;
  double lr = 1e-3, clip = 0.0, max_seconds = 0.0;
  std::string optimizer = "adam";
  uint64_t seed = 1;
  std::string run_dir = "runs/lab";
  bool resume = false, json = false, quiet = false;
};

TaskSpec spec_of(const LabOptions& o) {
  TaskSpec s;
  try {
    s.kind = task_kind_from_string(o.task);
    s.length = o.length;
    s.alphabet = o.alphabet;
    s.copy_length = o.copy_length;
    s.validate();
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  return s;
}

LabModelConfig model_of(const LabOptions& o) {
  LabModelConfig m;
  m.cell = o.cell;
  m.hidden_size = o.hidden;
  m.num_layers = o.layers;
  m.init = o.init;
  m.radius = o.radius;
  try {
    m.validate();
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  return m;
}

void check_numbers(const LabOptions& o) {
  if (o.batch < 1 || o.steps < 1 || o.test_size < 1)
    throw UsageError("--batch, --steps and --test-size must be >= 1");
  if (o.eval_every < 0 || o.diagnostics_every < 0)
    throw UsageError("--eval-every and --diagnostics-every must be >= 0");
  if (!(o.lr > 0.0)) throw UsageError("--lr must be > 0");
  if (o.clip < 0.0) throw UsageError("--clip must be >= 0 (0 = off)");
  if (o.max_seconds < 0.0) throw UsageError("--max-seconds must be >= 0");
}

// Reads run_dir/diagnostics.jsonl (empty when there is none).
std::vector<nlohmann::json> read_diagnostics(const std::string& run_dir) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(fs::path(run_dir) / "diagnostics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
    if (!row.is_discarded()) rows.push_back(std::move(row));
  }
  return rows;
}

double number(const nlohmann::json& v) {
  return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

// ||dL/dh_t|| of layer 0 from one diagnostics row, against the distance from the last step
// (T-1-t), divided by the norm at the last step when `relative`.
plot::Series flow_series(const nlohmann::json& row, const std::string& label, bool relative) {
  plot::Series s{label, {}, {}};
  if (!row.contains("dh_norms") || row["dh_norms"].empty()) return s;
  const auto& layer = row["dh_norms"][0];
  const size_t T = layer.size();
  const double last = number(layer[T - 1]);
  for (size_t t = 0; t < T; ++t) {
    s.x.push_back(static_cast<double>(T - 1 - t));
    s.y.push_back(relative ? number(layer[t]) / last : number(layer[t]));
  }
  return s;
}

plot::Series norm_series(const std::vector<nlohmann::json>& rows, const std::string& label) {
  plot::Series s{label, {}, {}};
  for (const auto& r : rows) {
    s.x.push_back(number(r["step"]));
    s.y.push_back(number(r["grad_norm"]));
  }
  return s;
}

// The decay rate per step of ||dL/dh_t|| over the first half of the distance (least-squares
// slope of log norm against distance): < 1 vanishes, > 1 explodes.
double decay_per_step(const nlohmann::json& row) {
  if (!row.contains("dh_norms") || row["dh_norms"].empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto& layer = row["dh_norms"][0];
  const size_t T = layer.size();
  double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
  for (size_t d = 0; d < T; ++d) {
    const double v = number(layer[T - 1 - d]);
    if (!(v > 0.0) || !std::isfinite(v)) continue;
    const double x = static_cast<double>(d), y = std::log(v);
    sx += x; sy += y; sxx += x * x; sxy += x * y; n += 1;
  }
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  return std::exp((n * sxy - sx * sy) / (n * sxx - sx * sx));
}

struct RunResult {
  nlohmann::json json;
  std::vector<nlohmann::json> diagnostics;
};

RunResult run_one(const LabOptions& o, const std::string& run_dir) {
  const TaskSpec spec = spec_of(o);
  const LabModelConfig model = model_of(o);
  check_numbers(o);
  LabTaskOptions to;
  to.batch_size = o.batch;
  to.test_size = o.test_size;
  to.init_seed = o.seed;
  LabTask task(spec, model, to);

  TrainerOptions tr;
  tr.max_steps = o.steps;
  tr.max_seconds = o.max_seconds;
  tr.eval_every = o.eval_every;
  tr.checkpoint_every = 0;
  tr.clip_norm = o.clip;
  tr.optimizer = o.optimizer;
  tr.optimizer_options = {{"lr", o.lr}};
  tr.seed = o.seed;
  tr.run_dir = run_dir;
  tr.resume = o.resume;
  tr.unit_name = "seq";
  tr.diagnostics_every = o.diagnostics_every;
  if (o.quiet) tr.progress = ProgressStyle::Off;

  nlohmann::json out = {{"task", spec.to_json()}, {"model", model.to_json()},
                        {"clip", o.clip}, {"lr", o.lr}, {"batch", o.batch},
                        {"step_budget", o.steps}, {"baseline", spec.baseline_loss()},
                        {"run_dir", run_dir}};
  bool diverged = false;
  try {
    Trainer trainer(tr, task);
    const TrainSummary summary = trainer.run();
    out["summary"] = summary.to_json();
    out["steps"] = summary.steps;
    out["seconds"] = summary.seconds;
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.find("is not finite") == std::string::npos) throw;
    diverged = true;
    out["error"] = what;
  }
  EvalResult final_eval;
  try {
    final_eval = task.validate();
  } catch (const NonFiniteError&) {  // finite but overflowing weights: NaN logits
    final_eval.loss = std::numeric_limits<double>::quiet_NaN();
  }
  const double loss = final_eval.loss;
  out["test_loss"] = std::isfinite(loss) ? nlohmann::json(loss) : nlohmann::json();
  if (final_eval.metrics.count("accuracy")) out["accuracy"] = final_eval.metrics.at("accuracy");
  diverged = diverged || !std::isfinite(loss);
  const bool solved =
      !diverged && (spec.classification() ? final_eval.metrics.at("accuracy") >= 0.99 : loss < 0.01);
  out["solved"] = solved;
  out["diverged"] = diverged;
  out["solved_rule"] = spec.classification() ? "test accuracy >= 0.99" : "test MSE < 0.01";

  RunResult r;
  r.diagnostics = read_diagnostics(run_dir);
  if (!r.diagnostics.empty()) {
    out["diagnostics"] = (fs::path(run_dir) / "diagnostics.jsonl").string();
    const auto& first = r.diagnostics.front();
    out["initial_grad_norm"] = first["grad_norm"];
    if (!first["weights"].empty()) out["initial_radius"] = first["weights"][0]["radius"];
    const double rate = decay_per_step(first);
    out["initial_dh_ratio_per_step"] = std::isfinite(rate) ? nlohmann::json(rate) : nlohmann::json();
    double max_norm = 0.0;
    for (const auto& row : r.diagnostics) {
      const double g = number(row["grad_norm"]);
      max_norm = std::isfinite(g) ? std::max(max_norm, g) : std::numeric_limits<double>::infinity();
    }
    out["max_grad_norm"] = std::isfinite(max_norm) ? nlohmann::json(max_norm) : nlohmann::json();

    plot::LinePlotOptions po;
    po.log_y = true;
    po.title = "||dL/dh_t|| against distance from the last step";
    po.x_label = "T-1-t (steps back from the loss)";
    po.y_label = "||dL/dh_t||";
    std::vector<plot::Series> lines{flow_series(first, "step " + first["step"].dump(), false)};
    if (r.diagnostics.size() > 1) {
      const auto& last = r.diagnostics.back();
      lines.push_back(flow_series(last, "step " + last["step"].dump(), false));
    }
    write_file_atomic((fs::path(run_dir) / "gradient_flow.svg").string(), plot::line_plot_svg(lines, po));
    po.title = "Total gradient norm (before clipping) over training";
    po.x_label = "step";
    po.y_label = "||grad||";
    write_file_atomic((fs::path(run_dir) / "grad_norm.svg").string(),
                      plot::line_plot_svg({norm_series(r.diagnostics, "grad norm")}, po));
  }
  r.json = out;
  return r;
}

std::string fmt(const nlohmann::json& v, int precision = 4) {
  if (!v.is_number()) return "-";
  std::ostringstream s;
  s << std::setprecision(precision) << v.get<double>();
  return s.str();
}

void lab_run(const LabOptions& o) {
  const RunResult r = run_one(o, o.run_dir);
  const auto& j = r.json;
  if (o.json) {
    std::cout << j.dump() << std::endl;
    return;
  }
  std::cout << "task: " << j["task"].dump() << "  model: " << j["model"].dump() << "\n"
            << "test loss: " << fmt(j["test_loss"]) << "  (trivial baseline " << fmt(j["baseline"])
            << ")";
  if (j.contains("accuracy")) std::cout << "  accuracy: " << fmt(j["accuracy"]);
  std::cout << "\nsolved (" << j["solved_rule"].get<std::string>() << "): "
            << (j["solved"].get<bool>() ? "yes" : "no") << (j["diverged"].get<bool>() ? "  DIVERGED" : "")
            << "\n";
  if (j.contains("diagnostics")) {
    std::cout << "initial gradient norm " << fmt(j["initial_grad_norm"]) << ", spectral radius of weight_hh "
              << fmt(j["initial_radius"]) << ", ||dL/dh_t|| ratio per step back "
              << fmt(j["initial_dh_ratio_per_step"]) << "\ndiagnostics: " << j["diagnostics"].get<std::string>()
              << " (pictures: gradient_flow.svg, grad_norm.svg)\n";
  }
}

// ---- sweep -----------------------------------------------------------------------------

struct SweepOptions {
  LabOptions base;
  std::string cells = "rnn_tanh,irnn,lstm,gru";
  std::string lengths = "10,50,100";
  std::string radii = "0";
  std::string clips = "0";
  std::string out_dir = "runs/lab-sweep";
};

std::vector<std::string> split_csv(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

template <class N>
std::vector<N> numbers(const std::string& text, const char* option) {
  std::vector<N> out;
  for (const auto& item : split_csv(text)) {
    try {
      size_t used = 0;
      const double v = std::stod(item, &used);
      if (used != item.size()) throw std::invalid_argument(item);
      out.push_back(static_cast<N>(v));
    } catch (const std::exception&) {
      throw UsageError(std::string(option) + ": '" + item + "' is not a number");
    }
  }
  if (out.empty()) throw UsageError(std::string(option) + ": give at least one value");
  return out;
}

std::string num_label(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// The sweep's pictures from its runs (each run's diagnostics.jsonl): success against T, the
// gradient flow at step 1 and at the end of training for the largest T, and the gradient norm
// over training; writes sweep.json and returns it.
nlohmann::json draw_sweep(const std::string& out_dir, const nlohmann::json& runs) {
  std::set<double> radii, clips;
  int64_t T_flow = 0;
  std::string task;
  for (const auto& r : runs) {
    radii.insert(r["model"]["radius"].get<double>());
    clips.insert(r["clip"].get<double>());
    T_flow = std::max(T_flow, r["task"]["length"].get<JsonInt<int64_t>>().value);
    task = r["task"]["task"].get<std::string>();
  }
  auto key_of = [&](const nlohmann::json& r) {
    std::string key = r["model"]["cell"].get<std::string>();
    const double radius = r["model"]["radius"].get<double>(), clip = r["clip"].get<double>();
    if (radii.size() > 1 || radius > 0) key += " r=" + num_label(radius);
    if (clips.size() > 1) key += clip > 0 ? " clip " + num_label(clip) : " no clip";
    return key;
  };
  std::vector<std::string> order;
  std::map<std::string, plot::Series> success;
  std::vector<plot::Series> flow_first, flow_last, norms;
  for (const auto& r : runs) {
    const std::string key = key_of(r);
    if (!success.count(key)) {
      order.push_back(key);
      success.emplace(key, plot::Series{key, {}, {}});
    }
    const double rel = number(r["test_loss"]) / r["baseline"].get<double>();
    success[key].x.push_back(static_cast<double>(r["task"]["length"].get<JsonInt<int64_t>>().value));
    success[key].y.push_back(std::isfinite(rel) ? rel : 1e3);
    if (r["task"]["length"].get<JsonInt<int64_t>>().value != T_flow) continue;
    const auto rows = read_diagnostics(r["run_dir"].get<std::string>());
    if (rows.empty()) continue;
    flow_first.push_back(flow_series(rows.front(), key, true));
    flow_last.push_back(flow_series(rows.back(), key + " (step " + rows.back()["step"].dump() + ")", true));
    norms.push_back(norm_series(rows, key));
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  check(!ec, "cannot create '", out_dir, "': ", ec.message());
  plot::LinePlotOptions po;
  po.log_y = true;
  std::vector<plot::Series> succ;
  for (const auto& k : order) succ.push_back(success[k]);
  auto path = [&](const char* name) { return (fs::path(out_dir) / name).string(); };
  po.title = task + ": final test loss / trivial baseline against T";
  po.x_label = "T";
  po.y_label = "test loss / baseline";
  write_file_atomic(path("success_vs_T.svg"), plot::line_plot_svg(succ, po));
  po.x_label = "steps back from the loss (T-1-t)";
  po.y_label = "||dL/dh_t|| / ||dL/dh_T-1||";
  po.title = "Gradient reaching each step at step 1 (initialisation), T = " + std::to_string(T_flow);
  write_file_atomic(path("gradient_flow_step1.svg"), plot::line_plot_svg(flow_first, po));
  po.title = "Gradient reaching each step at the end of training, T = " + std::to_string(T_flow);
  write_file_atomic(path("gradient_flow.svg"), plot::line_plot_svg(flow_last, po));
  po.title = "Total gradient norm (before clipping) over training, T = " + std::to_string(T_flow);
  po.x_label = "step";
  po.y_label = "||grad||";
  write_file_atomic(path("grad_norm.svg"), plot::line_plot_svg(norms, po));
  nlohmann::json result = {{"runs", runs},
                           {"pictures", {{"success", path("success_vs_T.svg")},
                                         {"gradient_flow", path("gradient_flow.svg")},
                                         {"gradient_flow_step1", path("gradient_flow_step1.svg")},
                                         {"grad_norm", path("grad_norm.svg")}}}};
  write_file_atomic(path("sweep.json"), result.dump(2) + "\n");
  return result;
}

void lab_sweep(const SweepOptions& so) {
  const std::vector<std::string> cells = split_csv(so.cells);
  if (cells.empty()) throw UsageError("--cells: give at least one cell");
  const auto lengths = numbers<int64_t>(so.lengths, "--lengths");
  const auto radii = numbers<double>(so.radii, "--radii");
  const auto clips = numbers<double>(so.clips, "--clips");
  // Check every configuration before the first (long) run.
  for (const auto& cell : cells) {
    for (int64_t T : lengths) {
      for (double radius : radii) {
        LabOptions o = so.base;
        o.cell = cell;
        o.length = T;
        o.radius = radius;
        spec_of(o);
        model_of(o);
        check_numbers(o);
      }
    }
  }
  for (double c : clips)
    if (c < 0.0) throw UsageError("--clips: values must be >= 0 (0 = off)");

  nlohmann::json runs = nlohmann::json::array();
  for (const auto& cell : cells) {
    for (double radius : radii) {
      for (double clip : clips) {
        for (int64_t T : lengths) {
          LabOptions o = so.base;
          o.cell = cell;
          o.length = T;
          o.radius = radius;
          o.clip = clip;
          o.quiet = true;
          const std::string name = o.task + "_T" + std::to_string(T) + "_" + cell + "_r" +
                                   num_label(radius) + "_clip" + num_label(clip);
          const std::string dir = (fs::path(so.out_dir) / name).string();
          std::cerr << "rnn lab sweep: " << name << " ..." << std::flush;
          RunResult r = run_one(o, dir);
          std::cerr << " test loss " << fmt(r.json["test_loss"]) << (r.json["solved"].get<bool>() ? " solved" : "")
                    << (r.json["diverged"].get<bool>() ? " diverged" : "") << "\n";
          r.json["name"] = name;
          runs.push_back(r.json);
        }
      }
    }
  }
  const nlohmann::json result = draw_sweep(so.out_dir, runs);
  if (so.base.json) {
    std::cout << result.dump() << std::endl;
    return;
  }
  std::cout << std::left << std::setw(44) << "run" << std::setw(11) << "test loss" << std::setw(10)
            << "baseline" << std::setw(9) << "accuracy" << std::setw(8) << "solved" << std::setw(10)
            << "diverged" << std::setw(12) << "max |grad|" << "dh ratio/step\n";
  for (const auto& r : runs) {
    std::cout << std::setw(44) << r["name"].get<std::string>() << std::setw(11) << fmt(r["test_loss"])
              << std::setw(10) << fmt(r["baseline"]) << std::setw(9)
              << (r.contains("accuracy") ? fmt(r["accuracy"], 3) : "-") << std::setw(8)
              << (r["solved"].get<bool>() ? "yes" : "no") << std::setw(10)
              << (r["diverged"].get<bool>() ? "yes" : "no") << std::setw(12)
              << (r.contains("max_grad_norm") ? fmt(r["max_grad_norm"], 3) : "-")
              << (r.contains("initial_dh_ratio_per_step") ? fmt(r["initial_dh_ratio_per_step"]) : "-")
              << "\n";
  }
  std::cout << "pictures:";
  for (const auto& [k, v] : result["pictures"].items()) std::cout << " " << v.get<std::string>();
  std::cout << "\n";
}

void add_model_options(CLI::App* c, LabOptions& o) {
  c->add_option("--task", o.task, "adding, copy or temporal_order")
      ->capture_default_str()
      ->check(CLI::IsMember({"adding", "copy", "temporal_order"}));
  c->add_option("--alphabet", o.alphabet, "copy: data symbols A")->capture_default_str();
  c->add_option("--copy-length", o.copy_length, "copy: symbols to remember K")->capture_default_str();
  c->add_option("--hidden", o.hidden, "Hidden size")->capture_default_str();
  c->add_option("--layers", o.layers, "Stacked layers (||dL/dh_t|| is recorded for each; the pictures show layer 0)")
      ->capture_default_str();
  c->add_option("--init", o.init, "weight_hh init: default, orthogonal or identity (irnn: identity)")
      ->capture_default_str();
  c->add_option("--batch", o.batch, "Sequences per step (fresh ones every step)")->capture_default_str();
  c->add_option("--steps", o.steps, "Step budget")->capture_default_str();
  c->add_option("--lr", o.lr, "Learning rate")->capture_default_str();
  c->add_option("--optimizer", o.optimizer, "sgd, adam, adamw, rmsprop or adagrad")
      ->capture_default_str()
      ->check(CLI::IsMember({"sgd", "adam", "adamw", "rmsprop", "adagrad"}));
  c->add_option("--eval-every", o.eval_every, "Test-set evaluation every N steps (0 = only at the end)")
      ->capture_default_str();
  c->add_option("--test-size", o.test_size, "Sequences in the fixed test set")->capture_default_str();
  c->add_option("--diagnostics-every", o.diagnostics_every,
                "Gradient diagnostics on step 1 and every N steps (0 = off)")
      ->capture_default_str();
  c->add_option("--max-seconds", o.max_seconds, "Wall-clock budget per run (0 = none)")->capture_default_str();
  c->add_option("--seed", o.seed, "Seed (initialisation and batches)")->capture_default_str();
  c->add_flag("--json", o.json, "Print one JSON object on stdout");
}

}  // namespace

void add_lab_command(CLI::App& app) {
  CLI::App* lab = app.add_subcommand(
      "lab", "Gradient-flow lab: long-range tasks, ||dL/dh_t|| per step, gradient norms, "
             "spectra of the recurrent matrices (docs/GRADIENT_FLOW.md)");
  lab->require_subcommand(1);

  auto o = std::make_shared<LabOptions>();
  CLI::App* rc = lab->add_subcommand("run", "Train one model on one task with diagnostics");
  add_model_options(rc, *o);
  rc->add_option("--length,-T", o->length, "T: sequence length (adding, temporal_order) or delay (copy)")
      ->capture_default_str();
  rc->add_option("--cell", o->cell, "rnn_tanh, rnn_relu, irnn, lstm or gru")->capture_default_str();
  rc->add_option("--radius", o->radius, "Scale each gate block of weight_hh to this spectral radius (0 = off)")
      ->capture_default_str();
  rc->add_option("--clip", o->clip, "Gradient norm clipping (0 = off)")->capture_default_str();
  rc->add_option("--run-dir", o->run_dir,
                 "Run folder (metrics.jsonl, diagnostics.jsonl, gradient_flow.svg, grad_norm.svg)")
      ->capture_default_str();
  rc->add_flag("--resume", o->resume, "Continue from the run folder's last checkpoint");
  rc->callback([o] { lab_run(*o); });

  auto s = std::make_shared<SweepOptions>();
  CLI::App* sc = lab->add_subcommand(
      "sweep", "Train every combination of cells, lengths, initial radii and clipping; table, "
               "success_vs_T.svg, gradient_flow.svg, grad_norm.svg and sweep.json in --out");
  add_model_options(sc, s->base);
  sc->add_option("--cells", s->cells, "Comma-separated cells")->capture_default_str();
  sc->add_option("--lengths", s->lengths, "Comma-separated T values")->capture_default_str();
  sc->add_option("--radii", s->radii, "Comma-separated initial spectral radii (0 = as initialised)")
      ->capture_default_str();
  sc->add_option("--clips", s->clips, "Comma-separated clipping norms (0 = off)")->capture_default_str();
  sc->add_option("--out", s->out_dir, "Folder for the runs and the pictures")->capture_default_str();
  sc->callback([s] { lab_sweep(*s); });

  auto plot_dir = std::make_shared<std::string>();
  CLI::App* pc = lab->add_subcommand("plot", "Redraw a finished sweep's pictures from --out/sweep.json "
                                             "and the runs' diagnostics.jsonl");
  pc->add_option("--out", *plot_dir, "The sweep's folder")->required();
  pc->callback([plot_dir] {
    std::ifstream in(fs::path(*plot_dir) / "sweep.json");
    check(static_cast<bool>(in), "cannot read '", (fs::path(*plot_dir) / "sweep.json").string(), "'");
    const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    check(!j.is_discarded() && j.contains("runs"), (fs::path(*plot_dir) / "sweep.json").string(),
          ": not a sweep result");
    const nlohmann::json r = draw_sweep(*plot_dir, j["runs"]);
    for (const auto& [k, v] : r["pictures"].items()) std::cout << v.get<std::string>() << "\n";
  });
}

static const CommandRegistrar registrar("lab", add_lab_command);

}  // namespace rnn::cli
