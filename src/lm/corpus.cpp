#include "rnn/lm/corpus.h"

#include <cmath>

#include "rnn/core/error.h"

namespace rnn::lm {

SplitRanges split_ranges(size_t total, double valid_fraction, double test_fraction,
                         const std::string& source) {
  check(valid_fraction > 0 && test_fraction > 0 && valid_fraction + test_fraction < 1,
        "corpus split: fractions must be positive and leave a training part, got validation ",
        valid_fraction, " test ", test_fraction);
  const auto test = static_cast<size_t>(std::floor(static_cast<double>(total) * test_fraction));
  const auto valid = static_cast<size_t>(std::floor(static_cast<double>(total) * valid_fraction));
  check(test >= 2 && valid >= 2 && total - test - valid >= 2, source, ": ", total,
        " tokens are too few to split into training, validation (", valid_fraction * 100,
        "%) and test (", test_fraction * 100, "%) parts of at least 2 tokens each");
  return {total - test - valid, total - test, total};
}

Corpus make_corpus(std::u32string_view text, const text::VocabularyOptions& options,
                   const std::string& source, double valid_fraction, double test_fraction) {
  const text::TokenStream stream = text::tokenize(text, options.level);
  const SplitRanges r = split_ranges(stream.ids.size(), valid_fraction, test_fraction, source);
  Corpus c;
  c.vocab = text::Vocabulary::build(stream, 0, r.train_end, options);
  auto part = [&](size_t begin, size_t end) {
    text::Vocabulary::Encoded e = c.vocab.map(stream, begin, end);
    Part p;
    p.ids = std::move(e.ids);
    p.unknown = e.unknown;
    return p;
  };
  c.train = part(0, r.train_end);
  c.valid = part(r.train_end, r.valid_end);
  c.test = part(r.valid_end, r.total);
  // Characters per part: exact at char level; at word level the text's characters shared
  // in proportion to the tokens (used only for bits per character of word models).
  if (options.level == text::TokenLevel::Char) {
    c.train.characters = static_cast<int64_t>(c.train.ids.size());
    c.valid.characters = static_cast<int64_t>(c.valid.ids.size());
    c.test.characters = static_cast<int64_t>(c.test.ids.size());
  } else {
    const double per_token =
        static_cast<double>(stream.characters) / static_cast<double>(stream.ids.size());
    auto chars = [&](const Part& p) {
      return static_cast<int64_t>(std::llround(per_token * static_cast<double>(p.ids.size())));
    };
    c.train.characters = chars(c.train);
    c.valid.characters = chars(c.valid);
    c.test.characters = chars(c.test);
  }
  return c;
}

TokenStreams::TokenStreams(std::span<const int64_t> tokens, int64_t batch, int64_t seq_len)
    : tokens_(tokens), batch_(batch), seq_len_(seq_len) {
  check(batch >= 1, "token streams: batch must be at least 1, got ", batch);
  check(seq_len >= 1, "token streams: window length must be at least 1, got ", seq_len);
  const auto n = static_cast<int64_t>(tokens.size());
  check(n - 1 >= batch, "token streams: ", n, " tokens are too few for ", batch,
        " streams (each needs at least 2 tokens); use a smaller batch or a longer text");
  length_ = (n - 1) / batch;
  windows_ = (length_ + seq_len - 1) / seq_len;
}

int64_t TokenStreams::window_steps(int64_t w) const {
  check(w >= 0 && w < windows_, "token streams: window ", w, " out of range [0, ", windows_, ")");
  return std::min(seq_len_, length_ - w * seq_len_);
}

void TokenStreams::window(int64_t w, Tensor<int64_t>& ids, Tensor<int64_t>& targets) const {
  const int64_t steps = window_steps(w);
  ids = Tensor<int64_t>({steps, batch_});
  targets = Tensor<int64_t>({steps, batch_});
  for (int64_t t = 0; t < steps; ++t) {
    for (int64_t b = 0; b < batch_; ++b) {
      const auto at = static_cast<size_t>(b * length_ + w * seq_len_ + t);
      ids[t * batch_ + b] = tokens_[at];
      targets[t * batch_ + b] = tokens_[at + 1];
    }
  }
}

}  // namespace rnn::lm
