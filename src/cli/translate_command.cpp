// `rnn translate train|eval|run`: sequence-to-sequence translation (docs/TRANSLATION.md).
//
//   rnn translate train --train FILE --valid FILE [--test FILE] [model, data, optimizer options]
//   rnn translate eval  --model FILE --data FILE [--beam K] [--max-words N]
//   rnn translate run   --model FILE [--input FILE] [--beam K] [--attention-svg FILE]
//
// Data files hold SOURCE<TAB>TARGET lines. Results on stdout (one JSON object with --json),
// progress on stderr; exit 0 on success, 2 on bad usage, 1 on any other failure (one line).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/run_control.h"
#include "cli/usage_checks.h"
#include "rnn/core/error.h"
#include "rnn/io/atomic_file.h"
#include "rnn/kernels/gemm.h"
#include "rnn/plot/heatmap.h"
#include "rnn/seq2seq/bleu.h"
#include "rnn/seq2seq/data.h"
#include "rnn/seq2seq/search.h"
#include "rnn/seq2seq/task.h"
#include "rnn/train/checkpoint.h"
#include "rnn/train/trainer.h"

namespace rnn::cli {
namespace {

using namespace rnn::seq2seq;

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string process_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : all)
    if (c == '\0') c = ' ';
  while (!all.empty() && all.back() == ' ') all.pop_back();
  return all;
}

struct SearchArgs {
  int64_t beam = 1;
  double length_penalty = 1.0;
  int64_t batch = 32;
  int64_t max_length = 200;
};

void add_search_options(CLI::App* app, SearchArgs& s, const char* batch_name = "--batch",
                        const char* batch_help = "Sentences decoded together") {
  app->add_option("--beam", s.beam, "Beam size (1 = greedy)")->capture_default_str();
  app->add_option("--length-penalty", s.length_penalty,
                  "alpha: hypotheses ranked by log-probability / length^alpha (0 = none)")
      ->capture_default_str();
  app->add_option(batch_name, s.batch, batch_help)->capture_default_str();
  app->add_option("--max-length", s.max_length,
                  "Tokens generated at most (also at most 2 x source tokens + 10)")
      ->capture_default_str();
}

TranslateOptions translate_options(const SearchArgs& s) {
  positive(s.beam, "beam");
  usage_check(std::isfinite(s.length_penalty) && s.length_penalty >= 0,
              concat("--length-penalty must be >= 0, got ", s.length_penalty));
  positive(s.batch, "batch");
  positive(s.max_length, "max-length");
  TranslateOptions t;
  t.search.beam = s.beam;
  t.search.length_penalty = s.length_penalty;
  t.batch = s.batch;
  t.max_length = s.max_length;
  return t;
}

struct Scores {
  BleuScore bleu;
  double chrf = 0;
  double seconds = 0;
  nlohmann::json to_json() const {
    return {{"bleu", bleu.score},
            {"chrf", chrf},
            {"precisions", bleu.precisions},
            {"brevity_penalty", bleu.brevity_penalty},
            {"hyp_length", bleu.hyp_length},
            {"ref_length", bleu.ref_length},
            {"seconds", seconds}};
  }
};

Scores score(const Seq2Seq<float>& model, const Tokenizer& target, const EncodedPairs& data,
             const std::vector<TextPair>& text, const TranslateOptions& t,
             std::vector<std::string>* hyps_out = nullptr) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::vector<int64_t>> sources;
  std::vector<std::string> refs, hyps;
  for (size_t i = 0; i < data.pairs.size(); ++i) {
    sources.push_back(data.pairs[i].source);
    refs.push_back(text[i].target);
  }
  for (const Hypothesis& h : translate(model, sources, t)) hyps.push_back(target.decode(h.ids));
  Scores s;
  s.bleu = corpus_bleu(hyps, refs);
  s.chrf = corpus_chrf(hyps, refs);
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (hyps_out) *hyps_out = std::move(hyps);
  return s;
}

