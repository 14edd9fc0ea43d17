// Translation scores: corpus BLEU (Papineni et al. 2002, as sacreBLEU computes it by
// default: 4-grams, brevity penalty, "13a" tokenisation, "exp" smoothing) and chrF
// (Popovic 2015, as sacreBLEU: character 6-grams, beta 2, spaces removed).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rnn::seq2seq {

// The "13a" tokeniser of mteval-v13a / sacreBLEU: drops "<skipped>", joins "-\n", turns
// line breaks into spaces, unescapes &quot; &amp; &lt; &gt;, then puts spaces around
// punctuation and symbols, around '.' and ',' unless both neighbours are digits, and after
// a '-' that follows a digit; spaces collapsed and trimmed.
std::string tokenize_13a(std::string_view line);

struct BleuScore {
  double score = 0.0;                   // 0..100
  std::array<double, 4> precisions{};   // modified n-gram precisions, 0..100
  double brevity_penalty = 0.0;
  int64_t hyp_length = 0;               // tokens of all hypotheses
  int64_t ref_length = 0;               // tokens of all references
  std::array<int64_t, 4> matches{};     // clipped n-gram matches
  std::array<int64_t, 4> totals{};      // hypothesis n-grams
};

// Corpus BLEU of hypotheses against one reference each (same count; throws otherwise).
// BLEU = BP * exp(mean_n log p_n), BP = 1 if c > r else exp(1 - r/c); an order with no
// match uses p_n = 100 / (2^k * total_n) for its k-th such order ("exp" smoothing).
// `tokenize` = false takes the strings as already tokenised (split at spaces).
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::string>& references, bool tokenize = true);

// Corpus chrF (0..100): character n-gram (n = 1..6, code points, whitespace removed)
// statistics summed over the corpus; per order precision and recall, F_beta with beta = 2,
// averaged over the orders that occur in both hypothesis and reference.
double corpus_chrf(const std::vector<std::string>& hypotheses,
                   const std::vector<std::string>& references);

}  // namespace rnn::seq2seq
