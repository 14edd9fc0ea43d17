// `rnn asr train|eval|transcribe`: speech recognition with a bidirectional RNN and CTC
// (docs/SPEECH.md).
//
//   rnn asr train      --train LIST --valid LIST [features, model, optimizer options] --run-dir DIR
//   rnn asr eval       --model CKPT --data LIST [--beam N] [--by-speaker]
//   rnn asr transcribe --model CKPT [--beam N] FILE.wav...
//
// LIST is a transcript list (rnn/asr/data.h): "<wav><TAB><transcript>[<TAB><speaker>]".
// Results on stdout (one JSON object with --json), progress on stderr; exit 0 on success,
// 2 on bad usage, 1 on any other failure (one line).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/run_control.h"
#include "cli/usage_checks.h"
#include "rnn/asr/data.h"
#include "rnn/asr/model.h"
#include "rnn/asr/task.h"
#include "rnn/audio/wav.h"
#include "rnn/core/error.h"
#include "rnn/kernels/gemm.h"
#include "rnn/train/checkpoint.h"
#include "rnn/train/trainer.h"

namespace rnn::cli {
namespace {

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * v);
  return buf;
}
std::string process_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : all)
    if (c == '\0') c = ' ';
  return all;
}
std::string rates_line(const ctc::ErrorCounts& e) {
  return concat("WER ", pct(e.wer()), "  CER ", pct(e.cer()), "  string accuracy ",
                pct(e.string_accuracy()), "  (", e.strings, " utterances, ", e.words, " words)");
}

// ---- train --------------------------------------------------------------------------------

struct TrainOptions {
  std::string train, valid, run_dir = "runs/asr";
  // features
  int64_t rate = 8000;
  double window_ms = 25, hop_ms = 10;
  int64_t n_fft = 0, mels = 40;
  double fmin = 20, fmax = 3800;
  std::string norm = "utterance";
  // model
  std::string tokens = "word", cell = "lstm";
  int64_t stack = 3, hidden = 128, layers = 2;
  std::string frontend = "stack";
  int64_t conv_channels = 128, conv_kernel = 0;
  bool unidirectional = false;
  double dropout = 0.0;
  // training
  int64_t batch = 16, steps = 3000, eval_every = 250, checkpoint_every = 500, patience = 0;
  int64_t freq_masks = 2, time_masks = 2;
  double time = 0, lr = 2e-3, clip = 5.0;
  std::string schedule = "constant";
  int64_t warmup = 0;
  bool resume = false, json = false;
  uint64_t seed = 1;
  int threads = 0;
  RunControl control;
};