std::string score_line(const std::string& name, const Scores& s) {
  return concat(name, ": BLEU ", fmt("%.2f", s.bleu.score), ", chrF ", fmt("%.2f", s.chrf),
                " (", fmt("%.1f", s.bleu.precisions[0]), "/", fmt("%.1f", s.bleu.precisions[1]),
                "/", fmt("%.1f", s.bleu.precisions[2]), "/", fmt("%.1f", s.bleu.precisions[3]),
                ", BP ", fmt("%.3f", s.bleu.brevity_penalty), ", ", s.bleu.hyp_length, "/",
                s.bleu.ref_length, " tokens, ", fmt("%.1f", s.seconds), " s)");
}

std::vector<TextPair> load_pairs(const std::string& path, int64_t max_words, const char* what) {
  std::vector<TextPair> pairs = filter_pairs(read_pairs(path), max_words);
  check(!pairs.empty(), path, ": no ", what, " pairs with at most ", max_words, " words a side");
  return pairs;
}

// ---- train --------------------------------------------------------------------------------

struct TrainArgs {
  std::string train, valid, test;
  int64_t max_words = 0;
  int64_t bpe = 0;
  int64_t min_count = 1;
  int64_t max_vocab = 0;
  std::string cell = "lstm";
  int64_t embed = 128;
  int64_t hidden = 128;
  int64_t layers = 1;
  int64_t decoder_layers = 1;
  bool unidirectional = false;
  std::string attention = "general";
  int64_t attention_size = 0;
  bool no_input_feeding = false;
  double dropout = 0.2;
  double label_smoothing = 0.1;
  int64_t batch = 32;
  int64_t steps = 3000;
  double time = 0.0;
  std::string optimizer = "adam";
  double lr = 2e-3;
  double clip = 5.0;
  int64_t eval_every = 500;
  int64_t valid_bleu = 200;
  int64_t checkpoint_every = 1000;
  int64_t patience = 0;
  std::string run_dir = "runs/translate";
  bool resume = false;
  uint64_t seed = 1;
  int threads = 0;
  RunControl control;
  SearchArgs search{.beam = 5};
  bool json = false;
};

CellMode parse_cell(const std::string& s) {
  if (s == "lstm") return CellMode::LSTM;
  if (s == "gru") return CellMode::GRU;
  if (s == "rnn_tanh" || s == "rnn") return CellMode::RNN_TANH;
  if (s == "rnn_relu") return CellMode::RNN_RELU;
  throw UsageError("--cell must be lstm, gru, rnn_tanh or rnn_relu, got '" + s + "'");
}

