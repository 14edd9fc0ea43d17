// Learning: through the one trainer, a small bidirectional LSTM with CTC learns to
// transcribe synthetic "speech": each of four words is two tones in a row (two words share
// their tones in opposite orders, so the order matters), utterances are 1 to 4 words with
// random gaps, tone lengths, pitch jitter, levels and noise, and the features are the real
// log-mel front end with per-utterance normalisation. Greedy CER on held-out utterances
// must fall from the untrained model's (over 100%: it emits a word at most steps) to well
// below chance in 300 steps (measured: 338% -> 0.8%, about a second).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <numbers>
#include <string>
#include <vector>

#include "rnn/asr/data.h"
#include "rnn/asr/model.h"
#include "rnn/asr/task.h"
#include "rnn/core/rng.h"
#include "rnn/features/logmel.h"
#include "rnn/kernels/gemm.h"
#include "rnn/train/trainer.h"

namespace {

using namespace rnn;
using namespace rnn::asr;

constexpr int64_t kRate = 8000;
// word -> its two tones, Hz
const std::vector<std::pair<std::string, std::pair<double, double>>> kWords = {
    {"one", {500, 1500}}, {"two", {1500, 500}}, {"three", {900, 2800}}, {"four", {2200, 700}}};

// One utterance: samples at kRate and its transcript.
std::pair<std::vector<float>, std::string> utterance(Rng& rng) {
  std::vector<float> x;
  std::string text;
  auto silence = [&](double seconds) { x.resize(x.size() + static_cast<size_t>(seconds * kRate), 0.0f); };
  silence(rng.uniform(0.02, 0.10));
  const auto words = 1 + static_cast<int>(rng.below(4));
  const double level = rng.uniform(0.1, 0.8);
  for (int w = 0; w < words; ++w) {
    const auto& [name, tones] = kWords[rng.below(kWords.size())];
    if (!text.empty()) text += ' ';
    text += name;
    for (const double hz : {tones.first, tones.second}) {
      const double f = hz * rng.uniform(0.95, 1.05);
      const auto n = static_cast<int64_t>(rng.uniform(0.05, 0.08) * kRate);
      for (int64_t i = 0; i < n; ++i)
        x.push_back(static_cast<float>(level * std::sin(2.0 * std::numbers::pi * f * static_cast<double>(i) / kRate)));
    }
    silence(rng.uniform(0.03, 0.10));
  }
  for (float& v : x) v += static_cast<float>(0.02 * level * rng.uniform(-1.0, 1.0));
  return {x, text};
}

FeatureSet make_set(int count, Rng& rng, features::LogMel& logmel, const features::Normalizer& norm) {
  FeatureSet set;
  for (int i = 0; i < count; ++i) {
    auto [samples, text] = utterance(rng);
    Tensor<float> f = logmel.compute(samples);
    norm.apply(f);
    set.features.push_back(std::move(f));
    set.utterances.push_back({"synthetic" + std::to_string(i), text, "", "synthetic:" + std::to_string(i)});
  }
  return set;
}

TEST(AsrLearning, BiLstmCtcLearnsTonePatternWords) {
  kernels::set_num_threads(1);
  AsrConfig config;
  config.features.sample_rate = kRate;
  config.features.n_mels = 16;
  config.features.fmax = 3800;
  config.stack = 2;
  config.hidden_size = 24;
  config.num_layers = 1;
  std::vector<Utterance> names;
  for (const auto& [word, tones] : kWords) names.push_back({"", word, "", ""});
  config.tokens = Tokens::build(Tokens::Level::Word, names);

  features::LogMel logmel(config.features);
  const features::Normalizer norm;  // per utterance
  Rng data_rng(11);
  FeatureSet train = make_set(160, data_rng, logmel, norm);
  FeatureSet valid = make_set(40, data_rng, logmel, norm);
  for (FeatureSet* s : {&train, &valid})
    for (const Utterance& u : s->utterances) s->targets.push_back(config.tokens.encode(u.text, u.source));

  Rng init(5);
  AsrModel model(config, init);
  const double cer_before = evaluate(model, valid, 40).errors.cer();
  AsrTask task(model, norm, train, valid, {.batch = 8, .freq_masks = 0, .time_masks = 0});
  TrainerOptions o;
  o.max_steps = 300;
  o.eval_every = 0;
  o.checkpoint_every = 0;
  o.optimizer_options = {{"lr", 1e-2}};
  o.clip_norm = 5.0;
  o.progress = ProgressStyle::Off;
  o.run_dir = (std::filesystem::temp_directory_path() / "rnn_asr_learning").string();
  std::filesystem::remove_all(o.run_dir);
  Trainer(o, task).run();
  const AsrEvaluation after = evaluate(model, valid, 40);
  const AsrEvaluation beam = evaluate(model, valid, 40, 4);
  std::cout << "tone words: greedy CER " << cer_before << " -> " << after.errors.cer() << ", WER "
            << after.errors.wer() << ", string accuracy " << after.errors.string_accuracy()
            << "; beam 4 CER " << beam.errors.cer() << "\n";
  std::filesystem::remove_all(o.run_dir);
  // Chance: emitting nothing scores CER 1, a random word string of the right length 0.75.
  EXPECT_GT(cer_before, 0.6);
  EXPECT_LT(after.errors.cer(), 0.15);
  EXPECT_GT(after.errors.string_accuracy(), 0.6);
  EXPECT_LT(beam.errors.cer(), 0.15);
}

}  // namespace