void run_train(const TrainOptions& o) {
  positive(o.batch, "batch");
  positive(o.steps, "steps");
  positive(o.stack, "stack");
  positive(o.hidden, "hidden");
  positive(o.layers, "layers");
  non_negative(o.eval_every, "eval-every");
  non_negative(o.patience, "patience");
  non_negative(o.freq_masks, "freq-masks");
  non_negative(o.time_masks, "time-masks");
  usage_check(o.tokens == "word" || o.tokens == "char", "--tokens must be word or char, got '" + o.tokens + "'");
  usage_check(o.frontend == "stack" || o.frontend == "conv", "--frontend must be stack or conv, got '" + o.frontend + "'");
  positive(o.conv_channels, "conv-channels");
  non_negative(o.conv_kernel, "conv-kernel");
  usage_check(o.cell == "lstm" || o.cell == "gru", "--cell must be lstm or gru, got '" + o.cell + "'");
  usage_check(std::isfinite(o.lr) && o.lr > 0, concat("--lr must be > 0, got ", o.lr));
  usage_check(o.dropout >= 0 && o.dropout < 1, concat("--dropout must be in [0, 1), got ", o.dropout));
  set_threads(o.threads);

  asr::AsrConfig config;
  config.features.sample_rate = o.rate;
  config.features.window_ms = o.window_ms;
  config.features.hop_ms = o.hop_ms;
  config.features.n_fft = o.n_fft;
  config.features.n_mels = o.mels;
  config.features.fmin = o.fmin;
  config.features.fmax = o.fmax;
  config.stack = o.stack;
  config.conv_frontend = o.frontend == "conv";
  config.conv_channels = o.conv_channels;
  config.conv_kernel = o.conv_kernel == 0 ? 2 * o.stack : o.conv_kernel;
  config.mode = o.cell == "gru" ? CellMode::GRU : CellMode::LSTM;
  config.hidden_size = o.hidden;
  config.num_layers = o.layers;
  config.bidirectional = !o.unidirectional;
  config.dropout = o.layers > 1 ? o.dropout : 0.0;
  features::Normalizer normalizer;
  try {
    config.features.validate();
    usage_check(!config.conv_frontend || config.conv_kernel >= config.stack,
                concat("--conv-kernel ", config.conv_kernel, " must be >= --stack ", config.stack));
    normalizer.mode = features::norm_mode_from_string(o.norm);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }

  const auto train_utts = asr::read_transcripts(o.train);
  const auto valid_utts = asr::read_transcripts(o.valid);
  config.tokens = asr::Tokens::build(o.tokens == "word" ? asr::Tokens::Level::Word : asr::Tokens::Level::Char,
                                     train_utts);
  asr::PrepareOptions prep;
  prep.features = config.features;
  prep.tokens = &config.tokens;
  prep.stack = config.stack;
  asr::FeatureSet train = asr::prepare(train_utts, prep);
  if (normalizer.mode == features::NormMode::Global) normalizer.fit(train.features);
  for (auto& f : train.features) normalizer.apply(f);
  prep.normalizer = &normalizer;
  const asr::FeatureSet valid = asr::prepare(valid_utts, prep);

  Rng init_rng(o.seed);
  asr::AsrModel model(config, init_rng);
  asr::AsrTaskOptions topt;
  topt.batch = o.batch;
  topt.freq_masks = o.freq_masks;
  topt.time_masks = o.time_masks;
  asr::AsrTask task(model, normalizer, train, valid, topt);
  std::cerr << "asr: " << train.frames() << " training frames, " << config.classes()
            << " classes (blank + " << config.tokens.tokens().size() << " " << o.tokens
            << " tokens), " << model.parameters().numel() << " parameters\n";

  TrainerOptions t;
  t.max_steps = o.steps;
  t.max_seconds = o.time;
  t.eval_every = o.eval_every;
  t.checkpoint_every = o.checkpoint_every;
  t.patience = o.patience;
  t.clip_norm = o.clip;
  t.optimizer = "adam";
  t.optimizer_options = {{"lr", o.lr}};
  t.schedule = o.schedule;
  if (o.schedule == "cosine") t.schedule_options["t_max"] = o.steps;
  t.warmup_steps = o.warmup;
  t.seed = o.seed;
  t.run_dir = o.run_dir;
  t.resume = o.resume;
  t.unit_name = "frame";
  o.control.apply(t);

  std::error_code ec;
  std::filesystem::create_directories(o.run_dir, ec);
  check(!ec, "cannot create run folder '", o.run_dir, "': ", ec.message());
  {
    std::ofstream out(std::filesystem::path(o.run_dir) / (o.resume ? "command_resume.json" : "command.json"));
    out << nlohmann::json{{"command", process_command_line()}, {"model", config.to_json()},
                          {"normalizer", normalizer.to_json()}, {"train", o.train},
                          {"valid", o.valid}, {"batch", o.batch}, {"lr", o.lr}, {"clip", o.clip},
                          {"seed", o.seed}}
               .dump(2)
        << "\n";
  }
  Trainer trainer(t, task);
  const TrainSummary summary = trainer.run();
  nlohmann::json result = summary.to_json();
  result["parameters"] = model.parameters().numel();
  result["run_dir"] = o.run_dir;
  if (!summary.best_checkpoint.empty())
    Checkpoint::load(summary.best_checkpoint).get_parameters(model.parameters());
  const asr::AsrEvaluation e = asr::evaluate(model, valid, 32, 1);
  result["valid"] = e.errors.to_json();
  result["valid"]["loss"] = e.loss;
  if (o.json) {
    std::cout << result.dump() << "\n";
  } else {
    std::cout << "validation (best checkpoint, greedy): loss " << e.loss << "  " << rates_line(e.errors) << "\n";
    std::cout << "steps " << summary.steps << ", " << summary.seconds << " s; best model "
              << summary.best_checkpoint << "\n";
  }
}

// ---- eval / transcribe ------------------------------------------------------------------

struct EvalOptions {
  std::string model, data;
  int64_t beam = 1, batch = 32;
  bool by_speaker = false, json = false, show = false;
  int threads = 0;
};

