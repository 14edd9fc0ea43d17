// `rnn classify train|eval|predict|cv`: one label per sequence (sentiment, genre).
//
// Models (--model): rnn (embeddings -> (bi)LSTM/GRU -> pooling last|mean|max -> Linear), and
// the two baselines computed by the same tool, trained by the same trainer: bow (bag-of-words
// logistic regression) and meanemb (averaged embeddings -> one hidden tanh layer -> Linear).
// Data: LABEL<TAB>TEXT files, or the Brown corpus' documents labelled by genre (--brown DIR,
// split by file; each document's first --max-tokens words).
// `cv` runs k-fold cross-validation of several models on one file (the same folds for each).
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

struct ModelOptions {
  std::string model = "rnn";
  int64_t embed = 64, hidden = 64, layers = 1;
  bool unidirectional = false;
  std::string cell = "lstm";
  std::string pooling = "max";
  double dropout = 0.3;
  int64_t min_count = 1;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--model", model, "rnn, bow (bag-of-words logistic regression) or meanemb (averaged-embedding MLP)")
        ->capture_default_str();
    cmd->add_option("--embed", embed, "Embedding size (rnn, meanemb)")->capture_default_str();
    cmd->add_option("--hidden", hidden, "RNN hidden size per direction; MLP hidden units (meanemb)")
        ->capture_default_str();
    cmd->add_option("--layers", layers, "Stacked RNN layers")->capture_default_str();
    cmd->add_flag("--unidirectional", unidirectional, "One direction only (default: bidirectional)");
    cmd->add_option("--cell", cell, "lstm or gru")->capture_default_str();
    cmd->add_option("--pooling", pooling, "last, mean or max (rnn)")->capture_default_str();
    cmd->add_option("--dropout", dropout, "Dropout on embeddings and the pooled vector")->capture_default_str();
    cmd->add_option("--min-count", min_count, "Words seen fewer times in training become <unk>")
        ->capture_default_str();
  }

  ClassifierConfig config() const {
    ClassifierConfig c;
    try {
      c.kind = classifier_kind_from_string(model);
    } catch (const Error& e) {
      throw UsageError(std::string("--model: ") + e.what());
    }
    try {
      c.pooling = pooling_from_string(pooling);
    } catch (const Error& e) {
      throw UsageError(std::string("--pooling: ") + e.what());
    }
    usage_check(cell == "lstm" || cell == "gru", "--cell must be lstm or gru, got '" + cell + "'");
    usage_check(embed >= 1 && hidden >= 1 && layers >= 1, "--embed, --hidden, --layers must be >= 1");
    usage_check(dropout >= 0 && dropout < 1, "--dropout must be in [0, 1)");
    usage_check(min_count >= 1, "--min-count must be >= 1");
    c.mode = cell == "gru" ? CellMode::GRU : CellMode::LSTM;
    c.embed = embed;
    c.hidden = hidden;
    c.layers = layers;
    c.bidirectional = !unidirectional;
    c.dropout = dropout;
    return c;
  }
};

struct ClassData {
  std::vector<LabeledText> train, valid, test;
  std::string description;
};

