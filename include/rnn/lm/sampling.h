// Sampling text from a language model: priming text, temperature, top-k, top-p
// (nucleus), greedy decoding, a seed, a length, and the output streamed piece by piece.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "rnn/core/rng.h"
#include "rnn/lm/model.h"
#include "rnn/text/vocabulary.h"

namespace rnn::lm {

struct SamplingOptions {
  double temperature = 1.0;    // > 0; logits are divided by it
  int64_t top_k = 0;           // keep the k most likely tokens; 0 = all
  double top_p = 1.0;          // keep the smallest most-likely set whose mass reaches p; 1 = all
  bool greedy = false;         // always the most likely token (the others are ignored)
  bool allow_unknown = false;  // <unk> (id 0) is never drawn unless this is set
  void validate() const;       // throws rnn::Error naming the bad field
};

// Draws the next token id from logits [V]: softmax(logits / temperature), restricted to
// top-k then top-p, renormalised, one uniform draw from `rng` (none when greedy). Ties
// in the ranking go to the lower id.
int64_t sample_next(std::span<const float> logits, const SamplingOptions& options, Rng& rng);

struct GenerateOptions {
  SamplingOptions sampling;
  int64_t length = 200;   // tokens to generate
  uint64_t seed = 1;
  std::string prime;      // UTF-8 text fed first (not repeated in the output); empty: a
                          // line break (else a space, else the first token) starts the text
  int64_t category = -1;  // conditional models: the category whose state starts the text
};

struct Generated {
  std::string text;           // the generated continuation
  std::vector<int64_t> ids;   // its token ids
  int64_t prime_tokens = 0;
  int64_t prime_unknown = 0;  // priming tokens not in the vocabulary
};

// Generates `length` tokens; `on_piece` (optional) receives each piece of text as soon as
// it is drawn. The same model, options and seed give the same text.
Generated generate(const LanguageModel<float>& model, const text::Vocabulary& vocab,
                   const GenerateOptions& options,
                   const std::function<void(const std::string&)>& on_piece = {});

}  // namespace rnn::lm
