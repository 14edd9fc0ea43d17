// Parallel text for translation: SOURCE<TAB>TARGET files, length filtering, encoding with
// the two tokenizers, and padded batches.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnn/seq2seq/model.h"
#include "rnn/seq2seq/tokenizer.h"

namespace rnn::seq2seq {

struct TextPair {
  std::string source;
  std::string target;
  int64_t line = 0;  // 1-based line in its file
};

// Reads SOURCE<TAB>TARGET lines (UTF-8; a trailing "\r" is dropped; blank lines are
// skipped). Throws rnn::Error with one line "FILE:LINE: ..." for: a line without a tab, more
// than one tab, an empty (or all-space) source or target side, invalid UTF-8; and for a
// missing or unreadable file, or one with no pairs.
std::vector<TextPair> read_pairs(const std::string& path);

// Words of a side as counted for --max-words: runs of non-space characters.
int64_t count_words(const std::string& side);
// Pairs with at most `max_words` words on each side (0 = all).
std::vector<TextPair> filter_pairs(const std::vector<TextPair>& pairs, int64_t max_words);

struct EncodedPair {
  std::vector<int64_t> source;  // no <s> / </s>
  std::vector<int64_t> target;  // no <s> / </s>
};

struct EncodedPairs {
  std::vector<EncodedPair> pairs;
  int64_t source_unknown = 0;
  int64_t target_unknown = 0;
  int64_t source_tokens = 0;
  int64_t target_tokens = 0;
};

// Encodes both sides; a side that encodes to no token is an error naming the line.
EncodedPairs encode_pairs(const std::vector<TextPair>& pairs, const Tokenizer& source,
                          const Tokenizer& target, const std::string& path);

// A padded batch of pairs[indices]: src [S,B], tgt_in = <s> y, tgt_out = y </s>; padding
// ids are </s> (masked by the lengths).
Seq2SeqBatch make_batch(const std::vector<EncodedPair>& pairs, std::span<const int64_t> indices);

}  // namespace rnn::seq2seq