std::vector<LabeledText> brown_texts(const std::vector<TaggedDocument>& docs, const std::vector<size_t>& idx,
                                     int64_t max_tokens) {
  std::vector<LabeledText> out;
  for (size_t i : idx) {
    LabeledText x;
    x.label = docs[i].genre;
    check(!x.label.empty(), "Brown file ", docs[i].name, " has no genre in cats.txt");
    for (const auto& s : docs[i].sentences) {
      for (const auto& w : s.words) {
        if (static_cast<int64_t>(x.tokens.size()) >= max_tokens) break;
        std::string lower = w;
        for (char& c : lower) {
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
        x.tokens.push_back(lower);
      }
    }
    out.push_back(std::move(x));
  }
  return out;
}

// Deterministic holdout: every k-th example (by position) to the second part.
void hold_out(const std::vector<LabeledText>& all, double fraction, std::vector<LabeledText>& train,
              std::vector<LabeledText>& held, uint64_t seed, const std::string& source) {
  const int k = std::max(2, static_cast<int>(std::lround(1.0 / fraction)));
  check(all.size() >= static_cast<size_t>(k), source, ": ", all.size(), " examples are too few to hold out a ",
        fraction, " validation part (give --valid)");
  const std::vector<int> fold = kfold_assignment(all.size(), k, seed);
  for (size_t i = 0; i < all.size(); ++i) (fold[i] == 0 ? held : train).push_back(all[i]);
}

// Trains one model and returns it with the best checkpoint's parameters loaded.
std::unique_ptr<ClassifierModel> train_model(const ClassifierConfig& config, int64_t min_count,
                                             const std::vector<LabeledText>& train,
                                             const std::vector<LabeledText>& valid,
                                             const tagging_cli::TrainLoop& loop, TrainSummary* summary_out) {
  auto model = std::make_unique<ClassifierModel>(config, build_class_vocab(train, min_count), loop.seed);
  for (size_t i = 0; i < valid.size(); ++i) {
    check(model->vocab.labels.find(valid[i].label) >= 0, "validation example ", i + 1, ": label '",
          valid[i].label, "' does not occur in the training data");
  }
  ClassifyTaskOptions topt;
  topt.batch = loop.batch;
  const int64_t per_epoch = (static_cast<int64_t>(train.size()) + loop.batch - 1) / loop.batch;
  TrainerOptions options = loop.trainer_options(per_epoch);
  options.unit_name = "seq";
  ClassifyTask task(*model, train, valid, topt);
  Trainer trainer(options, task);
  const TrainSummary summary = trainer.run();
  Checkpoint::load(summary.best_checkpoint).get_parameters(model->store);
  if (summary_out) *summary_out = summary;
  return model;
}

// ---- train -----------------------------------------------------------------------------

struct TrainOptions {
  std::string train, valid, test, brown;
  double valid_fraction = 0.1;
  int64_t max_tokens = 200;
  ModelOptions model;
  tagging_cli::TrainLoop loop;
};

void run_train(const TrainOptions& o) {
  o.loop.validate();
  const ClassifierConfig config = o.model.config();
  usage_check(o.brown.empty() != o.train.empty(), "give either --train FILE or --brown DIR");
  usage_check(o.valid_fraction > 0 && o.valid_fraction < 1, "--valid-fraction must be in (0, 1)");
  usage_check(o.max_tokens >= 1, "--max-tokens must be >= 1");
  o.loop.apply_threads();
  ClassData d;
  if (!o.brown.empty()) {
    const auto docs = read_brown_corpus(o.brown, true);
    const DocumentSplit split = split_documents(docs.size());
    d.train = brown_texts(docs, split.train, o.max_tokens);
    d.valid = brown_texts(docs, split.valid, o.max_tokens);
    d.test = brown_texts(docs, split.test, o.max_tokens);
    d.description = concat(o.brown, " genres (first ", o.max_tokens, " words of each file)");
  } else {
    const auto all = read_labeled_tsv(o.train);
    if (o.valid.empty()) {
      hold_out(all, o.valid_fraction, d.train, d.valid, o.loop.seed, o.train);
    } else {
      d.train = all;
      d.valid = read_labeled_tsv(o.valid);
    }
    if (!o.test.empty()) d.test = read_labeled_tsv(o.test);
    d.description = o.train;
  }
  std::cerr << "classify: " << d.description << ": " << d.train.size() << " training, " << d.valid.size()
            << " validation, " << d.test.size() << " test examples; model " << o.model.model << "\n";
  std::error_code ec;
  fs::create_directories(o.loop.run_dir, ec);
  check(!ec, "cannot create run folder '", o.loop.run_dir, "': ", ec.message());
  tagging_cli::write_text(fs::path(o.loop.run_dir) / (o.loop.resume ? "command_resume.json" : "command.json"),
                          nlohmann::json{{"command", tagging_cli::process_command_line()},
                                         {"model", config.to_json()},
                                         {"data", d.description}}
                                  .dump(2) + "\n");
  TrainSummary summary;
  const auto model = train_model(config, o.model.min_count, d.train, d.valid, o.loop, &summary);
  nlohmann::json result;
  result["run_dir"] = o.loop.run_dir;
  result["best_checkpoint"] = summary.best_checkpoint;
  result["train"] = summary.to_json();
  const ClassEvaluation valid = evaluate_classifier(*model, d.valid);
  result["valid"] = valid.to_json();
  std::ostringstream text;
  text << "validation: accuracy " << fmt("%.4f", valid.accuracy()) << " (" << valid.examples << ")\n";
  const ClassEvaluation scored = d.test.empty() ? valid : evaluate_classifier(*model, d.test);
  if (!d.test.empty()) {
    result["test"] = scored.to_json();
    text << "test: accuracy " << fmt("%.4f", scored.accuracy()) << " (" << scored.examples << ")\n";
  }
  const fs::path svg = fs::path(o.loop.run_dir) / "confusion.svg";
  tagging_cli::write_text(svg, tagging_cli::confusion_svg(scored.confusion, model->vocab.labels.names(), 30,
                                                          std::string("confusion matrix (") +
                                                              (d.test.empty() ? "validation" : "test") + ")"));
  result["confusion_svg"] = svg.string();
  tagging_cli::write_text(fs::path(o.loop.run_dir) / "results.json", result.dump(2) + "\n");
  if (o.loop.json) {
    std::cout << result.dump() << "\n";
  } else {
    std::cout << text.str() << "run folder: " << o.loop.run_dir << "\n";
  }
}

// ---- cv --------------------------------------------------------------------------------

struct CvOptions {
  std::string data;
  int folds = 10;
  std::string models = "rnn,meanemb,bow";
  ModelOptions model;
  tagging_cli::TrainLoop loop;
};

void run_cv(CvOptions o) {
  o.loop.validate();
  usage_check(o.folds >= 2, "--folds must be >= 2");
  std::vector<std::string> kinds;
  {
    std::stringstream s(o.models);
    std::string k;
    while (std::getline(s, k, ',')) {
      ModelOptions m = o.model;
      m.model = k;
      m.config();  // usage check
      kinds.push_back(k);
    }
  }
  usage_check(!kinds.empty(), "--models must name at least one model");
  o.loop.apply_threads();
  const auto all = read_labeled_tsv(o.data);
  check(all.size() >= static_cast<size_t>(o.folds), o.data, ": ", all.size(), " examples for ", o.folds, " folds");
  const std::vector<int> fold = kfold_assignment(all.size(), o.folds, o.loop.seed);
  nlohmann::json result;
  result["data"] = o.data;
  result["folds"] = o.folds;
  result["examples"] = all.size();
  std::map<std::string, std::vector<double>> acc;
  for (int f = 0; f < o.folds; ++f) {
    std::vector<LabeledText> rest, test;
    for (size_t i = 0; i < all.size(); ++i) (fold[i] == f ? test : rest).push_back(all[i]);
    std::vector<LabeledText> train, valid;
    hold_out(rest, 1.0 / static_cast<double>(o.folds - 1), train, valid, o.loop.seed + 1000 + static_cast<uint64_t>(f),
             o.data);
    for (const auto& k : kinds) {
      ModelOptions m = o.model;
      m.model = k;
      tagging_cli::TrainLoop loop = o.loop;
      loop.run_dir = (fs::path(o.loop.run_dir) / ("fold" + std::to_string(f)) / k).string();
      loop.control.progress = "off";
      const auto model = train_model(m.config(), m.min_count, train, valid, loop, nullptr);
      const double a = evaluate_classifier(*model, test).accuracy();
      acc[k].push_back(a);
      std::cerr << "cv " << o.data << ": fold " << f + 1 << "/" << o.folds << " " << k << " accuracy "
                << fmt("%.4f", a) << "\n";
    }
  }
  std::ostringstream text;
  text << o.data << ": " << o.folds << "-fold cross-validated accuracy (" << all.size() << " examples)\n";
  for (const auto& k : kinds) {
    const auto& v = acc[k];
    double mean = 0;
    for (double a : v) mean += a;
    mean /= static_cast<double>(v.size());
    double var = 0;
    for (double a : v) var += (a - mean) * (a - mean);
    const double sd = std::sqrt(var / static_cast<double>(v.size() - 1));
    result["models"][k] = {{"mean_accuracy", mean}, {"std_accuracy", sd}, {"fold_accuracy", v}};
    text << "  " << k << ": " << fmt("%.4f", mean) << " +- " << fmt("%.4f", sd) << "\n";
  }
  result["options"] = {{"epochs", o.loop.epochs}, {"steps", o.loop.steps}, {"batch", o.loop.batch}, {"lr", o.loop.lr},
                       {"embed", o.model.embed}, {"hidden", o.model.hidden}, {"pooling", o.model.pooling},
                       {"cell", o.model.cell}, {"dropout", o.model.dropout}, {"seed", o.loop.seed}};
  std::error_code ec;
  fs::create_directories(o.loop.run_dir, ec);
  tagging_cli::write_text(fs::path(o.loop.run_dir) / "cv.json", result.dump(2) + "\n");
  if (o.loop.json) {
    std::cout << result.dump() << "\n";
  } else {
    std::cout << text.str();
  }
}

// ---- eval / predict --------------------------------------------------------------------

struct EvalOptions {
  std::string model, data, confusion_svg;
  int64_t batch = 64;
  bool json = false;
};

void run_eval(const EvalOptions& o) {
  usage_check(o.batch >= 1, "--batch must be >= 1");
  const auto model = load_classifier(o.model);
  const auto data = read_labeled_tsv(o.data);
  const ClassEvaluation ev = [&] {
    try {
      return evaluate_classifier(*model, data, o.batch);
    } catch (const Error& e) {
      fail(o.data, ": ", e.what());
    }
  }();
  nlohmann::json result = ev.to_json();
  result["model"] = o.model;
  result["metrics"] = ev.confusion.to_json(model->vocab.labels.names());
  if (!o.confusion_svg.empty()) {
    tagging_cli::write_text(o.confusion_svg, tagging_cli::confusion_svg(ev.confusion, model->vocab.labels.names(),
                                                                        30, "confusion matrix"));
    result["confusion_svg"] = o.confusion_svg;
  }
  if (o.json) {
    std::cout << result.dump() << "\n";
  } else {
    std::cout << "accuracy " << fmt("%.4f", ev.accuracy()) << " (" << ev.examples << " examples), macro F1 "
              << fmt("%.4f", ev.confusion.macro_f1()) << ", loss " << fmt("%.4f", ev.loss) << "\n";
  }
}

struct PredictOptions {
  std::string model, input = "-";
  bool json = false;
};

void run_predict(const PredictOptions& o) {
  const auto model = load_classifier(o.model);
  std::ifstream file;
  if (o.input != "-") {
    std::error_code ec;
    check(fs::is_regular_file(o.input, ec), o.input, ": no such file (or not a regular file)");
    file.open(o.input, std::ios::binary);
  }
  std::istream& in = o.input == "-" ? std::cin : file;
  const std::string source = o.input == "-" ? "stdin" : o.input;
  std::vector<LabeledText> texts;
  std::vector<std::string> lines;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    LabeledText x;
    x.tokens = tokenize_text(line, concat(source, ":", line_no));
    check(!x.tokens.empty(), source, ":", line_no, ": empty text");
    texts.push_back(std::move(x));
    lines.push_back(line);
  }
  check(!texts.empty(), source, ": no texts");
  const auto labels = predict_labels(*model, texts);
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < labels.size(); ++i) {
      out.push_back({{"text", lines[i]}, {"label", labels[i].first}, {"probability", labels[i].second}});
    }
    std::cout << nlohmann::json{{"predictions", out}}.dump() << "\n";
    return;
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    std::cout << labels[i].first << "\t" << fmt("%.3f", labels[i].second) << "\t" << lines[i] << "\n";
  }
}

}  // namespace

