// Conditional language models on per-category documents: a batch of document streams
// scores every document exactly as if it were alone (started from its category's state,
// or from zeros for an unconditional model); a training step sends gradient into
// cond.weight only for the categories that start a segment; N steps straight equal N/2 +
// resume + N/2 bit for bit (through the one Trainer); checkpoints and exported models keep
// the category names; checkpoints with another category list or segment are refused.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "rnn/core/error.h"
#include "rnn/lm/document_task.h"
#include "rnn/lm/documents.h"
#include "rnn/lm/evaluation.h"
#include "rnn/lm/model.h"
#include "rnn/lm/model_file.h"
#include "rnn/text/utf8.h"
#include "rnn/train/checkpoint.h"
#include "rnn/train/trainer.h"

namespace rnn::lm {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("rnn_lm_document_contract_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Six documents of the Genesis sample (different lengths) in three categories.
std::vector<LabeledText> documents() {
  const std::u32string t =
      text::read_text_file(std::string(RNN_SOURCE_DIR) + "/data/sample/kjv_genesis.txt");
  const size_t sizes[] = {900, 1500, 700, 1300, 2000, 1100};
  const char* categories[] = {"law", "poetry", "law", "gospel", "poetry", "gospel"};
  std::vector<LabeledText> out;
  size_t at = 0;
  for (size_t d = 0; d < 6; ++d) {
    out.push_back({categories[d], t.substr(at, sizes[d]), "doc" + std::to_string(d)});
    at += sizes[d];
  }
  return out;
}

LmConfig config(int64_t vocab, int64_t categories, double dropout = 0.0) {
  LmConfig c;
  c.vocab_size = vocab;
  c.embed_size = 6;
  c.rnn = {.mode = CellMode::LSTM, .hidden_size = 10, .num_layers = 2, .dropout = dropout};
  c.dropout = dropout;
  c.num_categories = categories;
  return c;
}

// Loss of one part alone: one window from its category's state (or zeros).
double alone(const LanguageModel<float>& model, const DocumentPart& p) {
  const auto n = static_cast<int64_t>(p.ids.size()) - 1;
  Tensor<int64_t> x({n, 1}), y({n, 1});
  for (int64_t i = 0; i < n; ++i) {
    x[i] = p.ids[static_cast<size_t>(i)];
    y[i] = p.ids[static_cast<size_t>(i + 1)];
  }
  RecurrentState<float> state;
  const std::vector<int64_t> cat{p.category};
  const bool conditional = model.config().num_categories > 0;
  return model.window_loss(x, y, state, Mode::Eval, nullptr, false, 0.0,
                           conditional ? std::span<const int64_t>(cat) : std::span<const int64_t>())
      .sum;
}

TEST(LmDocumentContract, BatchedEvaluationEqualsEachDocumentAlone) {
  const DocumentCorpus corpus = make_document_corpus(documents(), {});
  for (int64_t categories : {int64_t{3}, int64_t{0}}) {
    Rng rng(5);
    LanguageModel<float> model(config(corpus.vocab.size(), categories), rng);
    double sum = 0;
    std::vector<double> per_category(3, 0.0);
    int64_t count = 0;
    for (const DocumentPart& p : corpus.train) {
      const double l = alone(model, p);
      sum += l;
      per_category[static_cast<size_t>(p.category)] += l;
      count += static_cast<int64_t>(p.ids.size()) - 1;
    }
    for (int64_t batch : {1, 4}) {
      for (int64_t seq_len : {7, 64}) {
        const DocumentEvaluation e =
            evaluate_documents(model, corpus.train, 3, {.batch = batch, .seq_len = seq_len});
        EXPECT_EQ(e.all.tokens, count);
        EXPECT_NEAR(e.all.loss, sum / static_cast<double>(count), 1e-5)
            << "categories " << categories << " batch " << batch << " seq_len " << seq_len;
        for (size_t c = 0; c < 3; ++c) {
          EXPECT_NEAR(e.categories[c].loss * static_cast<double>(e.categories[c].tokens),
                      per_category[c], 1e-3);
        }
      }
    }
  }
}

TEST(LmDocumentContract, GradientReachesOnlyTheStartingCategories) {
  // Documents of categories law (0) and poetry (1) only: category gospel (2) never starts a
  // segment, so its column of cond.weight gets no gradient; the others do.
  std::vector<LabeledText> docs = documents();
  docs[3].category = docs[5].category = "law";
  const DocumentCorpus corpus = make_document_corpus(docs, {});
  ASSERT_EQ(corpus.categories.size(), 2u);
  Rng rng(2);
  LanguageModel<float> model(config(corpus.vocab.size(), 3), rng);
  DocumentCorpus three = corpus;
  three.categories.push_back("unused");
  DocumentLmTask task(model, three, {.batch = 3, .seq_len = 16, .segment = 32});
  model.parameters().zero_grad();
  Rng step_rng(1);
  task.train_step(step_rng);
  const Tensor<float> g = model.parameters().get_grad("cond.weight");  // [S,3]
  double col[3] = {0, 0, 0};
  for (int64_t k = 0; k < g.dim(0); ++k)
    for (int64_t c = 0; c < 3; ++c) col[c] += std::abs(g.at(k, c));
  EXPECT_GT(col[0], 0.0);
  EXPECT_GT(col[1], 0.0);
  EXPECT_EQ(col[2], 0.0);
}

TrainerOptions trainer(const fs::path& dir, int64_t steps) {
  TrainerOptions o;
  o.max_steps = steps;
  o.eval_every = 5;
  o.checkpoint_every = 0;
  o.clip_norm = 1.0;
  o.optimizer_options = {{"lr", 3e-3}};
  o.seed = 9;
  o.run_dir = dir.string();
  o.progress = ProgressStyle::Off;
  return o;
}

struct Fixture {
  DocumentCorpus corpus;
  std::unique_ptr<LanguageModel<float>> model;
  std::unique_ptr<DocumentLmTask> task;
  Fixture(int64_t categories, DocumentTaskOptions options, uint64_t seed = 1, double dropout = 0.1) {
    corpus = make_document_corpus(documents(), {});
    Rng rng(seed);
    model = std::make_unique<LanguageModel<float>>(
        config(corpus.vocab.size(), categories, dropout), rng);
    task = std::make_unique<DocumentLmTask>(*model, corpus, options);
  }
};

TEST(LmDocumentContract, ResumeIsBitExact) {
  // More steps than windows per pass: the resumed run crosses a pass boundary too.
  const DocumentTaskOptions options{.batch = 3, .seq_len = 16, .segment = 48};
  for (int64_t categories : {int64_t{3}, int64_t{0}}) {
    const fs::path straight_dir = fresh_dir("straight" + std::to_string(categories));
    const fs::path resumed_dir = fresh_dir("resumed" + std::to_string(categories));
    Fixture straight(categories, options);
    const int64_t steps = straight.task->streams().windows() + 9;
    Trainer(trainer(straight_dir, steps), *straight.task).run();
    {
      Fixture first(categories, options);
      Trainer(trainer(resumed_dir, steps / 2), *first.task).run();
    }
    Fixture second(categories, options, /*seed=*/77);  // other init: the checkpoint must win
    TrainerOptions o = trainer(resumed_dir, steps);
    o.resume = true;
    Trainer(o, *second.task).run();
    const auto a = straight.model->parameters().values();
    const auto b = second.model->parameters().values();
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
        << "categories " << categories << ": resumed weights differ from the uninterrupted run";
    EXPECT_EQ(second.task->next_window(), straight.task->next_window());
    EXPECT_EQ(second.task->epoch(), straight.task->epoch());
    EXPECT_GT(straight.task->epoch(), 1.0);
  }
}

TEST(LmDocumentContract, CategoryNamesTravelAndMismatchesAreRefused) {
  const fs::path dir = fresh_dir("names");
  Fixture f(3, {.batch = 3, .seq_len = 16, .segment = 48}, 1, 0.0);
  Trainer(trainer(dir, 6), *f.task).run();
  const LoadedLm ckpt = load_lm((dir / "last.ckpt").string());
  EXPECT_EQ(ckpt.categories, f.corpus.categories);
  EXPECT_EQ(category_id(ckpt, "gospel"), 2);
  try {
    category_id(ckpt, "psalms");
    ADD_FAILURE() << "unknown category accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown category 'psalms': the model's 3 categories are law, poetry, gospel"),
              std::string::npos) << e.what();
  }
  save_lm_model((dir / "m.safetensors").string(), *f.model, f.corpus.vocab, {}, f.corpus.categories);
  const LoadedLm exported = load_lm((dir / "m.safetensors").string());
  EXPECT_EQ(exported.categories, f.corpus.categories);
  EXPECT_THROW(save_lm_model((dir / "bad.safetensors").string(), *f.model, f.corpus.vocab, {},
                             {"just one"}),
               Error);
  save_lm_model((dir / "nameless.safetensors").string(), *f.model, f.corpus.vocab);
  EXPECT_EQ(load_lm((dir / "nameless.safetensors").string()).categories,
            (std::vector<std::string>{"0", "1", "2"}));

