#include "rnn/seq2seq/tokenizer.h"

#include <algorithm>
#include <map>
#include <queue>
#include <set>
#include <unordered_set>

#include "rnn/core/error.h"
#include "rnn/text/utf8.h"

namespace rnn::seq2seq {

namespace {

const char* const kEndOfWord = "</w>";
const char* const kJoiner = "@@";

bool is_space(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
         c == 0x00A0 || c == 0x3000 || (c >= 0x2000 && c <= 0x200A);
}

bool is_punct(char32_t c) {
  if (c < 0x80) {
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
  }
  switch (c) {
    case U'¿': case U'¡': case U'«': case U'»': case U'“': case U'”': case U'‘': case U'’':
    case U'—': case U'–': case U'…': case U'·':
      return true;
    default:
      return false;
  }
}

bool is_word_char(char32_t c) { return !is_space(c) && !is_punct(c); }

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string pair_key(const std::string& a, const std::string& b) { return a + '\x01' + b; }

}  // namespace

std::vector<std::string> split_words(std::string_view line, const std::string& source) {
  const std::u32string cps = text::decode_utf8(line, source);
  std::vector<std::string> out;
  std::u32string word;
  auto flush = [&] {
    if (!word.empty()) out.push_back(text::encode_utf8(word));
    word.clear();
  };
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t c = cps[i];
    if (is_space(c)) {
      flush();
    } else if (is_punct(c)) {
      // an apostrophe between two word characters stays inside the word
      const bool apostrophe = (c == U'\'' || c == U'’') && !word.empty() && i + 1 < cps.size() &&
                              is_word_char(cps[i + 1]);
      if (apostrophe) {
        word += c;
      } else {
        flush();
        out.push_back(text::encode_utf8(std::u32string(1, c)));
      }
    } else {
      word += c;
    }
  }
  flush();
  return out;
}

std::string join_words(const std::vector<std::string>& words) {
  static const std::set<std::string> closing = {".", ",", ";", ":", "!", "?", ")", "]", "}",
                                                "»", "”", "’", "…"};
  static const std::set<std::string> opening = {"¿", "¡", "(", "[", "{", "«", "“", "‘"};
  std::string out;
  bool glue_next = true;
  for (const std::string& w : words) {
    if (!glue_next && !closing.count(w)) out += ' ';
    out += w;
    glue_next = opening.count(w) > 0;
  }
  return out;
}