void add_classify_command(CLI::App& app) {
  CLI::App* cls = app.add_subcommand("classify", "Sequence classification (one label per text): train, eval, predict, cv");
  cls->require_subcommand(1);

  auto t = std::make_shared<TrainOptions>();
  t->loop.run_dir = "runs/classify";
  t->loop.epochs = 10;
  t->loop.patience = 3;
  CLI::App* train = cls->add_subcommand("train", "Train a classifier");
  train->add_option("--train", t->train, "LABEL<TAB>TEXT training file");
  train->add_option("--valid", t->valid, "LABEL<TAB>TEXT validation file (default: hold out --valid-fraction)");
  train->add_option("--valid-fraction", t->valid_fraction, "Share of --train held out for validation")
      ->capture_default_str();
  train->add_option("--test", t->test, "LABEL<TAB>TEXT test file (optional)");
  train->add_option("--brown", t->brown, "Brown corpus folder: classify documents by genre (split by file)");
  train->add_option("--max-tokens", t->max_tokens, "Brown: words per document")->capture_default_str();
  t->model.add_to(train);
  t->loop.add_to(train);
  train->callback([t] { run_train(*t); });

  auto c = std::make_shared<CvOptions>();
  c->loop.run_dir = "runs/classify-cv";
  c->loop.epochs = 10;
  c->loop.patience = 3;
  CLI::App* cv = cls->add_subcommand("cv", "k-fold cross-validated accuracy of several models on one file");
  cv->add_option("--data", c->data, "LABEL<TAB>TEXT file")->required();
  cv->add_option("--folds", c->folds, "Number of folds")->capture_default_str();
  cv->add_option("--models", c->models, "Comma-separated models to compare (rnn, meanemb, bow)")->capture_default_str();
  c->model.add_to(cv);
  c->loop.add_to(cv);
  cv->callback([c] { run_cv(*c); });

  auto e = std::make_shared<EvalOptions>();
  CLI::App* eval = cls->add_subcommand("eval", "Score a trained classifier on a LABEL<TAB>TEXT file");
  eval->add_option("--model", e->model, "Checkpoint written by `rnn classify train` (best.ckpt)")->required();
  eval->add_option("--data", e->data, "LABEL<TAB>TEXT file")->required();
  eval->add_option("--confusion-svg", e->confusion_svg, "Write the confusion matrix as an SVG heatmap");
  eval->add_option("--batch", e->batch, "Texts per batch")->capture_default_str();
  eval->add_flag("--json", e->json, "Print one JSON object on stdout");
  eval->callback([e] { run_eval(*e); });

  auto p = std::make_shared<PredictOptions>();
  CLI::App* predict = cls->add_subcommand("predict", "Label texts (one per line)");
  predict->add_option("--model", p->model, "Checkpoint written by `rnn classify train`")->required();
  predict->add_option("--input", p->input, "Text file, or - for stdin")->capture_default_str();
  predict->add_flag("--json", p->json, "Print one JSON object on stdout");
  predict->callback([p] { run_predict(*p); });
}

static const CommandRegistrar registrar("classify", add_classify_command);

}  // namespace rnn::cli
