// `rnn tag train|eval|predict`: part-of-speech (or any per-token) tagging with word
// embeddings, a character-level encoder per word and a bidirectional LSTM/GRU.
//
// Data: the tagged Brown corpus (--brown DIR, split by file: see tagging/data.h) or
// TOKENS<TAB>TAGS files (--train/--valid/--test). Training goes through the one trainer; at
// the end the best checkpoint is scored on the test part next to the most-frequent-tag
// baseline, and the most confused tags are drawn as a heatmap (run_dir/confusion.svg).
#include <cmath>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/tagging_cli.h"
#include "rnn/tagging/data.h"
#include "rnn/tagging/tasks.h"
#include "rnn/train/checkpoint.h"

namespace rnn::cli {
namespace {

using namespace rnn::tagging;
using tagging_cli::fmt;
using tagging_cli::usage_check;
namespace fs = std::filesystem;

struct TagData {
  std::vector<TaggedSentence> train, valid, test;
  std::vector<std::string> tag_set;  // Brown: every tag of the corpus (the tag inventory)
  std::string description;
};

std::vector<TaggedSentence> sentences_of(const std::vector<TaggedDocument>& docs,
                                         const std::vector<size_t>& idx) {
  std::vector<TaggedSentence> out;
  for (size_t i : idx) out.insert(out.end(), docs[i].sentences.begin(), docs[i].sentences.end());
  return out;
}

TagData load_brown(const std::string& dir, bool raw_tags, int64_t train_files) {
  const auto docs = read_brown_corpus(dir, !raw_tags);
  const DocumentSplit split = split_documents(docs.size(), train_files);
  TagData d;
  d.train = sentences_of(docs, split.train);
  d.valid = sentences_of(docs, split.valid);
  d.test = sentences_of(docs, split.test);
  std::map<std::string, int64_t> tags;
  for (const auto& doc : docs) {
    for (const auto& s : doc.sentences) {
      for (const auto& t : s.tags) ++tags[t];
    }
  }
  d.tag_set = labels_by_count(tags, 1).names();
  d.description = concat(dir, " (", split.train.size(), " training, ", split.valid.size(),
                         " validation, ", split.test.size(), " test files; ", d.tag_set.size(),
                         raw_tags ? " raw" : " simplified", " tags)");
  return d;
}

int64_t token_count(const std::vector<TaggedSentence>& s) {
  int64_t n = 0;
  for (const auto& x : s) n += static_cast<int64_t>(x.words.size());
  return n;
}

// ---- train -----------------------------------------------------------------------------

struct TrainOptions {
  std::string brown;
  bool raw_tags = false;
  int64_t train_files = 0;
  std::string train, valid, test;
  int64_t word_embed = 64, char_embed = 16, char_hidden = 32, hidden = 128, layers = 1;
  std::string cell = "lstm";
  double dropout = 0.25, word_dropout = 0.05;
  int64_t min_count = 1;
  tagging_cli::TrainLoop loop;
};

void run_train(TrainOptions o) {
  o.loop.validate();
  usage_check(o.brown.empty() != o.train.empty(), "give either --brown DIR or --train FILE");
  usage_check(o.brown.empty() || (o.valid.empty() && o.test.empty()),
              "--valid/--test go with --train, not with --brown (Brown is split by file)");
  usage_check(!o.train.empty() ? !o.valid.empty() : true, "--train needs --valid");
  usage_check(o.word_embed >= 1 && o.char_embed >= 1 && o.char_hidden >= 0 && o.hidden >= 1 &&
                  o.layers >= 1,
              "--word-embed, --char-embed, --hidden, --layers must be >= 1 (--char-hidden >= 0)");
  usage_check(o.dropout >= 0 && o.dropout < 1, "--dropout must be in [0, 1)");
  usage_check(o.word_dropout >= 0 && o.word_dropout < 1, "--word-dropout must be in [0, 1)");
  usage_check(o.min_count >= 1, "--min-count must be >= 1");
  usage_check(o.train_files >= 0, "--train-files must be >= 0");
  CellMode mode;
  try {
    mode = cell_mode_from_string(o.cell == "lstm" ? "LSTM" : o.cell == "gru" ? "GRU" : o.cell);
  } catch (const Error&) {
    throw UsageError("--cell must be lstm or gru, got '" + o.cell + "'");
  }
  o.loop.apply_threads();

  TagData data;
  if (!o.brown.empty()) {
    data = load_brown(o.brown, o.raw_tags, o.train_files);
  } else {
    data.train = read_tagged_tsv(o.train);
    data.valid = read_tagged_tsv(o.valid);
    if (!o.test.empty()) data.test = read_tagged_tsv(o.test);
    data.description = o.train;
  }
  TaggerConfig config;
  config.word_embed = o.word_embed;
  config.char_embed = o.char_embed;
  config.char_hidden = o.char_hidden;
  config.hidden = o.hidden;
  config.layers = o.layers;
  config.mode = mode;
  config.dropout = o.dropout;
  TaggerModel model(config, build_tag_vocab(data.train, o.min_count, data.tag_set), o.loop.seed);
  // Validation tags must be known too (a clear error before training starts).
  for (size_t i = 0; i < data.valid.size(); ++i) {
    for (const auto& t : data.valid[i].tags) {
      check(model.vocab.tags.find(t) >= 0, (o.valid.empty() ? "validation" : o.valid),
            ": sentence ", i + 1, ": tag '", t, "' does not occur in the training data");
    }
  }
  const int64_t train_tokens = token_count(data.train);
  std::cerr << "tag: " << data.description << ": " << data.train.size() << " training sentences ("
            << train_tokens << " tokens), " << data.valid.size() << " validation, "
            << data.test.size() << " test; " << model.vocab.words.size() << " words, "
            << model.vocab.chars.size() << " characters, " << model.vocab.tags.size()
            << " tags; " << model.store.numel() << " parameters\n";

  TagTaskOptions topt;
  topt.batch = o.loop.batch;
  topt.word_dropout = o.word_dropout;
  const int64_t batches_per_epoch =
      (static_cast<int64_t>(data.train.size()) + o.loop.batch - 1) / o.loop.batch;
  TrainerOptions trainer_options = o.loop.trainer_options(batches_per_epoch);
  trainer_options.unit_name = "tok";
  std::error_code ec;
  fs::create_directories(o.loop.run_dir, ec);
  check(!ec, "cannot create run folder '", o.loop.run_dir, "': ", ec.message());
  tagging_cli::write_text(fs::path(o.loop.run_dir) / (o.loop.resume ? "command_resume.json" : "command.json"),
                          nlohmann::json{{"command", tagging_cli::process_command_line()},
                                         {"model", model.model->config().to_json()},
                                         {"data", data.description},
                                         {"max_steps", trainer_options.max_steps},
                                         {"batch", o.loop.batch},
                                         {"lr", o.loop.lr},
                                         {"seed", o.loop.seed}}
                                  .dump(2) + "\n");
  TagTask task(model, data.train, data.valid, topt);
  Trainer trainer(trainer_options, task);
  const TrainSummary summary = trainer.run();

  // Score the best model.
  Checkpoint::load(summary.best_checkpoint).get_parameters(model.store);
  nlohmann::json result;
  result["run_dir"] = o.loop.run_dir;
  result["best_checkpoint"] = summary.best_checkpoint;
  result["train"] = summary.to_json();
  result["train_tokens"] = train_tokens;
  const TagEvaluation valid = evaluate_tagger(model, data.valid);
  result["valid"] = valid.to_json();
  const MostFrequentTag baseline(data.train);
  std::ostringstream text;
  text << "validation: accuracy " << fmt("%.4f", valid.accuracy()) << ", unseen words "
       << fmt("%.4f", valid.unseen_accuracy()) << " (" << valid.tokens << " tokens, "
       << valid.unseen_tokens << " unseen)\n";
  const auto& scored = data.test.empty() ? data.valid : data.test;
  const TagEvaluation test = data.test.empty() ? valid : evaluate_tagger(model, data.test);
  if (!data.test.empty()) {
    result["test"] = test.to_json();
    text << "test: accuracy " << fmt("%.4f", test.accuracy()) << ", unseen words "
         << fmt("%.4f", test.unseen_accuracy()) << " (" << test.tokens << " tokens, "
         << test.unseen_tokens << " unseen)\n";
  }
  const auto mft = baseline.evaluate(scored);
  result["baseline_most_frequent_tag"] = {{"split", data.test.empty() ? "valid" : "test"},
                                          {"accuracy", mft.accuracy()},
                                          {"unseen_accuracy", mft.unseen_accuracy()},
                                          {"unseen_tokens", mft.unseen_tokens}};
  text << "most-frequent-tag baseline (" << (data.test.empty() ? "validation" : "test")
       << "): accuracy " << fmt("%.4f", mft.accuracy()) << ", unseen words "
       << fmt("%.4f", mft.unseen_accuracy()) << "\n";
  const fs::path svg = fs::path(o.loop.run_dir) / "confusion.svg";
  tagging_cli::write_text(svg, tagging_cli::confusion_svg(test.confusion, model.vocab.tags.names(), 20,
                                                          "most confused tags (rows: gold)"));
  result["confusion_svg"] = svg.string();
  result["metrics"] = test.confusion.to_json(model.vocab.tags.names());
  result["metrics"].erase("per_class");
  tagging_cli::write_text(fs::path(o.loop.run_dir) / "results.json", result.dump(2) + "\n");
  if (o.loop.json) {
    std::cout << result.dump() << "\n";
  } else {
    std::cout << text.str() << "run folder: " << o.loop.run_dir << " (best model "
              << summary.best_checkpoint << ", " << svg.string() << ")\n";
  }
}

// ---- eval ------------------------------------------------------------------------------

struct EvalOptions {
  std::string model, brown, data, split = "test", confusion_svg;
  bool raw_tags = false;
  int64_t batch = 64;
  int threads = 0;
  bool json = false;
};

void run_eval(const EvalOptions& o) {
  usage_check(o.brown.empty() != o.data.empty(), "give either --brown DIR or --data FILE");
  usage_check(o.split == "test" || o.split == "valid" || o.split == "train",
              "--split must be train, valid or test, got '" + o.split + "'");
  usage_check(o.batch >= 1, "--batch must be >= 1");
  usage_check(o.threads >= 0, "--threads must be >= 0");
  if (o.threads > 0) kernels::set_num_threads(o.threads);
  const auto model = load_tagger(o.model);
  std::vector<TaggedSentence> sentences;
  std::vector<TaggedSentence> train;
  if (!o.brown.empty()) {
    const auto docs = read_brown_corpus(o.brown, !o.raw_tags);
    const DocumentSplit split = split_documents(docs.size());
    sentences = sentences_of(docs, o.split == "test" ? split.test : o.split == "valid" ? split.valid : split.train);
    train = sentences_of(docs, split.train);
  } else {
    sentences = read_tagged_tsv(o.data);
  }
  const TagEvaluation ev = [&] {
    try {
      return evaluate_tagger(*model, sentences, o.batch);
    } catch (const Error& e) {
      fail(o.brown.empty() ? o.data : o.brown, ": ", e.what());
    }
  }();
  nlohmann::json result = ev.to_json();
  result["model"] = o.model;
  result["metrics"] = ev.confusion.to_json(model->vocab.tags.names());
  if (!train.empty()) {
    const auto mft = MostFrequentTag(train).evaluate(sentences);
    result["baseline_most_frequent_tag"] = {{"accuracy", mft.accuracy()},
                                            {"unseen_accuracy", mft.unseen_accuracy()}};
  }
  if (!o.confusion_svg.empty()) {
    tagging_cli::write_text(o.confusion_svg,
                            tagging_cli::confusion_svg(ev.confusion, model->vocab.tags.names(), 20,
                                                       "most confused tags (rows: gold)"));
    result["confusion_svg"] = o.confusion_svg;
  }
  if (o.json) {
    std::cout << result.dump() << "\n";
    return;
  }
  std::cout << "accuracy " << fmt("%.4f", ev.accuracy()) << " (" << ev.tokens << " tokens), unseen words "
            << fmt("%.4f", ev.unseen_accuracy()) << " (" << ev.unseen_tokens << "), loss "
            << fmt("%.4f", ev.loss) << "\n";
  if (result.contains("baseline_most_frequent_tag")) {
    std::cout << "most-frequent-tag baseline: accuracy "
              << fmt("%.4f", result["baseline_most_frequent_tag"]["accuracy"].get<double>())
              << ", unseen words "
              << fmt("%.4f", result["baseline_most_frequent_tag"]["unseen_accuracy"].get<double>()) << "\n";
  }
  std::cout << "most confused (gold -> predicted):";
  for (const auto& p : ev.confusion.most_confused(8)) {
    std::cout << " " << model->vocab.tags.name(p.gold) << "->" << model->vocab.tags.name(p.predicted)
              << " " << p.count << ";";
  }
  std::cout << "\n";
}

// ---- predict ---------------------------------------------------------------------------

struct PredictOptions {
  std::string model, input = "-";
  int64_t batch = 64;
  bool json = false;
};

void run_predict(const PredictOptions& o) {
  usage_check(o.batch >= 1, "--batch must be >= 1");
  const auto model = load_tagger(o.model);
  std::ifstream file;
  if (o.input != "-") {
    std::error_code ec;
    check(fs::is_regular_file(o.input, ec), o.input, ": no such file (or not a regular file)");
    file.open(o.input, std::ios::binary);
    check(static_cast<bool>(file), o.input, ": cannot open for reading");
  }
  std::istream& in = o.input == "-" ? std::cin : file;
  std::vector<TaggedSentence> sentences;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    TaggedSentence s;
    std::istringstream words(line);
    std::string w;
    while (words >> w) s.words.push_back(w);
    check(!s.words.empty(), o.input == "-" ? "stdin" : o.input, ":", line_no, ": empty sentence");
    characters_of(s.words.front());  // UTF-8 check with a clear message
    for (const auto& word : s.words) characters_of(word);
    sentences.push_back(std::move(s));
  }
  check(!sentences.empty(), o.input == "-" ? "stdin" : o.input, ": no sentences");
  const auto tags = predict_tags(*model, sentences, o.batch);
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < sentences.size(); ++i) out.push_back({{"words", sentences[i].words}, {"tags", tags[i]}});
    std::cout << nlohmann::json{{"sentences", out}}.dump() << "\n";
    return;
  }
  for (size_t i = 0; i < sentences.size(); ++i) {
    for (size_t k = 0; k < tags[i].size(); ++k) {
      std::cout << (k ? " " : "") << sentences[i].words[k] << "/" << tags[i][k];
    }
    std::cout << "\n";
  }
}

}  // namespace

