// A corpus for language modeling: the deterministic train / validation / test split, and
// the contiguous batched streams read by truncated BPTT.
//
// Letters: N tokens, B streams (batch), T window length (time steps), L stream length.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnn/core/tensor.h"
#include "rnn/text/vocabulary.h"

namespace rnn::lm {

// Token ranges of the split: train [0, train_end), validation [train_end, valid_end),
// test [valid_end, total). Test is the last floor(total * test_fraction) tokens, validation
// the floor(total * valid_fraction) before it; each part must hold at least 2 tokens.
struct SplitRanges {
  size_t train_end = 0;
  size_t valid_end = 0;
  size_t total = 0;
};
SplitRanges split_ranges(size_t total, double valid_fraction = 0.05, double test_fraction = 0.05,
                         const std::string& source = "text");

struct Part {
  std::vector<int64_t> ids;
  int64_t unknown = 0;     // tokens not in the vocabulary (mapped to <unk>)
  int64_t characters = 0;  // code points of the text the part covers
};

// A text split and mapped through a vocabulary built from its training part.
struct Corpus {
  text::Vocabulary vocab;
  Part train, valid, test;
};

// Tokenises `text`, splits it, builds the vocabulary from the training part (options),
// and maps the three parts. `source` names the text in errors.
Corpus make_corpus(std::u32string_view text, const text::VocabularyOptions& options,
                   const std::string& source, double valid_fraction = 0.05,
                   double test_fraction = 0.05);

// B contiguous streams over N tokens, read side by side, T steps per window:
//   L = floor((N - 1) / B); stream b reads inputs tokens[b*L + s] and predicts
//   tokens[b*L + s + 1] for s in [0, L). Window w covers s in [w*T, min((w+1)*T, L)):
//   the last window of a pass may be shorter. Every prediction of the B*L is made exactly
//   once per pass; the (N - 1) mod B last ones are left out. Hidden states carry from
//   window w to w + 1 and are reset to zero when a pass starts again (stream boundary).
class TokenStreams {
 public:
  // `tokens` must outlive the streams. Throws when N - 1 < B (a stream would be empty).
  TokenStreams(std::span<const int64_t> tokens, int64_t batch, int64_t seq_len);

  int64_t batch() const { return batch_; }
  int64_t seq_len() const { return seq_len_; }
  int64_t stream_length() const { return length_; }   // L
  int64_t windows() const { return windows_; }         // ceil(L / T)
  int64_t predictions() const { return length_ * batch_; }
  int64_t window_steps(int64_t w) const;               // T, or less for the last window

  // Window w: ids [Tw, B] (inputs), targets [Tw, B] (the tokens that follow).
  void window(int64_t w, Tensor<int64_t>& ids, Tensor<int64_t>& targets) const;

 private:
  std::span<const int64_t> tokens_;
  int64_t batch_, seq_len_, length_ = 0, windows_ = 0;
};

}  // namespace rnn::lm
