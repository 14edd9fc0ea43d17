#include "rnn/seq2seq/bleu.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>
#include <unordered_map>

#include "rnn/core/error.h"
#include "rnn/text/utf8.h"

namespace rnn::seq2seq {

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

// ASCII characters that 13a always separates: { | } ~ [ \ ] ^ _ ` space ! " # $ % &
// ( ) * + : ; < = > ? @ /
bool is_13a_symbol(char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
         (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

std::vector<std::string> split_spaces(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

}  // namespace

std::string tokenize_13a(std::string_view input) {
  std::string line(input);
  replace_all(line, "<skipped>", "");
  replace_all(line, "-\n", "");
  replace_all(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    replace_all(line, "&quot;", "\"");
    replace_all(line, "&amp;", "&");
    replace_all(line, "&lt;", "<");
    replace_all(line, "&gt;", ">");
  }
  std::string padded;
  padded.reserve(line.size() * 2 + 2);
  padded += ' ';
  for (char c : line) {
    if (is_13a_symbol(c)) {
      padded += ' ';
      padded += c;
      padded += ' ';
    } else {
      padded += c;
    }
  }
  padded += ' ';
  // Left to right, non-overlapping, like the reference implementation's substitutions.
  static const std::regex period_after_non_digit("([^0-9])([\\.,])");
  static const std::regex period_before_non_digit("([\\.,])([^0-9])");
  static const std::regex dash_after_digit("([0-9])(-)");
  padded = std::regex_replace(padded, period_after_non_digit, "$1 $2 ");
  padded = std::regex_replace(padded, period_before_non_digit, " $1 $2");
  padded = std::regex_replace(padded, dash_after_digit, "$1 $2 ");
  std::string out;
  for (const std::string& w : split_spaces(padded)) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::string>& references, bool tokenize) {
  check(hypotheses.size() == references.size(), "corpus_bleu: ", hypotheses.size(),
        " hypotheses for ", references.size(), " references");
  BleuScore r;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    const std::vector<std::string> hyp =
        split_spaces(tokenize ? tokenize_13a(hypotheses[i]) : hypotheses[i]);
    const std::vector<std::string> ref =
        split_spaces(tokenize ? tokenize_13a(references[i]) : references[i]);
    r.hyp_length += static_cast<int64_t>(hyp.size());
    r.ref_length += static_cast<int64_t>(ref.size());
    for (size_t n = 1; n <= 4; ++n) {
      auto grams = [n](const std::vector<std::string>& words) {
        std::unordered_map<std::string, int64_t> counts;
        for (size_t s = 0; s + n <= words.size(); ++s) {
          std::string key = words[s];
          for (size_t k = 1; k < n; ++k) key += '\x01' + words[s + k];
          ++counts[key];
        }
        return counts;
      };
      const auto h = grams(hyp), g = grams(ref);
      for (const auto& [key, count] : h) {
        auto it = g.find(key);
        if (it != g.end()) r.matches[n - 1] += std::min(count, it->second);
        r.totals[n - 1] += count;
      }
    }
  }
  if (r.hyp_length == 0) return r;
  // "exp" smoothing: the k-th order with no match gets 1 / (2^k total).
  double smooth = 1.0, log_sum = 0.0;
  for (int n = 0; n < 4; ++n) {
    if (r.totals[n] == 0) {
      r.precisions[n] = 0.0;  // hypotheses shorter than n everywhere: BLEU is 0
      log_sum = -INFINITY;
      continue;
    }
    if (r.matches[n] == 0) {
      smooth *= 2.0;
      r.precisions[n] = 100.0 / (smooth * static_cast<double>(r.totals[n]));
    } else {
      r.precisions[n] =
          100.0 * static_cast<double>(r.matches[n]) / static_cast<double>(r.totals[n]);
    }
    log_sum += std::log(r.precisions[n] / 100.0);
  }
  r.brevity_penalty =
      r.hyp_length < r.ref_length
          ? std::exp(1.0 - static_cast<double>(r.ref_length) / static_cast<double>(r.hyp_length))
          : 1.0;
  r.score = std::isfinite(log_sum) ? 100.0 * r.brevity_penalty * std::exp(log_sum / 4.0) : 0.0;
  return r;
}

double corpus_chrf(const std::vector<std::string>& hypotheses,
                   const std::vector<std::string>& references) {
  check(hypotheses.size() == references.size(), "corpus_chrf: ", hypotheses.size(),
        " hypotheses for ", references.size(), " references");
  constexpr int kOrder = 6;
  constexpr double kBeta = 2.0;
  std::array<double, kOrder> n_hyp{}, n_ref{}, n_match{};
  auto chars = [](const std::string& s, const char* what) {
    std::u32string out;
    for (char32_t c : text::decode_utf8(s, what))
      if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'))
        out += c;
    return out;
  };
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    const std::u32string h = chars(hypotheses[i], "hypothesis"), g = chars(references[i], "reference");
    for (int n = 1; n <= kOrder; ++n) {
      std::unordered_map<std::u32string, int64_t> hc, gc;
      for (size_t s = 0; s + n <= h.size(); ++s) ++hc[h.substr(s, n)];
      for (size_t s = 0; s + n <= g.size(); ++s) ++gc[g.substr(s, n)];
      double match = 0;
      for (const auto& [k, c] : hc) {
        auto it = gc.find(k);
        if (it != gc.end()) match += static_cast<double>(std::min(c, it->second));
      }
      n_hyp[n - 1] += static_cast<double>(h.size() >= static_cast<size_t>(n) ? h.size() - n + 1 : 0);
      n_ref[n - 1] += static_cast<double>(g.size() >= static_cast<size_t>(n) ? g.size() - n + 1 : 0);
      n_match[n - 1] += match;
    }
  }
  const double eps = 1e-16, factor = kBeta * kBeta;
  double avg_prec = 0, avg_rec = 0;
  int effective = 0;
  for (int n = 0; n < kOrder; ++n) {
    avg_prec += n_hyp[n] > 0 ? n_match[n] / n_hyp[n] : eps;
    avg_rec += n_ref[n] > 0 ? n_match[n] / n_ref[n] : eps;
    if (n_hyp[n] > 0 && n_ref[n] > 0) ++effective;
  }
  if (effective == 0) return 0.0;
  avg_prec /= effective;
  avg_rec /= effective;
  if (avg_prec + avg_rec <= 0) return 0.0;
  return 100.0 * (1 + factor) * avg_prec * avg_rec / (factor * avg_prec + avg_rec);
}

}  // namespace rnn::seq2seq
