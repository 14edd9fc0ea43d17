// `rnn lm train|eval|sample`: language modeling end to end (docs/LANGUAGE_MODELING.md).
//
//   rnn lm train  --text FILE [model, data, optimizer options] --run-dir DIR [--resume]
//   rnn lm train  --categories LIST ...   (per-category documents: a conditional model)
//   rnn lm eval   --model FILE --text FILE | --categories LIST [--split all|train|valid|test]
//   rnn lm sample --model FILE [--prime TEXT] [--length N] [--temperature T] [--category NAME] ...
//
// Every command prints its results on stdout (one JSON object with --json) and progress
// on stderr; exit 0 on success, 2 on bad usage, 1 on any other failure (one line).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/run_control.h"
#include "cli/usage_checks.h"
#include "rnn/core/error.h"
#include "rnn/io/atomic_file.h"
#include "rnn/kernels/gemm.h"
#include "rnn/lm/corpus.h"
#include "rnn/lm/document_task.h"
#include "rnn/lm/documents.h"
#include "rnn/lm/evaluation.h"
#include "rnn/lm/model.h"
#include "rnn/lm/model_file.h"
#include "rnn/lm/sampling.h"
#include "rnn/lm/task.h"
#include "rnn/text/utf8.h"
#include "rnn/train/checkpoint.h"
#include "rnn/train/trainer.h"