void run_train(const TrainArgs& o) {
  non_negative(o.max_words, "max-words");
  non_negative(o.bpe, "bpe");
  positive(o.min_count, "min-count");
  usage_check(o.max_vocab == 0 || o.max_vocab >= 4,
              concat("--max-vocab must be 0 (no limit) or at least 4, got ", o.max_vocab));
  positive(o.batch, "batch");
  positive(o.steps, "steps");
  non_negative(o.eval_every, "eval-every");
  non_negative(o.valid_bleu, "valid-bleu");
  non_negative(o.checkpoint_every, "checkpoint-every");
  non_negative(o.patience, "patience");
  usage_check(std::isfinite(o.lr) && o.lr > 0, concat("--lr must be a positive number, got ", o.lr));
  usage_check(std::isfinite(o.clip) && o.clip >= 0, concat("--clip must be >= 0, got ", o.clip));
  usage_check(std::isfinite(o.label_smoothing) && o.label_smoothing >= 0 && o.label_smoothing < 1,
              concat("--label-smoothing must be in [0, 1), got ", o.label_smoothing));
  usage_check(!o.run_dir.empty(), "--run-dir must not be empty");
  Seq2SeqConfig config;
  config.cell = parse_cell(o.cell);
  try {
    config.attention = attention_score_from_string(o.attention);
  } catch (const Error& e) {
    throw UsageError(concat("--", e.what()));
  }
  const TranslateOptions final_search = translate_options(o.search);
  set_threads(o.threads);

  const std::vector<TextPair> train = load_pairs(o.train, o.max_words, "training");
  const std::vector<TextPair> valid = load_pairs(o.valid, o.max_words, "validation");
  std::vector<TextPair> test;
  if (!o.test.empty()) test = load_pairs(o.test, o.max_words, "test");
  std::vector<std::string> src_lines, tgt_lines;
  for (const TextPair& p : train) {
    src_lines.push_back(p.source);
    tgt_lines.push_back(p.target);
  }
  const TokenizerOptions topts{.bpe_merges = o.bpe, .min_count = o.min_count, .max_size = o.max_vocab};
  const Tokenizer source = Tokenizer::learn(src_lines, topts);
  const Tokenizer target = Tokenizer::learn(tgt_lines, topts);
  const EncodedPairs train_enc = encode_pairs(train, source, target, o.train);
  const EncodedPairs valid_enc = encode_pairs(valid, source, target, o.valid);

  config.src_vocab = source.size();
  config.tgt_vocab = target.size();
  config.embed_size = o.embed;
  config.hidden_size = o.hidden;
  config.encoder_layers = o.layers;
  config.decoder_layers = o.decoder_layers;
  config.bidirectional = !o.unidirectional;
  config.attention_size = o.attention_size;
  config.input_feeding = !o.no_input_feeding;
  config.dropout = o.dropout;
  try {
    config.finalize();
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  Rng init(o.seed);
  Seq2Seq<float> model(config, init);
  Seq2SeqTaskOptions task_options;
  task_options.batch = o.batch;
  task_options.label_smoothing = o.label_smoothing;
  task_options.valid_bleu_pairs = o.valid_bleu;
  Seq2SeqTask task(model, source, target, train_enc, valid_enc, valid, task_options);

  std::cerr << "translate: " << train.size() << " training, " << valid.size() << " validation"
            << (test.empty() ? std::string() : concat(", ", test.size(), " test")) << " pairs"
            << (o.max_words > 0 ? concat(" (at most ", o.max_words, " words a side)") : std::string())
            << "; vocabularies " << source.size() << " / " << target.size() << " ("
            << (o.bpe > 0 ? concat("BPE ", o.bpe, " merges") : std::string("words")) << "); "
            << model.parameters().numel() << " parameters; attention " << o.attention << "\n";

  TrainerOptions t;
  t.max_steps = o.steps;
  t.max_seconds = o.time;
  t.eval_every = o.eval_every;
  t.checkpoint_every = o.checkpoint_every;
  t.patience = o.patience;
  t.clip_norm = o.clip;
  t.optimizer = o.optimizer;
  t.optimizer_options = {{"lr", o.lr}};
  t.seed = o.seed;
  t.run_dir = o.run_dir;
  t.resume = o.resume;
  o.control.apply(t);
  t.unit_name = "tok";

  std::error_code ec;
  std::filesystem::create_directories(o.run_dir, ec);
  check(!ec, "cannot create run folder '", o.run_dir, "': ", ec.message());
  {
    std::ofstream out(std::filesystem::path(o.run_dir) / (o.resume ? "command_resume.json" : "command.json"));
    out << nlohmann::json{{"command", process_command_line()},
                          {"model", config.to_json()},
                          {"train", o.train},
                          {"valid", o.valid},
                          {"test", o.test},
                          {"max_words", o.max_words},
                          {"bpe", o.bpe},
                          {"batch", o.batch},
                          {"lr", o.lr},
                          {"label_smoothing", o.label_smoothing},
                          {"seed", o.seed}}
               .dump(2)
        << "\n";
  }
  Trainer trainer(t, task);
  const TrainSummary summary = trainer.run();
  nlohmann::json result = summary.to_json();
  result["parameters"] = model.parameters().numel();
  result["vocab"] = {source.size(), target.size()};
  result["run_dir"] = o.run_dir;
  if (summary.interrupted) {
    if (o.json) std::cout << result.dump() << "\n";
    else std::cout << "interrupted at step " << summary.steps << "; resume with --resume\n";
    return;
  }
  if (!summary.best_checkpoint.empty())
    Checkpoint::load(summary.best_checkpoint).get_parameters(model.parameters());
  const std::string model_path = (std::filesystem::path(o.run_dir) / "model.safetensors").string();
  save_translator(model_path, model, source, target,
                  {{"train", o.train}, {"steps", summary.steps}, {"best_step", summary.best_step}});
  result["model"] = model_path;
  std::string lines;
  auto evaluate = [&](const std::string& name, const std::string& path,
                      const std::vector<TextPair>& pairs, const EncodedPairs& enc) {
    TranslateOptions greedy = final_search;
    greedy.search.beam = 1;
    const Scores g = score(model, target, enc, pairs, greedy);
    result[name]["greedy"] = g.to_json();
    lines += score_line(name + " greedy", g) + "\n";
    if (final_search.search.beam > 1) {
      const Scores b = score(model, target, enc, pairs, final_search);
      result[name][concat("beam", final_search.search.beam)] = b.to_json();
      lines += score_line(concat(name, " beam ", final_search.search.beam), b) + "\n";
    }
    result[name]["pairs"] = pairs.size();
    (void)path;
  };
  evaluate("valid", o.valid, valid, valid_enc);
  if (!test.empty()) evaluate("test", o.test, test, encode_pairs(test, source, target, o.test));
  if (o.json) {
    std::cout << result.dump() << "\n";
  } else {
    std::cout << lines << "steps " << summary.steps << ", " << fmt("%.1f", summary.seconds)
              << " s, best validation loss " << fmt("%.4f", summary.best_val_loss) << " at step "
              << summary.best_step << "; model " << model_path << "\n";
  }
}

// ---- eval ---------------------------------------------------------------------------------

struct EvalArgs {
  std::string model, data, output;
  int64_t max_words = 0;
  SearchArgs search;
  int threads = 0;
  bool json = false;
};

void run_eval(const EvalArgs& o) {
  non_negative(o.max_words, "max-words");
  const TranslateOptions t = translate_options(o.search);
  set_threads(o.threads);
  const LoadedTranslator loaded = load_translator(o.model);
  const std::vector<TextPair> pairs = load_pairs(o.data, o.max_words, "");
  const EncodedPairs enc = encode_pairs(pairs, loaded.source, loaded.target, o.data);
  std::vector<std::string> hyps;
  const Scores s = score(*loaded.model, loaded.target, enc, pairs, t, &hyps);
  const SequenceLoss loss = evaluate_loss(*loaded.model, enc.pairs, 64);
  if (!o.output.empty()) {
    std::string all;
    for (const std::string& h : hyps) all += h + "\n";
    write_file_atomic(o.output, all);
  }
  const double ce = loss.sum / static_cast<double>(loss.count);
  if (o.json) {
    nlohmann::json j = s.to_json();
    j["model"] = o.model;
    j["data"] = o.data;
    j["pairs"] = pairs.size();
    j["beam"] = t.search.beam;
    j["loss"] = ce;
    j["source_unknown"] = enc.source_unknown;
    j["target_unknown"] = enc.target_unknown;
    std::cout << j.dump() << "\n";
  } else {
    std::cout << score_line(concat(o.data, " (", pairs.size(), " pairs, ",
                                   t.search.beam == 1 ? std::string("greedy") : concat("beam ", t.search.beam), ")"),
                            s)
              << "\ncross-entropy " << fmt("%.4f", ce) << " nats/token; unknown tokens "
              << enc.source_unknown << " source, " << enc.target_unknown << " target\n";
  }
}

// ---- run ----------------------------------------------------------------------------------

struct RunArgs {
  std::string model, input, attention_svg;
  int64_t max_input = 100;
  bool truncate = false;
  SearchArgs search{.beam = 5, .batch = 0};
  int threads = 0;
  bool json = false;
};

void run_run(const RunArgs& o) {
  positive(o.max_input, "max-input");
  non_negative(o.search.batch, "batch");
  SearchArgs sa = o.search;
  const bool from_stdin = o.input.empty() || o.input == "-";
  if (sa.batch == 0) sa.batch = from_stdin && isatty(0) ? 1 : 16;
  const TranslateOptions t = translate_options(sa);
  set_threads(o.threads);
  const LoadedTranslator loaded = load_translator(o.model);
  std::ifstream file;
  if (!from_stdin) {
    std::error_code ec;
    check(std::filesystem::is_regular_file(o.input, ec), o.input, ": no such file");
    file.open(o.input, std::ios::binary);
    check(file.good(), o.input, ": cannot open for reading");
  }
  std::istream& in = from_stdin ? std::cin : file;
  const std::string name = from_stdin ? "stdin" : o.input;
  nlohmann::json outputs = nlohmann::json::array();
  bool pictured = o.attention_svg.empty();
  std::vector<std::vector<int64_t>> pending;
  std::vector<bool> empty_line;
  auto flush = [&] {
    std::vector<std::vector<int64_t>> sources;
    for (const auto& s : pending)
      if (!s.empty()) sources.push_back(s);
    std::vector<Hypothesis> hyps;
    if (!sources.empty()) hyps = translate(*loaded.model, sources, t);
    size_t k = 0;
    for (size_t i = 0; i < pending.size(); ++i) {
      const std::string line = pending[i].empty() ? std::string() : loaded.target.decode(hyps[k++].ids);
      if (o.json) outputs.push_back(line);
      else std::cout << line << "\n" << std::flush;
    }
    pending.clear();
  };
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<int64_t> ids;
    try {
      ids = loaded.source.encode(line);
    } catch (const Error& e) {
      fail(name, ":", number, ": ", e.what());
    }
    if (static_cast<int64_t>(ids.size()) > o.max_input) {
      check(o.truncate, name, ":", number, ": ", ids.size(), " source tokens, more than --max-input ",
            o.max_input, " (raise it, or pass --truncate to cut long lines)");
      std::cerr << name << ":" << number << ": cut from " << ids.size() << " to " << o.max_input
                << " source tokens\n";
      ids.resize(static_cast<size_t>(o.max_input));
    }
    if (!pictured && !ids.empty()) {
      std::vector<std::vector<double>> weights;
      const Hypothesis h = translate_with_attention(*loaded.model, ids, t.max_length, weights);
      check(loaded.model->config().attention != AttentionScore::None,
            "--attention-svg: this model has no attention");
      std::vector<std::string> cols = loaded.source.token_strings(ids);
      std::vector<std::string> rows = loaded.target.token_strings(h.ids);
      plot::HeatmapOptions ho;
      ho.title = "attention: " + line;
      ho.x_label = "source";
      ho.y_label = "translation (greedy)";
      ho.normalize_rows = false;
      ho.annotate = false;
      write_file_atomic(o.attention_svg, plot::heatmap_svg(weights, rows, cols, ho));
      pictured = true;
    }
    pending.push_back(std::move(ids));
    if (static_cast<int64_t>(pending.size()) >= t.batch) flush();
  }
  flush();
  if (o.json) {
    nlohmann::json j{{"model", o.model}, {"input", name}, {"translations", outputs}, {"beam", t.search.beam}};
    if (!o.attention_svg.empty()) j["attention_svg"] = o.attention_svg;
    std::cout << j.dump() << "\n";
  }
}