Tokenizer Tokenizer::learn(const std::vector<std::string>& lines, const TokenizerOptions& options) {
  check(options.bpe_merges >= 0, "tokenizer: bpe_merges must be >= 0, got ", options.bpe_merges);
  check(options.min_count >= 1, "tokenizer: min_count must be >= 1, got ", options.min_count);
  check(options.max_size == 0 || options.max_size >= 4,
        "tokenizer: max_size must be 0 (no limit) or at least 4, got ", options.max_size);
  std::map<std::string, int64_t> word_counts;
  for (size_t i = 0; i < lines.size(); ++i)
    for (std::string& w : split_words(lines[i], concat("training line ", i + 1)))
      ++word_counts[std::move(w)];

  Tokenizer tok;
  tok.bpe_ = options.bpe_merges > 0;
  std::map<std::string, int64_t> token_counts;
  std::set<std::string> base_chars;
  if (!tok.bpe_) {
    token_counts = word_counts;
  } else {
    // Each distinct word as symbols; the last one carries the end-of-word mark.
    struct Word {
      std::vector<std::string> symbols;
      int64_t count;
    };
    std::vector<Word> words;
    for (const auto& [w, n] : word_counts) {
      Word word{{}, n};
      for (char32_t c : text::decode_utf8(w, "word")) word.symbols.push_back(text::encode_utf8(std::u32string(1, c)));
      word.symbols.back() += kEndOfWord;
      words.push_back(std::move(word));
    }
    std::unordered_map<std::string, int64_t> pair_counts;
    std::unordered_map<std::string, std::unordered_set<size_t>> where;
    using Entry = std::pair<int64_t, std::string>;
    // Highest count first; ties: the smaller key first (deterministic).
    auto worse = [](const Entry& a, const Entry& b) {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    };
    std::priority_queue<Entry, std::vector<Entry>, decltype(worse)> queue(worse);
    auto add_pairs = [&](size_t wi, int64_t sign) {
      const Word& w = words[wi];
      for (size_t k = 0; k + 1 < w.symbols.size(); ++k) {
        const std::string key = pair_key(w.symbols[k], w.symbols[k + 1]);
        int64_t& c = pair_counts[key];
        c += sign * w.count;
        if (sign > 0) where[key].insert(wi);
      }
    };
    for (size_t wi = 0; wi < words.size(); ++wi) add_pairs(wi, +1);
    for (const auto& [key, c] : pair_counts) queue.push({c, key});
    while (static_cast<int64_t>(tok.merges_.size()) < options.bpe_merges && !queue.empty()) {
      const Entry top = queue.top();
      queue.pop();
      auto it = pair_counts.find(top.second);
      if (it == pair_counts.end() || it->second != top.first) continue;  // stale
      if (top.first < 1) break;
      const std::string key = top.second;
      const size_t cut = key.find('\x01');
      const std::string a = key.substr(0, cut), b = key.substr(cut + 1);
      tok.merges_.emplace_back(a, b);
      const std::unordered_set<size_t> affected = where[key];
      std::set<std::string> touched;
      for (size_t wi : affected) {
        Word& w = words[wi];
        bool has = false;
        for (size_t k = 0; k + 1 < w.symbols.size(); ++k)
          has = has || (w.symbols[k] == a && w.symbols[k + 1] == b);
        if (!has) continue;
        for (size_t k = 0; k + 1 < w.symbols.size(); ++k)
          touched.insert(pair_key(w.symbols[k], w.symbols[k + 1]));
        add_pairs(wi, -1);
        std::vector<std::string> merged;
        for (size_t k = 0; k < w.symbols.size(); ++k) {
          if (k + 1 < w.symbols.size() && w.symbols[k] == a && w.symbols[k + 1] == b) {
            merged.push_back(a + b);
            ++k;
          } else {
            merged.push_back(w.symbols[k]);
          }
        }
        w.symbols = std::move(merged);
        add_pairs(wi, +1);
        for (size_t k = 0; k + 1 < w.symbols.size(); ++k)
          touched.insert(pair_key(w.symbols[k], w.symbols[k + 1]));
      }
      pair_counts.erase(key);
      where.erase(key);
      for (const std::string& t : touched) {
        auto pc = pair_counts.find(t);
        if (pc != pair_counts.end() && pc->second > 0) queue.push({pc->second, t});
      }
    }
    for (size_t r = 0; r < tok.merges_.size(); ++r)
      tok.ranks_[pair_key(tok.merges_[r].first, tok.merges_[r].second)] = static_cast<int64_t>(r);
    for (const Word& w : words)
      for (const std::string& s : w.symbols) {
        token_counts[ends_with(s, kEndOfWord) ? s.substr(0, s.size() - 4) : s + kJoiner] += w.count;
      }
    // Every training character is kept in both forms, so a word made of known characters
    // never becomes <unk>.
    for (const auto& [w, n] : word_counts)
      for (char32_t c : text::decode_utf8(w, "word")) {
        const std::string s = text::encode_utf8(std::u32string(1, c));
        base_chars.insert(s);
        base_chars.insert(s + kJoiner);
      }
  }
  for (const std::string& c : base_chars) token_counts.emplace(c, 0);
  std::vector<std::pair<std::string, int64_t>> kept;
  for (const auto& [t, n] : token_counts)
    if (n >= options.min_count || base_chars.count(t)) kept.emplace_back(t, n);
  std::stable_sort(kept.begin(), kept.end(),
                   [](const auto& x, const auto& y) { return x.second > y.second; });
  std::vector<std::string> tokens{text::Vocabulary::kUnknownToken, "<s>", "</s>"};
  for (const auto& [t, n] : kept) {
    if (options.max_size > 0 && static_cast<int64_t>(tokens.size()) >= options.max_size) break;
    if (t == "<unk>" || t == "<s>" || t == "</s>") continue;
    tokens.push_back(t);
  }
  tok.vocab_ = text::Vocabulary(text::TokenLevel::Word, std::move(tokens));
  return tok;
}