namespace rnn::cli {
namespace {

// ---- shared -------------------------------------------------------------------------------

void finite_positive(double v, const char* name) {
  usage_check(std::isfinite(v) && v > 0, concat("--", name, " must be a positive number, got ", v));
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string eval_line(const std::string& name, const lm::LmEvaluation& e) {
  return concat(name, ": loss ", fmt("%.4f", e.loss), " nats/token, perplexity ",
                fmt("%.3f", e.perplexity), ", ", fmt("%.4f", e.bits_per_char), " bits/char (",
                e.tokens, " tokens, ", e.unknown, " unknown)");
}

// The command line of this process (for the run folder's command.json).
std::string process_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string out;
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    const std::string arg = all.substr(start, end - start);
    if (!out.empty()) out += ' ';
    const bool plain = !arg.empty() && arg.find_first_of(" \t'\"\\$`!*?;&|<>(){}") == std::string::npos;
    out += plain ? arg : "'" + arg + "'";
    start = end + 1;
  }
  return out;
}

// ---- train --------------------------------------------------------------------------------

struct TrainOptions {
  std::string text;
  std::string categories;  // a category list instead of --text
  int64_t segment = 4096;
  bool unconditional = false;
  std::string level = "char";
  int64_t max_vocab = 0;
  int64_t min_count = 1;
  std::string cell = "lstm";
  int64_t hidden = 256;
  int64_t layers = 2;
  int64_t embed = 64;
  int64_t proj = 0;
  bool tie = false;
  double dropout = 0.0;
  int64_t batch = 32;
  int64_t seq_len = 128;
  int64_t steps = 2000;
  double time = 0.0;
  std::string optimizer = "adam";
  double lr = 2e-3;
  double weight_decay = 0.0;
  double momentum = 0.0;
  std::string schedule = "constant";
  std::string schedule_json;
  int64_t warmup = 0;
  double clip = 5.0;
  int64_t eval_every = 200;
  int64_t val_tokens = 0;
  int64_t checkpoint_every = 500;
  int64_t patience = 0;
  std::string run_dir = "runs/lm";
  bool resume = false;
  uint64_t seed = 1;
  int threads = 0;
  RunControl control;
  int64_t sample_len = 0;
  double temperature = 0.8;
  bool skip_test = false;
  bool json = false;
};

CellMode parse_cell(const std::string& s) {
  if (s == "lstm") return CellMode::LSTM;
  if (s == "gru") return CellMode::GRU;
  if (s == "rnn_tanh" || s == "rnn") return CellMode::RNN_TANH;
  if (s == "rnn_relu") return CellMode::RNN_RELU;
  throw UsageError("--cell must be lstm, gru, rnn_tanh or rnn_relu, got '" + s + "'");
}

void validate(const TrainOptions& o) {
  usage_check(o.text.empty() != o.categories.empty(),
              "give exactly one of --text FILE and --categories LIST");
  usage_check(!o.unconditional || !o.categories.empty(), "--unconditional needs --categories");
  non_negative(o.segment, "segment");
  usage_check(o.level == "char" || o.level == "word",
              "--level must be char or word, got '" + o.level + "'");
  non_negative(o.max_vocab, "max-vocab");
  usage_check(o.max_vocab == 0 || o.max_vocab >= 2,
              concat("--max-vocab must be 0 (no limit) or at least 2, got ", o.max_vocab));
  positive(o.min_count, "min-count");
  parse_cell(o.cell);
  positive(o.hidden, "hidden");
  positive(o.layers, "layers");
  non_negative(o.embed, "embed");
  non_negative(o.proj, "proj");
  usage_check(o.dropout >= 0 && o.dropout < 1, concat("--dropout must be in [0, 1), got ", o.dropout));
  positive(o.batch, "batch");
  positive(o.seq_len, "seq-len");
  positive(o.steps, "steps");
  usage_check(std::isfinite(o.time) && o.time >= 0, concat("--time must be >= 0 seconds, got ", o.time));
  finite_positive(o.lr, "lr");
  usage_check(std::isfinite(o.weight_decay) && o.weight_decay >= 0,
              concat("--weight-decay must be >= 0, got ", o.weight_decay));
  usage_check(std::isfinite(o.momentum) && o.momentum >= 0,
              concat("--momentum must be >= 0, got ", o.momentum));
  non_negative(o.warmup, "warmup");
  usage_check(std::isfinite(o.clip) && o.clip >= 0, concat("--clip must be >= 0 (0 = off), got ", o.clip));
  non_negative(o.eval_every, "eval-every");
  non_negative(o.val_tokens, "val-tokens");
  non_negative(o.checkpoint_every, "checkpoint-every");
  non_negative(o.patience, "patience");
  non_negative(o.sample_len, "sample-len");
  finite_positive(o.temperature, "temperature");
  usage_check(!o.run_dir.empty(), "--run-dir must not be empty");
}

lm::LmConfig model_config(const TrainOptions& o, int64_t vocab_size, int64_t categories) {
  lm::LmConfig config;
  config.vocab_size = vocab_size;
  config.embed_size = o.embed;
  config.rnn.mode = parse_cell(o.cell);
  config.rnn.hidden_size = o.hidden;
  config.rnn.num_layers = o.layers;
  config.rnn.proj_size = o.proj;
  config.rnn.dropout = o.layers > 1 ? o.dropout : 0.0;
  config.tie_weights = o.tie;
  config.dropout = o.dropout;
  config.num_categories = categories;
  try {
    config.finalize();
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  return config;
}

// The run folder's command.json (command_resume.json for a resumed run).
void write_command_json(const TrainOptions& o, const TrainerOptions& topts,
                        const lm::LmConfig& config, const std::string& command_line) {
  std::error_code ec;
  std::filesystem::create_directories(o.run_dir, ec);
  check(!ec, "cannot create run folder '", o.run_dir, "': ", ec.message());
  const std::string name = o.resume ? "command_resume.json" : "command.json";
  nlohmann::json j{{"command", command_line},
                   {"model", config.to_json()},
                   {"batch", o.batch},
                   {"seq_len", o.seq_len},
                   {"optimizer", topts.optimizer},
                   {"optimizer_options", topts.optimizer_options},
                   {"schedule", topts.schedule},
                   {"schedule_options", topts.schedule_options},
                   {"warmup_steps", topts.warmup_steps},
                   {"clip", o.clip},
                   {"seed", o.seed}};
  if (o.categories.empty()) {
    j["text"] = o.text;
  } else {
    j["categories"] = o.categories;
    j["segment"] = o.segment;
    j["unconditional"] = o.unconditional;
  }
  write_file_atomic((std::filesystem::path(o.run_dir) / name).string(), j.dump(2) + "\n");
}

TrainerOptions trainer_options(const TrainOptions& o) {
  TrainerOptions t;
  t.max_steps = o.steps;
  t.max_seconds = o.time;
  t.eval_every = o.eval_every;
  t.checkpoint_every = o.checkpoint_every;
  t.patience = o.patience;
  t.clip_norm = o.clip;
  t.optimizer = o.optimizer;
  t.optimizer_options = {{"lr", o.lr}};
  if (o.weight_decay > 0) t.optimizer_options["weight_decay"] = o.weight_decay;
  if (o.momentum > 0) t.optimizer_options["momentum"] = o.momentum;
  t.schedule = o.schedule;
  if (!o.schedule_json.empty()) {
    t.schedule_options = nlohmann::json::parse(o.schedule_json, nullptr, false);
    usage_check(t.schedule_options.is_object(),
                "--schedule-options must be a JSON object, got '" + o.schedule_json + "'");
  }
  if (o.schedule == "cosine" && !t.schedule_options.contains("t_max"))
    t.schedule_options["t_max"] = o.steps;
  t.warmup_steps = o.warmup;
  t.seed = o.seed;
  t.run_dir = o.run_dir;
  t.resume = o.resume;
  o.control.apply(t);
  t.unit_name = o.level == "char" ? "char" : "tok";
  return t;
}

void run_train_documents(const TrainOptions& o, const std::string& command_line);

void run_train(const TrainOptions& o, const std::string& command_line) {
  validate(o);
  if (!o.categories.empty()) return run_train_documents(o, command_line);
  set_threads(o.threads);
  TrainerOptions topts = trainer_options(o);

  const std::u32string text = text::read_text_file(o.text);
  text::VocabularyOptions vopts;
  vopts.level = text::token_level_from_string(o.level);
  vopts.max_size = o.max_vocab;
  vopts.min_count = o.min_count;
  const lm::Corpus corpus = lm::make_corpus(text, vopts, o.text);
  lm::LmConfig config = model_config(o, corpus.vocab.size(), 0);
  Rng init_rng(o.seed);
  lm::LanguageModel<float> model(config, init_rng);
  lm::LmTaskOptions task_options;
  task_options.batch = o.batch;
  task_options.seq_len = o.seq_len;
  task_options.valid_max_tokens = o.val_tokens;
  lm::LmTask task(model, corpus.vocab, corpus.train, corpus.valid, task_options);

  std::cerr << "lm: " << o.text << ": " << corpus.train.ids.size() << " training, "
            << corpus.valid.ids.size() << " validation, " << corpus.test.ids.size()
            << " test tokens; vocabulary " << corpus.vocab.size() << " (" << o.level << "); "
            << model.parameters().numel() << " parameters; " << o.batch << " streams of "
            << task.streams().stream_length() << ", " << task.streams().windows()
            << " windows of " << o.seq_len << " per pass\n";

  write_command_json(o, topts, config, command_line);

  Trainer trainer(topts, task);
  const TrainSummary summary = trainer.run();
  const double tokens_per_s =
      task.train_seconds() > 0 ? static_cast<double>(task.train_tokens()) / task.train_seconds() : 0;

  nlohmann::json result = summary.to_json();
  result["tokens_per_s"] = tokens_per_s;
  result["vocab_size"] = corpus.vocab.size();
  result["parameters"] = model.parameters().numel();
  result["run_dir"] = o.run_dir;

  // The best model (lowest validation loss) is the one scored and exported.
  if (!summary.best_checkpoint.empty()) {
    Checkpoint::load(summary.best_checkpoint).get_parameters(model.parameters());
  }
  if (!summary.interrupted) {
    lm::EvaluateOptions eo;
    eo.batch = o.batch;
    eo.seq_len = o.seq_len;
    const lm::LmEvaluation valid =
        lm::evaluate(model, corpus.valid.ids, corpus.valid.characters, corpus.valid.unknown, eo);
    result["valid"] = valid.to_json();
    std::string lines = eval_line("validation", valid) + "\n";
    if (!o.skip_test) {
      const lm::LmEvaluation test =
          lm::evaluate(model, corpus.test.ids, corpus.test.characters, corpus.test.unknown, eo);
      result["test"] = test.to_json();
      lines += eval_line("test", test) + "\n";
    }
    const std::string model_path = (std::filesystem::path(o.run_dir) / "model.safetensors").string();
    lm::save_lm_model(model_path, model, corpus.vocab,
                      {{"text", o.text}, {"steps", summary.steps}, {"best_step", summary.best_step},
                       {"valid", result["valid"]}});
    result["model"] = model_path;
    std::string sample;
    if (o.sample_len > 0) {
      lm::GenerateOptions g;
      g.length = o.sample_len;
      g.seed = o.seed;
      g.sampling.temperature = o.temperature;
      sample = lm::generate(model, corpus.vocab, g).text;
      result["sample"] = sample;
    }
    if (!o.json) {
      std::cout << lines;
      std::cout << "steps " << summary.steps << ", " << fmt("%.0f", tokens_per_s)
                << " tokens/s (training), " << fmt("%.1f", summary.seconds) << " s; model "
                << model_path << "\n";
      if (!sample.empty()) std::cout << "sample:\n" << sample << "\n";
    }
  } else if (!o.json) {
    std::cout << "interrupted at step " << summary.steps << "; resume with --resume (checkpoint "
              << summary.last_checkpoint << ")\n";
  }
  if (o.json) std::cout << result.dump() << "\n";
}

// ---- per-category documents ---------------------------------------------------------------

// "  name: loss ..." lines, one per category that has scored tokens.
std::string category_lines(const lm::DocumentEvaluation& e, const std::vector<std::string>& names) {
  std::string out;
  for (size_t c = 0; c < e.categories.size(); ++c)
    if (e.categories[c].tokens > 0) out += eval_line("  " + names[c], e.categories[c]) + "\n";
  return out;
}

nlohmann::json document_json(const lm::DocumentEvaluation& e, const std::vector<std::string>& names) {
  nlohmann::json j = e.all.to_json();
  j["categories"] = nlohmann::json::object();
  for (size_t c = 0; c < e.categories.size(); ++c)
    if (e.categories[c].tokens > 0) j["categories"][names[c]] = e.categories[c].to_json();
  return j;
}

void run_train_documents(const TrainOptions& o, const std::string& command_line) {
  validate(o);
  set_threads(o.threads);
  TrainerOptions topts = trainer_options(o);
  text::VocabularyOptions vopts;
  vopts.level = text::token_level_from_string(o.level);
  vopts.max_size = o.max_vocab;
  vopts.min_count = o.min_count;
  const lm::DocumentCorpus corpus =
      lm::make_document_corpus(lm::read_labeled_texts(o.categories), vopts);
  const auto C = static_cast<int64_t>(corpus.categories.size());
  const lm::LmConfig config = model_config(o, corpus.vocab.size(), o.unconditional ? 0 : C);
  Rng init_rng(o.seed);
  lm::LanguageModel<float> model(config, init_rng);
  lm::DocumentTaskOptions task_options;
  task_options.batch = o.batch;
  task_options.seq_len = o.seq_len;
  task_options.segment = o.segment;
  task_options.valid_max_tokens = o.val_tokens;
  lm::DocumentLmTask task(model, corpus, task_options);
  int64_t train = 0, valid = 0, test = 0;
  for (size_t d = 0; d < corpus.documents.size(); ++d) {
    train += static_cast<int64_t>(corpus.train[d].ids.size());
    valid += static_cast<int64_t>(corpus.valid[d].ids.size());
    test += static_cast<int64_t>(corpus.test[d].ids.size());
  }
  std::cerr << "lm: " << o.categories << ": " << corpus.documents.size() << " documents in " << C
            << " categories; " << train << " training, " << valid << " validation, " << test
            << " test tokens; vocabulary " << corpus.vocab.size() << " (" << o.level << "); "
            << model.parameters().numel() << " parameters ("
            << (o.unconditional ? "unconditional" : "conditional") << "); " << o.batch
            << " streams, " << task.streams().segments().size() << " segments of up to "
            << (o.segment > 0 ? std::to_string(o.segment) : std::string("a whole document"))
            << ", " << task.streams().windows() << " windows of " << o.seq_len << " per pass\n";
  write_command_json(o, topts, config, command_line);

  Trainer trainer(topts, task);
  const TrainSummary summary = trainer.run();
  const double tokens_per_s =
      task.train_seconds() > 0 ? static_cast<double>(task.train_tokens()) / task.train_seconds() : 0;
  nlohmann::json result = summary.to_json();
  result["tokens_per_s"] = tokens_per_s;
  result["vocab_size"] = corpus.vocab.size();
  result["parameters"] = model.parameters().numel();
  result["run_dir"] = o.run_dir;
  result["conditional"] = !o.unconditional;
  result["categories"] = corpus.categories;
  if (!summary.best_checkpoint.empty()) {
    Checkpoint::load(summary.best_checkpoint).get_parameters(model.parameters());
  }
  if (summary.interrupted) {
    if (o.json) {
      std::cout << result.dump() << "\n";
    } else {
      std::cout << "interrupted at step " << summary.steps
                << "; resume with --resume (checkpoint " << summary.last_checkpoint << ")\n";
    }
    return;
  }
  lm::EvaluateOptions eo;
  eo.batch = o.batch;
  eo.seq_len = o.seq_len;
  eo.segment = o.segment;
  const lm::DocumentEvaluation v = lm::evaluate_documents(model, corpus.valid, C, eo);
  result["valid"] = document_json(v, corpus.categories);
  std::string lines = eval_line("validation", v.all) + "\n" + category_lines(v, corpus.categories);
  if (!o.skip_test) {
    const lm::DocumentEvaluation t = lm::evaluate_documents(model, corpus.test, C, eo);
    result["test"] = document_json(t, corpus.categories);
    lines += eval_line("test", t.all) + "\n" + category_lines(t, corpus.categories);
  }
  const std::string model_path = (std::filesystem::path(o.run_dir) / "model.safetensors").string();
  lm::save_lm_model(model_path, model, corpus.vocab,
                    {{"categories_list", o.categories},
                     {"segment", o.segment},
                     {"steps", summary.steps},
                     {"best_step", summary.best_step},
                     {"valid", result["valid"]}},
                    corpus.categories);
  result["model"] = model_path;
  if (o.sample_len > 0) {  // one sample per category (the first 4 only, to stay short)
    nlohmann::json samples = nlohmann::json::object();
    std::string printed;
    for (int64_t c = 0; c < C && c < 4 && !o.unconditional; ++c) {
      lm::GenerateOptions g;
      g.length = o.sample_len;
      g.seed = o.seed;
      g.category = c;
      g.sampling.temperature = o.temperature;
      const std::string text = lm::generate(model, corpus.vocab, g).text;
      samples[corpus.categories[static_cast<size_t>(c)]] = text;
      printed += "sample (" + corpus.categories[static_cast<size_t>(c)] + "):\n" + text + "\n";
    }
    result["samples"] = samples;
    lines += printed;
  }
  if (o.json) {
    std::cout << result.dump() << "\n";
  } else {
    std::cout << lines << "steps " << summary.steps << ", " << fmt("%.0f", tokens_per_s)
              << " tokens/s (training), " << fmt("%.1f", summary.seconds) << " s; model "
              << model_path << "\n";
  }
}

// ---- eval ---------------------------------------------------------------------------------

struct EvalOptions {
  std::string model;
  std::string text;
  std::string categories;
  int64_t segment = 4096;
  std::string split = "all";
  int64_t batch = 16;
  int64_t seq_len = 128;
  int64_t max_tokens = 0;
  int threads = 0;
  bool json = false;
};

void run_eval_documents(const EvalOptions& o, const lm::LoadedLm& loaded) {
  const std::vector<lm::LabeledText> docs = lm::read_labeled_texts(o.categories);
  // The model's category names fix the ids; an unconditional model without names takes
  // the list's own.
  const std::vector<std::string> names =
      loaded.categories.empty() ? lm::category_names(docs) : loaded.categories;
  const lm::DocumentCorpus corpus = lm::map_document_corpus(docs, loaded.vocab, names);
  std::vector<lm::DocumentPart> parts;
  for (size_t d = 0; d < corpus.documents.size(); ++d) {
    // "all": a document as one part (its three parts joined back).
    if (o.split == "all") {
      lm::DocumentPart p = corpus.train[d];
      for (const lm::DocumentPart* q : {&corpus.valid[d], &corpus.test[d]}) {
        p.ids.insert(p.ids.end(), q->ids.begin(), q->ids.end());
        p.unknown += q->unknown;
        p.characters += q->characters;
      }
      parts.push_back(std::move(p));
    } else {
      parts.push_back(o.split == "train" ? corpus.train[d]
                      : o.split == "valid" ? corpus.valid[d]
                                           : corpus.test[d]);
    }
  }
  lm::EvaluateOptions eo;
  eo.batch = o.batch;
  eo.seq_len = o.seq_len;
  eo.max_tokens = o.max_tokens;
  eo.segment = o.segment;
  const lm::DocumentEvaluation r =
      lm::evaluate_documents(*loaded.model, parts, static_cast<int64_t>(names.size()), eo);
  if (o.json) {
    nlohmann::json j = document_json(r, names);
    j["model"] = o.model;
    j["categories_list"] = o.categories;
    j["split"] = o.split;
    j["segment"] = o.segment;
    std::cout << j.dump() << "\n";
  } else {
    std::cout << eval_line(o.categories + (o.split == "all" ? "" : " (" + o.split + ")"), r.all)
              << "\n"
              << category_lines(r, names);
  }
}

void run_eval(const EvalOptions& o) {
  usage_check(o.split == "all" || o.split == "train" || o.split == "valid" || o.split == "test",
              "--split must be all, train, valid or test, got '" + o.split + "'");
  usage_check(o.text.empty() != o.categories.empty(),
              "give exactly one of --text FILE and --categories LIST");
  positive(o.batch, "batch");
  positive(o.seq_len, "seq-len");
  non_negative(o.max_tokens, "max-tokens");
  non_negative(o.segment, "segment");
  set_threads(o.threads);
  const lm::LoadedLm loaded = lm::load_lm(o.model);
  if (!o.categories.empty()) return run_eval_documents(o, loaded);
  usage_check(loaded.model->config().num_categories == 0,
              "this model is conditional: score it on per-category documents with --categories LIST");
  const std::u32string text = text::read_text_file(o.text);
  const text::TokenStream stream = text::tokenize(text, loaded.vocab.level());
  size_t begin = 0, end = stream.ids.size();
  if (o.split != "all") {
    const lm::SplitRanges r = lm::split_ranges(stream.ids.size(), 0.05, 0.05, o.text);
    if (o.split == "train") end = r.train_end;
    if (o.split == "valid") begin = r.train_end, end = r.valid_end;
    if (o.split == "test") begin = r.valid_end;
  }
  const text::Vocabulary::Encoded e = loaded.vocab.map(stream, begin, end);
  check(e.ids.size() >= 2, o.text, ": ", e.ids.size(), " tokens are too few to score");
  const int64_t characters =
      loaded.vocab.level() == text::TokenLevel::Char
          ? static_cast<int64_t>(e.ids.size())
          : static_cast<int64_t>(std::llround(static_cast<double>(stream.characters) *
                                              static_cast<double>(e.ids.size()) /
                                              static_cast<double>(stream.ids.size())));
  lm::EvaluateOptions eo;
  eo.batch = o.batch;
  eo.seq_len = o.seq_len;
  eo.max_tokens = o.max_tokens;
  const lm::LmEvaluation r = lm::evaluate(*loaded.model, e.ids, characters, e.unknown, eo);
  if (o.json) {
    nlohmann::json j = r.to_json();
    j["model"] = o.model;
    j["text"] = o.text;
    j["split"] = o.split;
    std::cout << j.dump() << "\n";
  } else {
    std::cout << eval_line(o.text + (o.split == "all" ? "" : " (" + o.split + ")"), r) << "\n";
  }
}

// ---- sample -------------------------------------------------------------------------------

struct SampleOptions {
  std::string model;
  std::string prime;
  int64_t length = 500;
  double temperature = 1.0;
  int64_t top_k = 0;
  double top_p = 1.0;
  bool greedy = false;
  uint64_t seed = 1;
  std::string category;
  int threads = 0;
  bool json = false;
};

void run_sample(const SampleOptions& o) {
  non_negative(o.length, "length");
  finite_positive(o.temperature, "temperature");
  non_negative(o.top_k, "top-k");
  usage_check(std::isfinite(o.top_p) && o.top_p > 0 && o.top_p <= 1,
              concat("--top-p must be in (0, 1], got ", o.top_p));
  set_threads(o.threads);
  try {
    text::decode_utf8(o.prime, "--prime");
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  const lm::LoadedLm loaded = lm::load_lm(o.model);
  lm::GenerateOptions g;
  g.prime = o.prime;
  g.length = o.length;
  g.seed = o.seed;
  g.sampling.temperature = o.temperature;
  g.sampling.top_k = o.top_k;
  g.sampling.top_p = o.top_p;
  g.sampling.greedy = o.greedy;
  const bool conditional = loaded.model->config().num_categories > 0;
  if (conditional) {
    usage_check(!o.category.empty(),
                concat("this model is conditional: give --category NAME (one of its ",
                       loaded.categories.size(), " categories)"));
    try {
      g.category = lm::category_id(loaded, o.category);
    } catch (const Error& e) {
      throw UsageError(concat("--category: ", e.what()));
    }
  } else {
    usage_check(o.category.empty(), "--category is only for conditional models");
  }
  if (o.json) {
    const lm::Generated out = lm::generate(*loaded.model, loaded.vocab, g);
    std::cout << nlohmann::json{{"prime", o.prime},
                                {"text", out.text},
                                {"tokens", out.ids.size()},
                                {"prime_tokens", out.prime_tokens},
                                {"prime_unknown", out.prime_unknown},
                                {"category", o.category},
                                {"seed", o.seed}}
                     .dump()
              << "\n";
    return;
  }
  std::cout << o.prime << std::flush;
  lm::generate(*loaded.model, loaded.vocab, g,
               [](const std::string& piece) { std::cout << piece << std::flush; });
  std::cout << "\n";
}

// ---- registration -------------------------------------------------------------------------

void add_lm_command(CLI::App& app) {
  CLI::App* lm = app.add_subcommand(
      "lm", "Language modeling: train, evaluate and sample character- and word-level models");
  lm->require_subcommand(1);

  // A later repetition of an option wins (scripts append overrides).
  lm->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto t = std::make_shared<TrainOptions>();
  CLI::App* train = lm->add_subcommand(
      "train",
      "Train a language model on a UTF-8 text file (last 5% test, 5% before it validation), "
      "with checkpoints, metrics.jsonl and curves.svg in --run-dir; prints validation and test "
      "scores");
  train->add_option("--text", t->text, "UTF-8 text file");
  train->add_option("--categories", t->categories,
                    "Instead of --text: a category list, lines 'category<TAB>path' (paths relative "
                    "to the list); each document split 90/5/5 within itself; trains a "
                    "conditional model (initial state from the category)");
  train->add_option("--segment", t->segment,
                    "With --categories: tokens per segment, each started from the category state "
                    "(0 = whole documents)")
      ->capture_default_str();
  train->add_flag("--unconditional", t->unconditional,
                  "With --categories: train the same model without categories on the same "
                  "streams (state starts at zero): the baseline");
  train->add_option("--level", t->level, "Tokens: char (code points) or word")->capture_default_str();
  train->add_option("--max-vocab", t->max_vocab,
                    "Vocabulary size limit, <unk> included (0 = no limit)")->capture_default_str();
  train->add_option("--min-count", t->min_count,
                    "Tokens seen fewer times in the training part become <unk>")->capture_default_str();
  train->add_option("--cell", t->cell, "lstm, gru, rnn_tanh or rnn_relu")->capture_default_str();
  train->add_option("--hidden", t->hidden, "Hidden size")->capture_default_str();
  train->add_option("--layers", t->layers, "Stacked recurrent layers")->capture_default_str();
  train->add_option("--embed", t->embed, "Embedding size (0 = one-hot inputs)")->capture_default_str();
  train->add_option("--proj", t->proj, "LSTM projection size (0 = off)")->capture_default_str();
  train->add_flag("--tie", t->tie, "Tie input and output embeddings (needs --embed = hidden or proj)");
  train->add_option("--dropout", t->dropout,
                    "Dropout on embeddings, between layers and on the recurrent output")
      ->capture_default_str();
  train->add_option("--batch", t->batch, "Parallel streams")->capture_default_str();
  train->add_option("--seq-len", t->seq_len, "Steps per truncated-BPTT window")->capture_default_str();
  train->add_option("--steps", t->steps, "Training steps (optimizer updates)")->capture_default_str();
  train->add_option("--time", t->time, "Wall-clock budget in seconds (0 = none)")->capture_default_str();
  train->add_option("--optimizer", t->optimizer, "sgd, adam, adamw, rmsprop or adagrad")
      ->capture_default_str();
  train->add_option("--lr", t->lr, "Learning rate")->capture_default_str();
  train->add_option("--weight-decay", t->weight_decay, "Weight decay")->capture_default_str();
  train->add_option("--momentum", t->momentum, "Momentum (sgd, rmsprop)")->capture_default_str();
  train->add_option("--schedule", t->schedule,
                    "LR schedule: constant, step, exponential, cosine (t_max = --steps) or plateau")
      ->capture_default_str();
  train->add_option("--schedule-options", t->schedule_json,
                    "Schedule options as JSON, e.g. '{\"step_size\": 1000, \"gamma\": 0.5}'");
  train->add_option("--warmup", t->warmup, "Linear warm-up steps")->capture_default_str();
  train->add_option("--clip", t->clip, "Gradient norm clipping (0 = off)")->capture_default_str();
  train->add_option("--eval-every", t->eval_every, "Validation every N steps (0 = at the end)")
      ->capture_default_str();
  train->add_option("--val-tokens", t->val_tokens,
                    "Score only the first N validation tokens during training (0 = all)")
      ->capture_default_str();
  train->add_option("--checkpoint-every", t->checkpoint_every,
                    "Checkpoint every N steps (0 = at the end and on Ctrl-C)")->capture_default_str();
  train->add_option("--patience", t->patience,
                    "Early stopping after N validations without improvement (0 = off)")
      ->capture_default_str();
  train->add_option("--run-dir", t->run_dir, "Run folder")->capture_default_str();
  train->add_flag("--resume", t->resume, "Continue the run in --run-dir from last.ckpt");
  train->add_option("--seed", t->seed, "Random seed")->capture_default_str();
  train->add_option("--threads", t->threads, "Threads (0 = all cores)")->capture_default_str();
  t->control.add_to(train);
  train->add_option("--sample-len", t->sample_len, "Tokens to sample at the end")->capture_default_str();
  train->add_option("--temperature", t->temperature, "Temperature of that sample")
      ->capture_default_str();
  train->add_flag("--skip-test", t->skip_test, "Do not score the test part at the end");
  train->add_flag("--json", t->json, "Print one JSON object with the results on stdout");
  train->callback([t] { run_train(*t, process_command_line()); });

  auto e = std::make_shared<EvalOptions>();
  CLI::App* eval = lm->add_subcommand(
      "eval", "Score a model on a text file: loss, perplexity, bits per character");
  eval->add_option("--model", e->model, "Checkpoint (.ckpt) or exported model (.safetensors)")
      ->required();
  eval->add_option("--text", e->text, "UTF-8 text file");
  eval->add_option("--categories", e->categories,
                   "Instead of --text: a category list (per-category scores)");
  eval->add_option("--segment", e->segment,
                   "With --categories: tokens per segment started from the category state "
                   "(use the training value)")
      ->capture_default_str();
  eval->add_option("--split", e->split,
                   "Part of the text: all, or train / valid / test of the training split")
      ->capture_default_str();
  eval->add_option("--batch", e->batch, "Parallel streams")->capture_default_str();
  eval->add_option("--seq-len", e->seq_len, "Steps per window (state carried)")->capture_default_str();
  eval->add_option("--max-tokens", e->max_tokens, "Score only the first N tokens (0 = all)")
      ->capture_default_str();
  eval->add_option("--threads", e->threads, "Threads (0 = all cores)")->capture_default_str();
  eval->add_flag("--json", e->json, "Print one JSON object on stdout");
  eval->callback([e] { run_eval(*e); });

  auto s = std::make_shared<SampleOptions>();
  CLI::App* sample =
      lm->add_subcommand("sample", "Generate text from a model, streamed as it is drawn");
  sample->add_option("--model", s->model, "Checkpoint (.ckpt) or exported model (.safetensors)")
      ->required();
  sample->add_option("--prime", s->prime, "Text to start from (default: a line break)");
  sample->add_option("--length", s->length, "Tokens to generate")->capture_default_str();
  sample->add_option("--temperature", s->temperature, "Temperature")->capture_default_str();
  sample->add_option("--top-k", s->top_k, "Keep the k most likely tokens (0 = all)")
      ->capture_default_str();
  sample->add_option("--top-p", s->top_p, "Nucleus: keep the most likely tokens up to mass p")
      ->capture_default_str();
  sample->add_flag("--greedy", s->greedy, "Always take the most likely token");
  sample->add_option("--seed", s->seed, "Random seed")->capture_default_str();
  sample->add_option("--category", s->category,
                     "Category (its name) whose state starts the text (conditional models)");
  sample->add_option("--threads", s->threads, "Threads (0 = all cores)")->capture_default_str();
  sample->add_flag("--json", s->json, "Print one JSON object (no streaming)");
  sample->callback([s] { run_sample(*s); });
}

const CommandRegistrar registrar("lm", add_lm_command);

}  // namespace
}  // namespace rnn::cli
