// Learning: through the one trainer, an attention encoder-decoder learns to reverse short
// random words-sequences (a task that needs the attention to look at the right source
// position) within a fixed budget, and the same budget without attention does clearly worse.
#include <gtest/gtest.h>

#include <filesystem>

#include "rnn/kernels/gemm.h"
#include "rnn/seq2seq/bleu.h"
#include "rnn/seq2seq/task.h"

namespace rnn::seq2seq {
namespace {

std::vector<TextPair> reversal_pairs(int64_t n, uint64_t seed) {
  Rng rng(seed);
  const char* words[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
  std::vector<TextPair> out;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = 3 + static_cast<int64_t>(rng.below(4));
    std::vector<std::string> w;
    for (int64_t k = 0; k < len; ++k) w.push_back(words[rng.below(10)]);
    std::string src, tgt;
    for (int64_t k = 0; k < len; ++k) {
      src += (k ? " " : "") + w[static_cast<size_t>(k)];
      tgt += (k ? " " : "") + w[static_cast<size_t>(len - 1 - k)];
    }
    out.push_back({src, tgt, i + 1});
  }
  return out;
}

double train_and_score(AttentionScore score) {
  const std::vector<TextPair> train = reversal_pairs(2000, 1), valid = reversal_pairs(100, 2);
  std::vector<std::string> src, tgt;
  for (const TextPair& p : train) src.push_back(p.source), tgt.push_back(p.target);
  const Tokenizer source = Tokenizer::learn(src, {}), target = Tokenizer::learn(tgt, {});
  const EncodedPairs tr = encode_pairs(train, source, target, "train");
  const EncodedPairs va = encode_pairs(valid, source, target, "valid");
  Seq2SeqConfig c;
  c.src_vocab = source.size();
  c.tgt_vocab = target.size();
  c.embed_size = 16;
  c.hidden_size = 24;
  c.attention = score;
  Rng rng(3);
  Seq2Seq<float> model(c, rng);
  Seq2SeqTask task(model, source, target, tr, va, valid, {.batch = 32, .label_smoothing = 0.0, .valid_bleu_pairs = 0});
  TrainerOptions o;
  o.max_steps = 300;
  o.eval_every = 0;
  o.checkpoint_every = 0;
  o.optimizer_options = {{"lr", 1e-2}};
  o.clip_norm = 5.0;
  o.progress = ProgressStyle::Off;
  o.run_dir = (std::filesystem::temp_directory_path() / ("rnn_s2s_learn_" + to_string(score))).string();
  std::filesystem::remove_all(o.run_dir);
  Trainer(o, task).run();
  std::vector<std::vector<int64_t>> sources;
  std::vector<std::string> refs, hyps;
  for (size_t i = 0; i < va.pairs.size(); ++i) sources.push_back(va.pairs[i].source), refs.push_back(valid[i].target);
  for (const Hypothesis& h : translate(model, sources, {})) hyps.push_back(target.decode(h.ids));
  return corpus_bleu(hyps, refs).score;
}

TEST(Seq2SeqLearning, AttentionLearnsReversalAndBeatsNoAttention) {
  kernels::set_num_threads(1);
  const double with = train_and_score(AttentionScore::General);
  const double without = train_and_score(AttentionScore::None);
  std::cout << "reversal BLEU: attention " << with << ", none " << without << "\n";
  EXPECT_GT(with, 80.0);
  EXPECT_GT(with, without + 15.0);
}

}  // namespace
}  // namespace rnn::seq2seq
