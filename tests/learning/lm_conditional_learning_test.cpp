// Learning: a conditional language model uses its category. Two categories write the same
// four letters in opposite cycles ("up": abcdabcd..., "down": dcbadcba...), starting at a
// random letter. From one letter alone the direction is unknown (an unconditional model
// must guess: ln 2 nats on the first prediction of every segment); the category gives it.
// Trained through the one Trainer on the same streams and budget, the conditional model's
// validation loss is well below the unconditional one's, and generating from each
// category alone (the one-to-many case) writes that category's cycle.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "rnn/lm/document_task.h"
#include "rnn/lm/documents.h"
#include "rnn/lm/evaluation.h"
#include "rnn/lm/model.h"
#include "rnn/lm/sampling.h"
#include "rnn/train/trainer.h"

namespace rnn::lm {
namespace {

std::vector<LabeledText> cycles() {
  Rng rng(3);
  std::vector<LabeledText> docs;
  for (int d = 0; d < 8; ++d) {
    const bool up = d % 2 == 0;
    std::u32string t;
    auto letter = static_cast<int>(rng.below(4));
    for (int i = 0; i < 400; ++i) {
      t += static_cast<char32_t>(U'a' + letter);
      letter = (letter + (up ? 1 : 3)) % 4;
    }
    docs.push_back({up ? "up" : "down", t, "doc" + std::to_string(d)});
  }
  return docs;
}

double train_and_score(const DocumentCorpus& corpus, int64_t categories,
                       std::unique_ptr<LanguageModel<float>>& model) {
  LmConfig c;
  c.vocab_size = corpus.vocab.size();
  c.embed_size = 8;
  c.rnn = {.mode = CellMode::LSTM, .hidden_size = 16, .num_layers = 1};
  c.num_categories = categories;
  Rng rng(1);
  model = std::make_unique<LanguageModel<float>>(c, rng);
  // Segments of 9 predictions: a cycle of 4 letters then starts a segment on every letter.
  const DocumentTaskOptions options{.batch = 8, .seq_len = 9, .segment = 9};
  DocumentLmTask task(*model, corpus, options);
  TrainerOptions o;
  o.max_steps = 400;
  o.eval_every = 0;
  o.checkpoint_every = 0;
  o.optimizer_options = {{"lr", 1e-2}};
  o.clip_norm = 5;
  o.run_dir = (std::filesystem::temp_directory_path() /
               ("rnn_lm_conditional_learning_" + std::to_string(categories)))
                  .string();
  std::filesystem::remove_all(o.run_dir);
  o.progress = ProgressStyle::Off;
  Trainer(o, task).run();
  return evaluate_documents(*model, corpus.valid, 2, {.batch = 8, .seq_len = 9, .segment = 9})
      .all.loss;
}

TEST(LmConditionalLearning, TheCategoryLowersValidationLossAndSteersGeneration) {
  const DocumentCorpus corpus = make_document_corpus(cycles(), {});
  ASSERT_EQ(corpus.categories, (std::vector<std::string>{"up", "down"}));
  std::unique_ptr<LanguageModel<float>> conditional, unconditional;
  const double with = train_and_score(corpus, 2, conditional);
  const double without = train_and_score(corpus, 0, unconditional);
  // The unconditional floor: ln 2 on the first of every 9 predictions, about 0.077.
  std::cerr << "validation loss: conditional " << with << ", unconditional " << without
            << " nats/token\n";
  EXPECT_GT(without, 0.05);
  EXPECT_LT(with, 0.5 * without);

  for (int64_t c = 0; c < 2; ++c) {
    GenerateOptions g;
    g.prime = "a";
    g.length = 9;  // the segment length trained
    g.category = c;
    g.sampling.greedy = true;
    const std::string text = generate(*conditional, corpus.vocab, g).text;
    EXPECT_EQ(text, c == 0 ? "bcdabcdab" : "dcbadcbad") << corpus.categories[static_cast<size_t>(c)];
  }
}

}  // namespace
}  // namespace rnn::lm
