// `rnn forecast train|eval|predict`: time-series forecasting from any CSV, trained by the
// one trainer, evaluated walk-forward against naive, seasonal naive and least-squares
// autoregression baselines (docs/FORECASTING.md).
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/run_control.h"
#include "rnn/core/error.h"
#include "rnn/core/json_int.h"
#include "rnn/forecast/baselines.h"
#include "rnn/forecast/evaluate.h"
#include "rnn/forecast/quantile.h"
#include "rnn/forecast/task.h"
#include "rnn/io/atomic_file.h"
#include "rnn/io/safetensors.h"
#include "rnn/plot/line_plot.h"
#include "rnn/train/checkpoint.h"
#include "rnn/train/trainer.h"

namespace rnn::cli {
namespace {

namespace fs = std::filesystem;
using namespace rnn::forecast;

// ---- shared: the data options --------------------------------------------------------------

struct DataOptions {
  std::string data;
  std::string targets;
  std::string covariates;
  std::string time_column;
  std::string missing = "error";
};

SeriesSpec series_spec(const DataOptions& d) {
  SeriesSpec spec;
  spec.targets = split_list(d.targets);
  if (spec.targets.empty()) throw UsageError("--target: give at least one column name");
  spec.covariates = split_list(d.covariates);
  spec.time_column = d.time_column;
  spec.missing = missing_policy_from_string(d.missing);
  return spec;
}

Series load(const std::string& path, const SeriesSpec& spec) {
  Series s = load_series(read_csv(path), spec);
  if (s.missing_found > 0) {
    std::cerr << "rnn forecast: " << path << ": " << s.missing_found << " missing value(s) in "
              << "the chosen columns, " << to_string(spec.missing)
              << (s.rows_dropped > 0 ? " (" + std::to_string(s.rows_dropped) + " rows dropped)" : "")
              << "\n";
  }
  return s;
}

nlohmann::json spec_to_json(const SeriesSpec& spec, const std::string& path) {
  return {{"path", path},
          {"targets", spec.targets},
          {"covariates", spec.covariates},
          {"time_column", spec.time_column},
          {"missing", to_string(spec.missing)}};
}

SeriesSpec spec_from_json(const nlohmann::json& j) {
  SeriesSpec spec;
  spec.targets = j.at("targets").get<std::vector<std::string>>();
  spec.covariates = j.at("covariates").get<std::vector<std::string>>();
  spec.time_column = j.at("time_column").get<std::string>();
  spec.missing = missing_policy_from_string(j.at("missing").get<std::string>());
  return spec;
}

// ---- model files ---------------------------------------------------------------------------

// A trained forecaster: parameters with their names, and in __metadata__["forecast"] the
// data specification, split fractions, fitted pipeline and model configuration.
struct LoadedModel {
  nlohmann::json meta;
  std::unique_ptr<Parameters<float>> store;  // the model points into it: never moved
  std::unique_ptr<ForecastModel> model;
  std::string path;
};

std::string model_path_of(const std::string& run) {
  if (fs::is_directory(run)) return (fs::path(run) / "model.safetensors").string();
  return run;
}

LoadedModel load_model(const std::string& run) {
  LoadedModel m;
  m.path = model_path_of(run);
  const SafetensorsFile file = read_safetensors(m.path);
  auto it = file.metadata.find("forecast");
  check(it != file.metadata.end(), m.path, ": not a forecasting model (no __metadata__ 'forecast')");
  try {
    m.meta = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    fail(m.path, ": bad forecast metadata: ", e.what());
  }
  ForecastModelConfig cfg;
  try {
    cfg = ForecastModelConfig::from_json(m.meta.at("model"));
  } catch (const nlohmann::json::exception& e) {
    fail(m.path, ": bad forecast metadata: ", e.what());
  } catch (const Error& e) {
    fail(m.path, ": ", e.what());
  }
  Rng rng(0);
  m.store = std::make_unique<Parameters<float>>();
  m.model = std::make_unique<ForecastModel>(cfg, *m.store, rng);
  for (const auto& info : m.store->infos()) {
    check(file.has(info.name), m.path, ": missing parameter '", info.name, "'");
    const Tensor<float> t = file.get<float>(info.name);
    check(t.shape() == info.shape, m.path, ": parameter '", info.name, "' is ", shape_str(t.shape()),
          ", the recorded configuration needs ", shape_str(info.shape));
    check_finite<float>(t.span(), m.path + ": parameter '" + info.name + "'");
    m.store->set(info.name, t);
  }
  check(file.tensors.size() == m.store->size(), m.path, ": ", file.tensors.size(),
        " tensors, the model has ", m.store->size(), " parameters");
  return m;
}

ForecastData data_for(const LoadedModel& m, const std::string& data_override) {
  const auto& d = m.meta.at("data");
  const std::string path = data_override.empty() ? d.at("path").get<std::string>() : data_override;
  Series s = load(path, spec_from_json(d));
  const auto& sp = m.meta.at("split");
  const Split split = chronological_split(s.rows(), sp.at("val").get<double>(), sp.at("test").get<double>());
  const Pipeline pipeline = Pipeline::from_json(m.meta.at("pipeline"));
  check(static_cast<int64_t>(pipeline.scaler().offset.size()) == s.features(), path, ": ",
        s.features(), " columns chosen, the model was trained on ", pipeline.scaler().offset.size());
  return ForecastData::with_pipeline(std::move(s), split, pipeline);
}

std::string method_name(const ForecastModelConfig& c) {
  if (c.kind == ModelKind::Cnn) return "cnn";
  std::string cell = rnn::to_string(c.cell);
  for (auto& ch : cell) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return cell + "-" + to_string(c.kind);
}

// ---- train ---------------------------------------------------------------------------------

struct TrainOptions {
  DataOptions data;
  int64_t lookback = 24, horizon = 12;
  std::string model = "direct", cell = "gru", scale = "standard", loss = "mse";
  int64_t hidden = 32, layers = 1, proj = 0, channels = 16, kernel = 3;
  double dropout = 0.0, huber_delta = 1.0;
  bool bidirectional = false, log = false;
  int64_t diff = 0, season = 1;
  double val = 0.1, test = 0.1;
  int64_t batch = 32, steps = 2000, eval_every = 100, patience = 10, checkpoint_every = 500;
  double lr = 3e-3, clip = 1.0, max_seconds = 0.0, weight_decay = 0.0;
  std::string optimizer = "adam";
  std::string quantiles;
  uint64_t seed = 1;
  std::string run_dir = "runs/forecast";
  RunControl control;
  bool resume = false, json = false;
};

void train(const TrainOptions& o) {
  const SeriesSpec spec = series_spec(o.data);
  if (o.lookback < 1 || o.horizon < 1) throw UsageError("--lookback and --horizon must be >= 1");
  if (o.diff < 0) throw UsageError("--diff must be >= 0");
  if (o.season < 1) throw UsageError("--season must be >= 1");
  if (o.batch < 1 || o.steps < 1) throw UsageError("--batch and --steps must be >= 1");
  TransformSpec tf;
  tf.log = o.log;
  tf.diff_lag = o.diff;
  tf.scale = scale_kind_from_string(o.scale);

  ForecastModelConfig cfg;
  cfg.kind = model_kind_from_string(o.model);
  cfg.lookback = o.lookback;
  cfg.horizon = o.horizon;
  cfg.cell = cell_mode_from_string(o.cell == "lstm" ? "LSTM" : o.cell == "gru" ? "GRU"
                                   : o.cell == "rnn_relu" ? "RNN_RELU" : "RNN_TANH");
  cfg.hidden_size = o.hidden;
  cfg.num_layers = o.layers;
  cfg.dropout = o.dropout;
  cfg.bidirectional = o.bidirectional;
  cfg.proj_size = o.proj;
  cfg.channels = o.channels;
  cfg.kernel_size = o.kernel;
  cfg.n_targets = static_cast<int64_t>(spec.targets.size());
  cfg.input_size = cfg.n_targets + static_cast<int64_t>(spec.covariates.size());
  try {
    if (!o.quantiles.empty()) cfg.quantiles = parse_quantiles(o.quantiles);
  } catch (const Error& e) {
    throw UsageError(std::string("--") + e.what());
  }
  try {
    cfg.validate();
  } catch (const Error& e) {
    throw UsageError(e.what());
  }

  Series series = load(o.data.data, spec);
  const ForecastData data =
      ForecastData::prepare(std::move(series), o.val, o.test, tf, o.lookback, o.horizon);
  ForecastTaskOptions topt;
  topt.batch_size = o.batch;
  topt.loss = loss_kind_from_string(o.loss);
  topt.huber_delta = o.huber_delta;
  ForecastTask task(data, cfg, topt, o.seed);

  TrainerOptions tr;
  tr.max_steps = o.steps;
  tr.max_seconds = o.max_seconds;
  tr.eval_every = o.eval_every;
  tr.checkpoint_every = o.checkpoint_every;
  tr.patience = o.patience;
  tr.clip_norm = o.clip;
  tr.optimizer = o.optimizer;
  tr.optimizer_options = {{"lr", o.lr}};
  if (o.weight_decay > 0.0) tr.optimizer_options["weight_decay"] = o.weight_decay;
  tr.seed = o.seed;
  tr.run_dir = o.run_dir;
  tr.resume = o.resume;
  tr.unit_name = "win";
  o.control.apply(tr);
  std::cerr << "rnn forecast train: " << data.series.rows() << " rows (train "
            << data.split.train_end << ", validation " << data.split.val_end - data.split.train_end
            << ", test " << data.split.rows - data.split.val_end << "), " << task.train_windows()
            << " training windows, " << task.parameters().numel() << " parameters\n";
  Trainer trainer(tr, task);
  const TrainSummary summary = trainer.run();

  // The best parameters (by validation loss) become the model file.
  Checkpoint::load(summary.best_checkpoint).get_parameters(task.parameters());
  nlohmann::json meta;
  meta["format"] = 1;
  meta["data"] = spec_to_json(spec, o.data.data);
  meta["split"] = {{"val", o.val}, {"test", o.test}, {"rows", data.split.rows},
                   {"train_end", data.split.train_end}, {"val_end", data.split.val_end}};
  meta["pipeline"] = data.pipeline.to_json();
  meta["model"] = cfg.to_json();
  meta["season"] = o.season;
  meta["training"] = {{"loss", cfg.quantiles.empty() ? o.loss : std::string("pinball")},
                      {"huber_delta", o.huber_delta}, {"batch", o.batch},
                      {"steps", o.steps}, {"lr", o.lr}, {"optimizer", o.optimizer},
                      {"clip", o.clip}, {"seed", o.seed}, {"summary", summary.to_json()}};
  SafetensorsFile file;
  file.metadata["forecast"] = meta.dump();
  for (const auto& info : task.parameters().infos()) file.put(info.name, task.parameters().get(info.name));
  const std::string model_path = (fs::path(o.run_dir) / "model.safetensors").string();
  write_safetensors(model_path, file);
  write_file_atomic((fs::path(o.run_dir) / "forecast.json").string(), meta.dump(2) + "\n");

  nlohmann::json out = summary.to_json();
  out["model"] = model_path;
  out["train_windows"] = task.train_windows();
  out["val_windows"] = task.val_windows();
  if (o.json) {
    std::cout << out.dump() << std::endl;
  } else {
    std::cout << "model: " << model_path << "\nsteps: " << summary.steps
              << "\nbest validation loss: " << summary.best_val_loss << " (step "
              << summary.best_step << ")\n";
  }
}

// ---- eval ----------------------------------------------------------------------------------

struct EvalOptions {
  std::vector<std::string> runs;
  std::string data;
  std::string steps;
  int64_t season = 0;  // 0: the first run's
  bool json = false;
};

std::vector<int64_t> parse_steps(const std::string& text, int64_t horizon) {
  std::vector<int64_t> steps;
  if (text.empty()) {
    for (int64_t s : {int64_t{1}, (horizon + 1) / 2, horizon})
      if (steps.empty() || steps.back() != s) steps.push_back(s);
    return steps;
  }
  for (const auto& item : split_list(text)) {
    int64_t s = 0;
    try {
      s = std::stoll(item);
    } catch (const std::exception&) {
      throw UsageError("--steps: '" + item + "' is not a number");
    }
    if (s < 1 || s > horizon)
      throw UsageError("--steps: " + item + " is outside 1.." + std::to_string(horizon) +
                       " (the horizon)");
    steps.push_back(s);
  }
  return steps;
}

void eval(const EvalOptions& o) {
  if (o.runs.empty()) throw UsageError("--run: give at least one run folder or model file");
  std::vector<LoadedModel> models;
  for (const auto& r : o.runs) models.push_back(load_model(r));
  int64_t horizon = models[0].model->config().horizon;
  for (const auto& m : models) horizon = std::min(horizon, m.model->config().horizon);
  const std::vector<int64_t> steps = parse_steps(o.steps, horizon);
  const int64_t season = o.season > 0 ? o.season : json_int_or(models[0].meta, "season", int64_t{1});

  const ForecastData base = data_for(models[0], o.data);
  const int64_t L0 = models[0].model->config().lookback;
  const std::vector<int64_t> origins = walk_forward_origins(base, L0, horizon);
  std::vector<MethodScores> scores;
  for (size_t i = 0; i < models.size(); ++i) {
    const ForecastData d = i == 0 ? base : data_for(models[i], o.data);
    check(d.split.val_end == base.split.val_end && d.split.rows == base.split.rows,
          models[i].path, ": its test part (rows ", d.split.val_end, "..", d.split.rows,
          ") differs from ", models[0].path, "'s (", base.split.val_end, "..", base.split.rows, ")");
    check(d.series.names == base.series.names || d.series.n_targets == base.series.n_targets,
          models[i].path, ": forecasts other targets than ", models[0].path);
    const auto& cfg = models[i].model->config();
    const std::vector<int64_t> oi = walk_forward_origins(d, cfg.lookback, horizon);
    const ForecastModel& net = *models[i].model;
    std::string name = method_name(cfg);
    if (models.size() > 1) name += " (" + fs::path(o.runs[i]).filename().string() + ")";
    if (cfg.quantiles.empty()) {
      const Tensor<double> f = forecast_origins(
          d, oi, cfg.lookback, horizon, [&](const Tensor<float>& x) { return net.forecast(x); });
      scores.push_back(score_forecasts(name, d, oi, f, season));
    } else {
      // Every level; the metrics of the point forecast use the median level.
      const Tensor<double> f = forecast_origins_quantiles(
          d, oi, cfg.lookback, horizon, cfg.levels(),
          [&](const Tensor<float>& x) { return net.forecast_quantiles(x); });
      scores.push_back(score_quantile_forecasts(name, d, oi, f, cfg.quantiles, cfg.point_level(),
                                                season));
    }
  }
  scores.push_back(score_forecasts("naive", base, origins, naive_origins(base, origins, horizon), season));
  if (season > 1) {
    scores.push_back(score_forecasts("seasonal naive", base, origins,
                                     seasonal_naive_origins(base, origins, horizon, season), season));
  }
  {
    const auto train = base.train_origins(L0, horizon);
    const LinearAR ar = LinearAR::fit(gather_inputs(base.z, train, L0),
                                      gather_targets(base.z, train, horizon, base.series.n_targets));
    const Tensor<double> f = forecast_origins(base, origins, L0, horizon,
                                              [&](const Tensor<float>& x) { return ar.predict(x); });
    scores.push_back(score_forecasts("linear AR (least squares)", base, origins, f, season));
  }

  if (o.json) {
    nlohmann::json j;
    j["data"] = base.series.source;
    j["test_rows"] = base.split.rows - base.split.val_end;
    j["season"] = season;
    j["horizon"] = horizon;
    j["methods"] = nlohmann::json::array();
    for (const auto& s : scores) j["methods"].push_back(s.to_json(base.series.names));
    std::cout << j.dump() << std::endl;
    return;
  }
  std::cout << base.series.source << ": walk-forward over the last "
            << base.split.rows - base.split.val_end << " rows (test part), MASE scale: "
            << (season > 1 ? "seasonal naive, season " + std::to_string(season) : std::string("naive"))
            << " on the training part; * = lowest MASE\n"
            << format_table(scores, steps);
  const std::string intervals = format_interval_table(scores, steps);
  if (!intervals.empty()) {
    std::cout << "\nprediction intervals of the quantile models (between the lowest and highest "
                 "level; coverage: share of test values inside; width and pinball in the series' "
                 "units; their point forecast above is the median, or the level nearest 0.5)\n"
              << intervals;
  }
}

// ---- predict -------------------------------------------------------------------------------

struct PredictOptions {
  std::string run, data, output, plot;
  bool holdout = false, json = false;
};

std::string fmt(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

void predict(const PredictOptions& o) {
  const LoadedModel m = load_model(o.run);
  const ForecastData d = data_for(m, o.data);
  const auto& cfg = m.model->config();
  const int64_t K = cfg.horizon, N = d.series.rows(), nt = d.series.n_targets;
  const int64_t Q = cfg.levels(), mid = cfg.point_level();
  const bool has_q = !cfg.quantiles.empty();
  const int64_t origin = o.holdout ? N - K : N;
  check(origin - cfg.lookback >= d.pipeline.first_valid(), "too few rows: ", d.series.source, " has ",
        N, " rows, a forecast", (o.holdout ? " with --holdout" : ""), " needs ",
        d.pipeline.first_valid() + cfg.lookback + (o.holdout ? K : 0));
  // Every level [K, Nt, Q] in the series' units (Q = 1 for a point model).
  const Tensor<double> all = forecast_origins_quantiles(
      d, {origin}, cfg.lookback, K, Q,
      [&](const Tensor<float>& x) { return m.model->forecast_quantiles(x); });
  auto level = [&](int64_t k, int64_t f, int64_t q) { return all.at(0, k, f, q); };
  auto y = [&](int64_t k, int64_t f) { return level(k, f, mid); };  // the point forecast
  for (double v : all.values()) check(std::isfinite(v), "the forecast is not finite (", v, ")");

  std::ostringstream csv;
  csv << "step,time";
  for (int64_t f = 0; f < nt; ++f) {
    const std::string& name = d.series.names[static_cast<size_t>(f)];
    csv << "," << name;
    if (has_q)
      for (double tau : cfg.quantiles) csv << "," << name << "_" << quantile_label(tau);
    if (o.holdout) csv << "," << name << "_actual";
  }
  csv << "\n";
  for (int64_t k = 0; k < K; ++k) {
    csv << k + 1 << "," << (o.holdout ? d.series.time[static_cast<size_t>(origin + k)] : "+" + std::to_string(k + 1));
    for (int64_t f = 0; f < nt; ++f) {
      csv << "," << fmt(y(k, f));
      if (has_q)
        for (int64_t q = 0; q < Q; ++q) csv << "," << fmt(level(k, f, q));
      if (o.holdout) csv << "," << fmt(d.series.at(origin + k, f));
    }
    csv << "\n";
  }
  std::string svg;
  if (!o.plot.empty()) {
    std::vector<plot::Series> lines;
    std::vector<plot::Band> bands;
    const int64_t from = std::max<int64_t>(0, origin - std::max<int64_t>(4 * K, cfg.lookback));
    for (int64_t f = 0; f < nt; ++f) {
      const std::string& name = d.series.names[static_cast<size_t>(f)];
      plot::Series hist{name + " history", {}, {}}, fc{name + " forecast", {}, {}},
          act{name + " actual", {}, {}};
      for (int64_t r = from; r < origin; ++r) {
        hist.x.push_back(static_cast<double>(r + 1));
        hist.y.push_back(d.series.at(r, f));
      }
      fc.x.push_back(static_cast<double>(origin));
      fc.y.push_back(d.series.at(origin - 1, f));
      for (int64_t k = 0; k < K; ++k) {
        fc.x.push_back(static_cast<double>(origin + k + 1));
        fc.y.push_back(y(k, f));
        if (o.holdout) {
          act.x.push_back(static_cast<double>(origin + k + 1));
          act.y.push_back(d.series.at(origin + k, f));
        }
      }
      if (Q >= 2) {  // the interval between the lowest and the highest level
        plot::Band band;
        std::ostringstream label;
        label << name << " " << 100.0 * (cfg.quantiles.back() - cfg.quantiles.front())
              << "% interval";
        band.label = label.str();
        band.color_of = static_cast<int>(lines.size() + 1);  // the forecast line's colour
        for (int64_t k = 0; k < K; ++k) {
          band.x.push_back(static_cast<double>(origin + k + 1));
          band.lower.push_back(level(k, f, 0));
          band.upper.push_back(level(k, f, Q - 1));
        }
        bands.push_back(band);
      }
      lines.push_back(hist);
      lines.push_back(fc);
      if (o.holdout) lines.push_back(act);
    }
    plot::LinePlotOptions po;
    po.title = method_name(cfg) + " forecast, " + std::to_string(K) + " steps from row " +
               std::to_string(origin) + " of " + fs::path(d.series.source).filename().string();
    po.x_label = "row";
    po.y_label = nt == 1 ? d.series.names[0] : "value";
    svg = plot::line_plot_svg(lines, po, bands);
  }
  // Everything is computed; only now are files written (each atomically).
  write_file_atomic(o.output, csv.str());
  if (!o.plot.empty()) write_file_atomic(o.plot, svg);
  if (o.json) {
    nlohmann::json j;
    j["output"] = o.output;
    if (!o.plot.empty()) j["plot"] = o.plot;
    j["origin"] = origin;
    j["forecast"] = nlohmann::json::array();
    for (int64_t k = 0; k < K; ++k) {
      std::vector<double> row;
      for (int64_t f = 0; f < nt; ++f) row.push_back(y(k, f));
      j["forecast"].push_back(row);
    }
    if (has_q) {  // [K][Nt][Q]
      j["quantiles"] = cfg.quantiles;
      j["quantile_forecast"] = nlohmann::json::array();
      for (int64_t k = 0; k < K; ++k) {
        nlohmann::json step = nlohmann::json::array();
        for (int64_t f = 0; f < nt; ++f) {
          std::vector<double> levels;
          for (int64_t q = 0; q < Q; ++q) levels.push_back(level(k, f, q));
          step.push_back(levels);
        }
        j["quantile_forecast"].push_back(step);
      }
    }
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << csv.str();
  }
}

void add_data_options(CLI::App* cmd, DataOptions& d) {
  cmd->add_option("--data", d.data, "CSV file with a header row")->required();
  cmd->add_option("--target", d.targets, "Column(s) to forecast, comma-separated")->required();
  cmd->add_option("--covariates", d.covariates,
                  "Input-only columns, comma-separated (default: none)");
  cmd->add_option("--time", d.time_column, "Time column, kept as labels (default: row numbers)");
  cmd->add_option("--missing", d.missing, "Missing values: error, drop, ffill or interpolate")
      ->capture_default_str()
      ->check(CLI::IsMember({"error", "drop", "ffill", "interpolate"}));
}

}  // namespace

void add_forecast_command(CLI::App& app) {
  CLI::App* fc = app.add_subcommand(
      "forecast", "Time-series forecasting from a CSV: train, evaluate walk-forward against "
                  "baselines, predict (docs/FORECASTING.md)");
  fc->require_subcommand(1);

  auto t = std::make_shared<TrainOptions>();
  CLI::App* tc = fc->add_subcommand("train", "Train a forecaster (the one trainer: validation, "
                                             "early stopping, checkpoints, resume)");
  add_data_options(tc, t->data);
  tc->add_option("--lookback", t->lookback, "Input window length L")->capture_default_str();
  tc->add_option("--horizon", t->horizon, "Steps forecast K")->capture_default_str();
  tc->add_option("--model", t->model, "recursive (many-to-one, fed back), direct (K outputs), "
                                      "seq2seq (encoder-decoder) or cnn (1-D conv baseline)")
      ->capture_default_str()
      ->check(CLI::IsMember({"recursive", "direct", "seq2seq", "cnn"}));
  tc->add_option("--cell", t->cell, "lstm, gru, rnn_tanh or rnn_relu")
      ->capture_default_str()
      ->check(CLI::IsMember({"lstm", "gru", "rnn_tanh", "rnn_relu"}));
  tc->add_option("--hidden", t->hidden, "Hidden size")->capture_default_str();
  tc->add_option("--layers", t->layers, "Stacked layers")->capture_default_str();
  tc->add_option("--dropout", t->dropout, "Dropout between stacked layers")->capture_default_str();
  tc->add_flag("--bidirectional", t->bidirectional, "Bidirectional encoder (recursive, direct)");
  tc->add_option("--proj", t->proj, "LSTM projection size (0 = off)")->capture_default_str();
  tc->add_option("--channels", t->channels, "cnn: channels")->capture_default_str();
  tc->add_option("--kernel", t->kernel, "cnn: kernel size")->capture_default_str();
  tc->add_option("--scale", t->scale, "Scaling fitted on the training part: standard, minmax, none")
      ->capture_default_str()
      ->check(CLI::IsMember({"standard", "minmax", "none"}));
  tc->add_flag("--log", t->log, "Natural log of the targets first (default: off)");
  tc->add_option("--diff", t->diff, "Difference the targets at this lag (0 off, 1, or a season)")
      ->capture_default_str();
  tc->add_option("--season", t->season, "Season length for seasonal naive and MASE (recorded)")
      ->capture_default_str();
  tc->add_option("--val", t->val, "Validation fraction (before the test part)")->capture_default_str();
  tc->add_option("--test", t->test, "Test fraction (the last rows)")->capture_default_str();
  CLI::Option* loss = tc->add_option("--loss", t->loss, "mse, mae or huber (point models)")
      ->capture_default_str()
      ->check(CLI::IsMember({"mse", "mae", "huber"}));
  CLI::Option* huber =
      tc->add_option("--huber-delta", t->huber_delta, "Huber threshold")->capture_default_str();
  tc->add_option("--quantiles", t->quantiles,
                 "Quantile outputs, increasing levels in (0,1), e.g. 0.1,0.5,0.9: trained with "
                 "the pinball loss; the point forecast is the median (or the level nearest 0.5) "
                 "(default: none, one point forecast)")
      ->excludes(loss)
      ->excludes(huber);
  tc->add_option("--batch", t->batch, "Windows per step")->capture_default_str();
  tc->add_option("--steps", t->steps, "Optimizer steps")->capture_default_str();
  tc->add_option("--lr", t->lr, "Learning rate")->capture_default_str();
  tc->add_option("--optimizer", t->optimizer, "sgd, adam, adamw, rmsprop or adagrad")
      ->capture_default_str()
      ->check(CLI::IsMember({"sgd", "adam", "adamw", "rmsprop", "adagrad"}));
  tc->add_option("--weight-decay", t->weight_decay, "Weight decay (0 = off)")->capture_default_str();
  tc->add_option("--clip", t->clip, "Gradient norm clipping (0 = off)")->capture_default_str();
  tc->add_option("--eval-every", t->eval_every, "Validate every N steps")->capture_default_str();
  tc->add_option("--patience", t->patience, "Early stopping after N validations without "
                                            "improvement (0 = off)")
      ->capture_default_str();
  tc->add_option("--checkpoint-every", t->checkpoint_every, "Checkpoint every N steps")
      ->capture_default_str();
  tc->add_option("--max-seconds", t->max_seconds, "Wall-clock budget (0 = none)")
      ->capture_default_str();
  tc->add_option("--seed", t->seed, "Seed (initialisation, batches, dropout)")->capture_default_str();
  tc->add_option("--run-dir", t->run_dir, "Run folder (checkpoints, metrics.jsonl, curves.svg, "
                                          "model.safetensors)")
      ->capture_default_str();
  t->control.add_to(tc);
  tc->add_flag("--resume", t->resume, "Continue from the run folder's last checkpoint");
  tc->add_flag("--json", t->json, "Print one JSON object on stdout");
  tc->callback([t] { train(*t); });

  auto e = std::make_shared<EvalOptions>();
  CLI::App* ec = fc->add_subcommand(
      "eval", "Walk-forward evaluation on the test part: RMSE, MAE, sMAPE, MASE per step for "
              "each run and for naive, seasonal naive and least-squares AR baselines");
  ec->add_option("--run", e->runs, "Run folder or model file (repeat to compare runs)")->required();
  ec->add_option("--data", e->data, "CSV (default: the one the first run was trained on)");
  ec->add_option("--steps", e->steps, "Steps to report, comma-separated (default: 1, K/2, K)");
  ec->add_option("--season", e->season, "Season length (default: the first run's --season)");
  ec->add_flag("--json", e->json, "Print one JSON object on stdout");
  ec->callback([e] { eval(*e); });

  auto p = std::make_shared<PredictOptions>();
  CLI::App* pc = fc->add_subcommand("predict", "Forecast K steps past the end of a CSV");
  pc->add_option("--run", p->run, "Run folder or model file")->required();
  pc->add_option("--data", p->data, "CSV (default: the one the run was trained on)");
  pc->add_option("--output", p->output, "Forecast CSV to write")->required();
  pc->add_option("--plot", p->plot,
                 "SVG picture of history, forecast, interval (quantile models) and actual values");
  pc->add_flag("--holdout", p->holdout,
               "Forecast the last K rows from the rows before them and write the actual values too");
  pc->add_flag("--json", p->json, "Print one JSON object on stdout (else the CSV)");
  pc->callback([p] { predict(*p); });
}

static const CommandRegistrar registrar("forecast", add_forecast_command);

}  // namespace rnn::cli
