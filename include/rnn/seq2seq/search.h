// Decoding: greedy and beam search over any step-by-step scorer, batched (several sources
// at once, each with its own beam), and the translator that runs them on a Seq2Seq model.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "rnn/core/tensor.h"
#include "rnn/seq2seq/model.h"

namespace rnn::seq2seq {

// What search needs from a model: log-probabilities of the next token for N rows (one row
// per live hypothesis), and a way to keep / reorder / duplicate rows.
class StepScorer {
 public:
  virtual ~StepScorer() = default;
  virtual int64_t vocab_size() const = 0;
  // previous [N] -> log-probabilities [N,V]; advances every row by one token.
  virtual Tensor<float> log_probs(std::span<const int64_t> previous) = 0;
  // New row i continues old row rows[i].
  virtual void select(const std::vector<int64_t>& rows) = 0;
};

struct Hypothesis {
  std::vector<int64_t> ids;  // without <s>; ends with </s> unless cut at the length limit
  double log_prob = 0.0;     // sum of the tokens' log-probabilities
  double score = 0.0;        // log_prob / length^alpha (the ranking score)
};

struct SearchOptions {
  int64_t beam = 1;            // 1 = greedy
  double length_penalty = 1.0; // alpha in log_prob / length^alpha (0 = raw log-probability)
};

// Greedy: the most likely token at every step. Rows start in order 0..B-1 (one per source);
// row b stops at </s> or after max_steps[b] tokens.
std::vector<Hypothesis> greedy_search(StepScorer& scorer, const std::vector<int64_t>& max_steps,
                                      int64_t bos = 1, int64_t eos = 2);

// Beam search with `options.beam` hypotheses per source. At every step each source's live
// hypotheses are extended by every token; the best 2*beam by log-probability are looked at
// in order: one ending in </s> within the first `beam` ranks is finished (scored with the
// length normalisation), the others stay live until `beam` are live. A source is done when
// it has `beam` finished hypotheses, or at max_steps[b] (its live ones are then finished as
// they are). Returns each source's best finished hypothesis by score. beam = 1 is greedy.
std::vector<Hypothesis> beam_search(StepScorer& scorer, const std::vector<int64_t>& max_steps,
                                    const SearchOptions& options, int64_t bos = 1,
                                    int64_t eos = 2);

// A Seq2Seq model as a StepScorer for a batch of sources.
class Seq2SeqScorer final : public StepScorer {
 public:
  Seq2SeqScorer(const Seq2Seq<float>& model, const Tensor<int64_t>& src,
                const std::vector<int64_t>& lengths);
  int64_t vocab_size() const override { return model_.config().tgt_vocab; }
  Tensor<float> log_probs(std::span<const int64_t> previous) override;
  void select(const std::vector<int64_t>& rows) override;
  const Tensor<float>& last_weights() const { return weights_; }  // [N,S] of the last step

 private:
  const Seq2Seq<float>& model_;
  DecoderState<float> state_;
  Tensor<float> weights_;
};

struct TranslateOptions {
  SearchOptions search;
  int64_t batch = 32;          // sources decoded together
  int64_t max_length = 200;    // tokens generated at most
  double max_length_ratio = 2.0;  // ... and at most ratio * source tokens + 10
};

// Translates token-id sources (no <s> / </s>; none empty) in batches of options.batch, in
// order; `on_batch(first, hypotheses)` (optional) is called as each batch is done.
std::vector<Hypothesis> translate(
    const Seq2Seq<float>& model, const std::vector<std::vector<int64_t>>& sources,
    const TranslateOptions& options,
    const std::function<void(size_t first, const std::vector<Hypothesis>&)>& on_batch = {});

// Greedy translation of one source that also returns the attention weights
// [generated tokens][source tokens] (empty rows without attention).
Hypothesis translate_with_attention(const Seq2Seq<float>& model, const std::vector<int64_t>& source,
                                    int64_t max_length, std::vector<std::vector<double>>& weights);

}  // namespace rnn::seq2seq