  const Checkpoint c = Checkpoint::load((dir / "last.ckpt").string());
  auto message = [&](DocumentLmTask& task) -> std::string {
    try {
      task.load_state(c);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message(*f.task), "");
  // Another category list (two categories): named before the model difference.
  std::vector<LabeledText> docs = documents();
  docs[3].category = docs[5].category = "law";
  DocumentCorpus two = make_document_corpus(docs, {});
  Rng rng(1);
  LanguageModel<float> model2(config(two.vocab.size(), 2, 0.0), rng);
  DocumentLmTask task2(model2, two, {.batch = 3, .seq_len = 16, .segment = 48});
  EXPECT_NE(message(task2).find("another category list: 3 categories in the checkpoint (law, poetry, gospel), 2 now (law, poetry)"),
            std::string::npos) << message(task2);
  Fixture other_segment(3, {.batch = 3, .seq_len = 16, .segment = 32}, 1, 0.0);
  EXPECT_NE(message(*other_segment.task).find("--segment 48 in the checkpoint, 32 now"),
            std::string::npos) << message(*other_segment.task);
  Fixture unconditional(0, {.batch = 3, .seq_len = 16, .segment = 48}, 1, 0.0);
  EXPECT_NE(message(*unconditional.task).find("another model: num_categories 3 in the checkpoint, 0 now"),
            std::string::npos) << message(*unconditional.task);
}

}  // namespace
}  // namespace rnn::lm