std::vector<std::string> Tokenizer::segment(const std::string& word) const {
  auto cached = cache_.find(word);
  if (cached != cache_.end()) return cached->second;
  std::vector<std::string> symbols;
  for (char32_t c : text::decode_utf8(word, "word")) symbols.push_back(text::encode_utf8(std::u32string(1, c)));
  if (symbols.empty()) return {};
  symbols.back() += kEndOfWord;
  while (symbols.size() > 1) {
    int64_t best = -1;
    size_t at = 0;
    for (size_t k = 0; k + 1 < symbols.size(); ++k) {
      auto it = ranks_.find(pair_key(symbols[k], symbols[k + 1]));
      if (it != ranks_.end() && (best < 0 || it->second < best)) best = it->second, at = k;
    }
    if (best < 0) break;
    const std::string a = symbols[at], b = symbols[at + 1];
    std::vector<std::string> merged;
    for (size_t k = 0; k < symbols.size(); ++k) {
      if (k + 1 < symbols.size() && symbols[k] == a && symbols[k + 1] == b) {
        merged.push_back(a + b);
        ++k;
      } else {
        merged.push_back(symbols[k]);
      }
    }
    symbols = std::move(merged);
  }
  for (std::string& s : symbols) s = ends_with(s, kEndOfWord) ? s.substr(0, s.size() - 4) : s + kJoiner;
  if (cache_.size() < 200000) cache_.emplace(word, symbols);
  return symbols;
}

std::vector<std::string> Tokenizer::pieces(std::string_view line) const {
  std::vector<std::string> words = split_words(line);
  if (!bpe_) return words;
  std::vector<std::string> out;
  for (const std::string& w : words)
    for (std::string& p : segment(w)) out.push_back(std::move(p));
  return out;
}

std::vector<int64_t> Tokenizer::encode(std::string_view line, int64_t* unknown) const {
  std::vector<int64_t> ids;
  for (const std::string& p : pieces(line)) {
    const int64_t id = vocab_.id(p);
    if (id == kUnk && unknown) ++*unknown;
    ids.push_back(id);
  }
  return ids;
}

std::vector<std::string> Tokenizer::token_strings(std::span<const int64_t> ids) const {
  std::vector<std::string> out;
  for (int64_t id : ids) out.push_back(vocab_.token(id));
  return out;
}

std::string Tokenizer::decode(std::span<const int64_t> ids) const {
  std::vector<std::string> words;
  std::string pending;
  for (int64_t id : ids) {
    if (id == kBos || id == kEos) continue;
    std::string t = vocab_.token(id);
    if (bpe_ && ends_with(t, kJoiner)) {
      pending += t.substr(0, t.size() - 2);
      continue;
    }
    words.push_back(pending + t);
    pending.clear();
  }
  if (!pending.empty()) words.push_back(pending);
  return join_words(words);
}

nlohmann::json Tokenizer::to_json() const {
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& [a, b] : merges_) merges.push_back({a, b});
  return {{"kind", bpe_ ? "bpe" : "word"}, {"tokens", vocab_.tokens()}, {"merges", merges}};
}

Tokenizer Tokenizer::from_json(const nlohmann::json& j) {
  check(j.is_object(), "tokenizer: expected a JSON object");
  check(j.contains("kind") && j["kind"].is_string() &&
            (j["kind"] == "word" || j["kind"] == "bpe"),
        "tokenizer: 'kind' must be \"word\" or \"bpe\"");
  check(j.contains("tokens") && j["tokens"].is_array(), "tokenizer: missing array 'tokens'");
  check(j.contains("merges") && j["merges"].is_array(), "tokenizer: missing array 'merges'");
  Tokenizer tok;
  tok.bpe_ = j["kind"] == "bpe";
  std::vector<std::string> tokens;
  for (const auto& t : j["tokens"]) {
    check(t.is_string(), "tokenizer: token ", tokens.size(), " is not a string");
    tokens.push_back(t.get<std::string>());
  }
  check(tokens.size() >= 3 && tokens[1] == "<s>" && tokens[2] == "</s>",
        "tokenizer: the first tokens must be <unk>, <s>, </s>");
  tok.vocab_ = text::Vocabulary(text::TokenLevel::Word, std::move(tokens));
  for (const auto& m : j["merges"]) {
    check(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(),
          "tokenizer: merge ", tok.merges_.size(), " is not a pair of strings");
    tok.merges_.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    tok.ranks_[pair_key(tok.merges_.back().first, tok.merges_.back().second)] =
        static_cast<int64_t>(tok.merges_.size() - 1);
  }
  check(tok.bpe_ || tok.merges_.empty(), "tokenizer: a word tokenizer has no merges");
  return tok;
}

}  // namespace rnn::seq2seq