// ---- registration -------------------------------------------------------------------------

void add_translate_command(CLI::App& app) {
  CLI::App* tr = app.add_subcommand(
      "translate", "Translation: train, score and run encoder-decoder models with attention");
  tr->require_subcommand(1);

  auto a = std::make_shared<TrainArgs>();
  CLI::App* train = tr->add_subcommand(
      "train", "Train on SOURCE<TAB>TARGET pairs with checkpoints, metrics.jsonl and curves.svg in "
               "--run-dir; scores validation (and test) with greedy and beam search at the end");
  train->add_option("--train", a->train, "Training pairs (SOURCE<TAB>TARGET lines)")->required();
  train->add_option("--valid", a->valid, "Validation pairs")->required();
  train->add_option("--test", a->test, "Test pairs, scored at the end");
  train->add_option("--max-words", a->max_words,
                    "Keep pairs with at most N words a side in every file (0 = all)")
      ->capture_default_str();
  train->add_option("--bpe", a->bpe, "BPE merges learned per language (0 = word tokens)")
      ->capture_default_str();
  train->add_option("--min-count", a->min_count, "Tokens seen fewer times become <unk>")
      ->capture_default_str();
  train->add_option("--max-vocab", a->max_vocab, "Vocabulary size limit per language (0 = none)")
      ->capture_default_str();
  train->add_option("--cell", a->cell, "lstm, gru, rnn_tanh or rnn_relu")->capture_default_str();
  train->add_option("--embed", a->embed, "Embedding size")->capture_default_str();
  train->add_option("--hidden", a->hidden, "Encoder hidden size per direction")->capture_default_str();
  train->add_option("--layers", a->layers, "Encoder layers")->capture_default_str();
  train->add_option("--decoder-layers", a->decoder_layers, "Decoder layers")->capture_default_str();
  train->add_flag("--unidirectional", a->unidirectional, "Forward-only encoder");
  train->add_option("--attention", a->attention, "general, dot, additive or none")
      ->capture_default_str();
  train->add_option("--attention-size", a->attention_size, "Additive attention size (0 = decoder size)")
      ->capture_default_str();
  train->add_flag("--no-input-feeding", a->no_input_feeding, "Do not feed the attentional vector back");
  train->add_option("--dropout", a->dropout, "Dropout (embeddings, between layers, before the output)")
      ->capture_default_str();
  train->add_option("--label-smoothing", a->label_smoothing, "Label smoothing")->capture_default_str();
  train->add_option("--batch", a->batch, "Pairs per step")->capture_default_str();
  train->add_option("--steps", a->steps, "Training steps")->capture_default_str();
  train->add_option("--time", a->time, "Wall-clock budget in seconds (0 = none)")->capture_default_str();
  train->add_option("--optimizer", a->optimizer, "sgd, adam, adamw, rmsprop or adagrad")
      ->capture_default_str();
  train->add_option("--lr", a->lr, "Learning rate")->capture_default_str();
  train->add_option("--clip", a->clip, "Gradient norm clipping (0 = off)")->capture_default_str();
  train->add_option("--eval-every", a->eval_every, "Validation every N steps (0 = at the end)")
      ->capture_default_str();
  train->add_option("--valid-bleu", a->valid_bleu,
                    "Greedy BLEU on the first N validation pairs at each validation (0 = off)")
      ->capture_default_str();
  train->add_option("--checkpoint-every", a->checkpoint_every, "Checkpoint every N steps")
      ->capture_default_str();
  train->add_option("--patience", a->patience, "Early stopping after N validations without improvement")
      ->capture_default_str();
  train->add_option("--run-dir", a->run_dir, "Run folder")->capture_default_str();
  train->add_flag("--resume", a->resume, "Continue the run in --run-dir from last.ckpt");
  train->add_option("--seed", a->seed, "Random seed")->capture_default_str();
  train->add_option("--threads", a->threads, "Threads (0 = all cores)")->capture_default_str();
  a->control.add_to(train);
  add_search_options(train, a->search, "--decode-batch");
  train->add_flag("--json", a->json, "Print one JSON object with the results on stdout");
  train->callback([a] { run_train(*a); });

  auto e = std::make_shared<EvalArgs>();
  CLI::App* eval = tr->add_subcommand("eval", "Score a model on SOURCE<TAB>TARGET pairs: BLEU, chrF");
  eval->add_option("--model", e->model, "Checkpoint (.ckpt) or exported model (.safetensors)")->required();
  eval->add_option("--data", e->data, "Pairs to translate and score")->required();
  eval->add_option("--max-words", e->max_words, "Keep pairs with at most N words a side (0 = all)")
      ->capture_default_str();
  eval->add_option("--output", e->output, "Write the translations here, one a line");
  add_search_options(eval, e->search);
  eval->add_option("--threads", e->threads, "Threads (0 = all cores)")->capture_default_str();
  eval->add_flag("--json", e->json, "Print one JSON object on stdout");
  eval->callback([e] { run_eval(*e); });

  auto r = std::make_shared<RunArgs>();
  CLI::App* run = tr->add_subcommand(
      "run", "Translate lines from stdin or a file, printing each batch as soon as it is done");
  run->add_option("--model", r->model, "Checkpoint (.ckpt) or exported model (.safetensors)")->required();
  run->add_option("--input", r->input, "Text file, one sentence a line (default: stdin)");
  run->add_option("--max-input", r->max_input, "Longest source accepted, in tokens")->capture_default_str();
  run->add_flag("--truncate", r->truncate, "Cut longer sources to --max-input instead of failing");
  run->add_option("--attention-svg", r->attention_svg,
                  "Write a picture of the attention weights of the first line (greedy) here");
  add_search_options(run, r->search, "--batch",
                     "Lines decoded together, printed as each batch is done (0 = 1 when stdin "
                     "is a terminal, else 16)");
  run->add_option("--threads", r->threads, "Threads (0 = all cores)")->capture_default_str();
  run->add_flag("--json", r->json, "Print one JSON object with all translations at the end");
  run->callback([r] { run_run(*r); });
}

const CommandRegistrar registrar("translate", add_translate_command);

}  // namespace
}  // namespace rnn::cli