void run_eval(const EvalOptions& o) {
  positive(o.beam, "beam");
  positive(o.batch, "batch");
  set_threads(o.threads);
  const asr::LoadedAsr loaded = asr::load_asr(o.model);
  const asr::AsrConfig& config = loaded.model->config();
  asr::PrepareOptions prep;
  prep.features = config.features;
  prep.normalizer = &loaded.normalizer;
  prep.tokens = &config.tokens;
  prep.stack = config.stack;
  const asr::FeatureSet set = asr::prepare(asr::read_transcripts(o.data), prep);
  const asr::AsrEvaluation e = asr::evaluate(*loaded.model, set, o.batch, o.beam);
  std::map<std::string, ctc::ErrorCounts> per;
  if (o.by_speaker) {
    for (size_t i = 0; i < set.utterances.size(); ++i)
      per[set.utterances[i].speaker.empty() ? "-" : set.utterances[i].speaker].add(
          set.utterances[i].text, e.hypotheses[i]);
  }
  if (o.json) {
    nlohmann::json r = e.errors.to_json();
    r["loss"] = e.loss;
    r["beam"] = o.beam;
    r["model"] = o.model;
    r["data"] = o.data;
    if (o.by_speaker) {
      r["speakers"] = nlohmann::json::object();
      for (const auto& [name, c] : per) r["speakers"][name] = c.to_json();
    }
    std::cout << r.dump() << "\n";
    return;
  }
  if (o.show)
    for (size_t i = 0; i < set.utterances.size(); ++i)
      if (set.utterances[i].text != e.hypotheses[i])
        std::cout << set.utterances[i].path << "\tref: " << set.utterances[i].text
                  << "\thyp: " << e.hypotheses[i] << "\n";
  if (o.by_speaker)
    for (const auto& [name, c] : per) std::cout << name << "\t" << rates_line(c) << "\n";
  std::cout << "all\t" << rates_line(e.errors) << "  CTC loss " << e.loss << "\n";
}

struct TranscribeOptions {
  std::string model;
  std::vector<std::string> files;
  int64_t beam = 1;
  bool json = false;
  int threads = 0;
};

void run_transcribe(const TranscribeOptions& o) {
  positive(o.beam, "beam");
  set_threads(o.threads);
  const asr::LoadedAsr loaded = asr::load_asr(o.model);
  const asr::AsrConfig& config = loaded.model->config();
  std::vector<asr::Utterance> utts;
  for (const std::string& f : o.files) utts.push_back({f, "", "", f});
  asr::PrepareOptions prep;
  prep.features = config.features;
  prep.normalizer = &loaded.normalizer;
  const asr::FeatureSet set = asr::prepare(utts, prep);
  const asr::AsrEvaluation e = asr::evaluate(*loaded.model, set, 16, o.beam);
  if (o.json) {
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = 0; i < o.files.size(); ++i) list.push_back({{"file", o.files[i]}, {"text", e.hypotheses[i]}});
    std::cout << nlohmann::json{{"results", list}, {"model", o.model}, {"beam", o.beam}}.dump() << "\n";
    return;
  }
  for (size_t i = 0; i < o.files.size(); ++i) std::cout << o.files[i] << "\t" << e.hypotheses[i] << "\n";
}

// ---- registration -------------------------------------------------------------------------