void add_tag_command(CLI::App& app) {
  CLI::App* tag = app.add_subcommand("tag", "Sequence tagging (one label per token): train, eval, predict");
  tag->require_subcommand(1);

  auto t = std::make_shared<TrainOptions>();
  t->loop.run_dir = "runs/tag";
  CLI::App* train = tag->add_subcommand("train", "Train a tagger (word embeddings + char encoder + biRNN)");
  train->add_option("--brown", t->brown, "Brown corpus folder (tools/fetch_corpora.sh brown), split by file");
  train->add_flag("--raw-tags", t->raw_tags, "Keep Brown's raw tags (default: the simplified 92-tag set)");
  train->add_option("--train-files", t->train_files, "Brown: use only the first N training files (0 = all 400)")
      ->capture_default_str();
  train->add_option("--train", t->train, "TOKENS<TAB>TAGS training file");
  train->add_option("--valid", t->valid, "TOKENS<TAB>TAGS validation file");
  train->add_option("--test", t->test, "TOKENS<TAB>TAGS test file (optional)");
  train->add_option("--word-embed", t->word_embed, "Word embedding size")->capture_default_str();
  train->add_option("--char-embed", t->char_embed, "Character embedding size")->capture_default_str();
  train->add_option("--char-hidden", t->char_hidden, "Character RNN hidden size per direction (0 = no char encoder)")
      ->capture_default_str();
  train->add_option("--hidden", t->hidden, "Tagger RNN hidden size per direction")->capture_default_str();
  train->add_option("--layers", t->layers, "Stacked bidirectional layers")->capture_default_str();
  train->add_option("--cell", t->cell, "lstm or gru")->capture_default_str();
  train->add_option("--dropout", t->dropout, "Dropout on the RNN's input and output")->capture_default_str();
  train->add_option("--word-dropout", t->word_dropout,
                    "Probability of replacing a training word by <unk> (its characters stay)")
      ->capture_default_str();
  train->add_option("--min-count", t->min_count, "Words seen fewer times in training become <unk>")
      ->capture_default_str();
  t->loop.add_to(train);
  train->callback([t] { run_train(*t); });

  auto e = std::make_shared<EvalOptions>();
  CLI::App* eval = tag->add_subcommand("eval", "Score a trained tagger: token accuracy, unseen words, confusions");
  eval->add_option("--model", e->model, "Checkpoint written by `rnn tag train` (best.ckpt)")->required();
  eval->add_option("--brown", e->brown, "Brown corpus folder");
  eval->add_option("--split", e->split, "Brown part to score: train, valid or test")->capture_default_str();
  eval->add_flag("--raw-tags", e->raw_tags, "Brown's raw tags (must match the model)");
  eval->add_option("--data", e->data, "TOKENS<TAB>TAGS file");
  eval->add_option("--confusion-svg", e->confusion_svg, "Write the most confused tags as an SVG heatmap");
  eval->add_option("--batch", e->batch, "Sentences per batch")->capture_default_str();
  eval->add_option("--threads", e->threads, "Threads (0 = all cores)")->capture_default_str();
  eval->add_flag("--json", e->json, "Print one JSON object on stdout");
  eval->callback([e] { run_eval(*e); });

  auto p = std::make_shared<PredictOptions>();
  CLI::App* predict = tag->add_subcommand("predict", "Tag sentences (one per line, tokens separated by spaces)");
  predict->add_option("--model", p->model, "Checkpoint written by `rnn tag train`")->required();
  predict->add_option("--input", p->input, "Text file, or - for stdin")->capture_default_str();
  predict->add_option("--batch", p->batch, "Sentences per batch")->capture_default_str();
  predict->add_flag("--json", p->json, "Print one JSON object on stdout");
  predict->callback([p] { run_predict(*p); });
}

static const CommandRegistrar registrar("tag", add_tag_command);

}  // namespace rnn::cli
