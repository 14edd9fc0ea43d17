// Tokenisation for translation: words (frequency cut-off, unknown token) or subwords by
// byte-pair encoding (Sennrich et al. 2016) learned on the training split. One tokenizer per
// language; both are stored with the model as JSON.
//
// Words: a line is split at whitespace, then punctuation is cut off as tokens of its own
// (ASCII punctuation and ¿ ¡ « » “ ” ‘ ’ — – …; an apostrophe between two letters stays:
// "LORD's"). Letters, digits and every other code point make words. Case is kept.
// BPE: each word is split into code points with an end-of-word mark on the last, then the
// learned merges are applied in the order they were learned; a piece that does not end a
// word is written with the suffix "@@" ("shep@@ herd"), so decoding is exact.
// Detokenisation joins tokens with one space, none before closing punctuation
// (. , ; : ! ? ) ] } » ” ’ …) or after opening punctuation (¿ ¡ ( [ { « “ ‘).
//
// Ids: 0 "<unk>", 1 "<s>", 2 "</s>", then the kept tokens by decreasing training count
// (ties in byte order).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/text/vocabulary.h"

namespace rnn::seq2seq {

constexpr int64_t kUnk = 0;
constexpr int64_t kBos = 1;
constexpr int64_t kEos = 2;

// Words and punctuation of a line (see the header comment). Throws rnn::Error on invalid
// UTF-8, naming `source`.
std::vector<std::string> split_words(std::string_view line, const std::string& source = "input");

// Joins words with the spacing rules of the header comment.
std::string join_words(const std::vector<std::string>& words);

struct TokenizerOptions {
  int64_t bpe_merges = 0;  // 0 = word level
  int64_t min_count = 1;   // tokens seen fewer times in training become <unk>
  int64_t max_size = 0;    // most tokens kept, specials included (0 = no limit)
};

class Tokenizer {
 public:
  Tokenizer() = default;
  // Learns merges (BPE) and the vocabulary from training lines.
  static Tokenizer learn(const std::vector<std::string>& lines, const TokenizerOptions& options);

  bool is_bpe() const { return bpe_; }
  int64_t size() const { return vocab_.size(); }
  const std::vector<std::pair<std::string, std::string>>& merges() const { return merges_; }
  const text::Vocabulary& vocabulary() const { return vocab_; }

  // Token strings of a line (words, or subword pieces with "@@").
  std::vector<std::string> pieces(std::string_view line) const;
  // Ids of a line (no <s> / </s>); `unknown` (optional) counts tokens mapped to <unk>.
  std::vector<int64_t> encode(std::string_view line, int64_t* unknown = nullptr) const;
  // Text of ids; <s> and </s> are skipped, <unk> is written "<unk>". Throws on an id out of
  // range.
  std::string decode(std::span<const int64_t> ids) const;
  // Token strings of ids (for attention pictures).
  std::vector<std::string> token_strings(std::span<const int64_t> ids) const;

  // {"kind": "word"|"bpe", "tokens": [...], "merges": [[a, b], ...]}; from_json checks
  // everything and throws rnn::Error naming the problem.
  nlohmann::json to_json() const;
  static Tokenizer from_json(const nlohmann::json& j);

 private:
  std::vector<std::string> segment(const std::string& word) const;  // BPE pieces of one word
  bool bpe_ = false;
  std::vector<std::pair<std::string, std::string>> merges_;
  std::unordered_map<std::string, int64_t> ranks_;  // "a\x01b" -> merge rank
  text::Vocabulary vocab_;
  mutable std::unordered_map<std::string, std::vector<std::string>> cache_;
};

}  // namespace rnn::seq2seq