void add_asr_command(CLI::App& app) {
  CLI::App* asr = app.add_subcommand(
      "asr", "Speech recognition: log-mel features, bidirectional LSTM/GRU, CTC (train, eval, transcribe)");
  asr->require_subcommand(1);

  auto t = std::make_shared<TrainOptions>();
  CLI::App* train = asr->add_subcommand(
      "train", "Train a recogniser on transcript lists; checkpoints, metrics.jsonl and curves.svg in --run-dir");
  train->add_option("--train", t->train, "Training transcript list (<wav>TAB<text>[TAB<speaker>])")->required();
  train->add_option("--valid", t->valid, "Validation transcript list")->required();
  train->add_option("--run-dir", t->run_dir, "Run folder")->capture_default_str();
  train->add_option("--rate", t->rate, "Model sample rate in Hz (audio is resampled to it)")->capture_default_str();
  train->add_option("--window-ms", t->window_ms, "Analysis window")->capture_default_str();
  train->add_option("--hop-ms", t->hop_ms, "Frame hop")->capture_default_str();
  train->add_option("--n-fft", t->n_fft, "FFT size (0 = smallest power of two >= window)")->capture_default_str();
  train->add_option("--mels", t->mels, "Mel bands")->capture_default_str();
  train->add_option("--fmin", t->fmin, "Lowest mel filter edge, Hz")->capture_default_str();
  train->add_option("--fmax", t->fmax, "Highest mel filter edge, Hz (0 = rate/2)")->capture_default_str();
  train->add_option("--norm", t->norm, "Feature normalisation: utterance, global or none")->capture_default_str();
  train->add_option("--tokens", t->tokens, "Output tokens: word or char")->capture_default_str();
  train->add_option("--stack", t->stack, "Frames joined per model step (shortens the sequence)")->capture_default_str();
  train->add_option("--frontend", t->frontend, "Front end: stack (join --stack frames) or conv (Conv1d, stride --stack, then ReLU)")->capture_default_str();
  train->add_option("--conv-channels", t->conv_channels, "Conv front end: output channels")->capture_default_str();
  train->add_option("--conv-kernel", t->conv_kernel, "Conv front end: kernel in frames (0 = 2 x --stack)")->capture_default_str();
  train->add_option("--cell", t->cell, "lstm or gru")->capture_default_str();
  train->add_option("--hidden", t->hidden, "Hidden size per direction")->capture_default_str();
  train->add_option("--layers", t->layers, "Stacked recurrent layers")->capture_default_str();
  train->add_flag("--unidirectional", t->unidirectional, "One direction only (default: bidirectional)");
  train->add_option("--dropout", t->dropout, "Dropout between recurrent layers")->capture_default_str();
  train->add_option("--batch", t->batch, "Utterances per step")->capture_default_str();
  train->add_option("--steps", t->steps, "Training steps")->capture_default_str();
  train->add_option("--time", t->time, "Wall-clock budget in seconds (0 = none)")->capture_default_str();
  train->add_option("--lr", t->lr, "Adam learning rate")->capture_default_str();
  train->add_option("--schedule", t->schedule, "LR schedule: constant, cosine, ...")->capture_default_str();
  train->add_option("--warmup", t->warmup, "Linear warm-up steps")->capture_default_str();
  train->add_option("--clip", t->clip, "Gradient norm clipping (0 = off)")->capture_default_str();
  train->add_option("--freq-masks", t->freq_masks, "SpecAugment frequency masks per utterance")->capture_default_str();
  train->add_option("--time-masks", t->time_masks, "SpecAugment time masks per utterance")->capture_default_str();
  train->add_option("--eval-every", t->eval_every, "Validation every N steps (0 = at the end)")->capture_default_str();
  train->add_option("--checkpoint-every", t->checkpoint_every, "Checkpoint every N steps")->capture_default_str();
  train->add_option("--patience", t->patience, "Early stopping after N validations without improvement (0 = off)")->capture_default_str();
  train->add_flag("--resume", t->resume, "Continue the run in --run-dir from last.ckpt");
  train->add_option("--seed", t->seed, "Random seed")->capture_default_str();
  train->add_option("--threads", t->threads, "Threads (0 = all cores)")->capture_default_str();
  t->control.add_to(train);
  train->add_flag("--json", t->json, "Print one JSON object with the results on stdout");
  train->callback([t] { run_train(*t); });

  auto e = std::make_shared<EvalOptions>();
  CLI::App* eval = asr->add_subcommand("eval", "Score a recogniser on a transcript list: WER, CER, string accuracy");
  eval->add_option("--model", e->model, "Checkpoint of rnn asr train (best.ckpt)")->required();
  eval->add_option("--data", e->data, "Transcript list")->required();
  eval->add_option("--beam", e->beam, "Beam width (1 = greedy)")->capture_default_str();
  eval->add_option("--batch", e->batch, "Utterances per forward pass")->capture_default_str();
  eval->add_flag("--by-speaker", e->by_speaker, "Also report each speaker / voice (third column)");
  eval->add_flag("--show-errors", e->show, "Print each misrecognised utterance");
  eval->add_option("--threads", e->threads, "Threads (0 = all cores)")->capture_default_str();
  eval->add_flag("--json", e->json, "Print one JSON object on stdout");
  eval->callback([e] { run_eval(*e); });

  auto s = std::make_shared<TranscribeOptions>();
  CLI::App* tr = asr->add_subcommand("transcribe", "Print the text of each WAV file (file TAB text)");
  tr->add_option("--model", s->model, "Checkpoint of rnn asr train (best.ckpt)")->required();
  tr->add_option("files", s->files, "WAV files")->required();
  tr->add_option("--beam", s->beam, "Beam width (1 = greedy)")->capture_default_str();
  tr->add_option("--threads", s->threads, "Threads (0 = all cores)")->capture_default_str();
  tr->add_flag("--json", s->json, "Print one JSON object on stdout");
  tr->callback([s] { run_transcribe(*s); });
}

const CommandRegistrar registrar("asr", add_asr_command);

}  // namespace
}  // namespace rnn::cli
