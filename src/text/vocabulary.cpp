#include "rnn/text/vocabulary.h"

#include <algorithm>
#include <numeric>

#include "rnn/core/error.h"
#include "rnn/text/utf8.h"

namespace rnn::text {

std::string to_string(TokenLevel level) { return level == TokenLevel::Char ? "char" : "word"; }

TokenLevel token_level_from_string(const std::string& name) {
  if (name == "char") return TokenLevel::Char;
  if (name == "word") return TokenLevel::Word;
  fail("unknown token level '", name, "' (expected char or word)");
}

namespace {

bool is_word_char(char32_t c) {
  if (c >= 0x80) return c != 0xA0 && c != 0x2028 && c != 0x2029 && c != 0x3000 && c != 0xFEFF;
  return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || (c >= U'0' && c <= U'9') ||
         c == U'_';
}
bool is_space(char32_t c) {
  return c == U' ' || c == U'\t' || c == U'\r' || c == U'\f' || c == U'\v' || c == 0xA0 ||
         c == 0x3000;
}

class Interner {
 public:
  explicit Interner(TokenStream& s) : s_(s) {}
  void add(const std::string& token) {
    auto [it, inserted] = index_.try_emplace(token, static_cast<int32_t>(s_.types.size()));
    if (inserted) s_.types.push_back(token);
    s_.ids.push_back(it->second);
  }

 private:
  TokenStream& s_;
  std::unordered_map<std::string, int32_t> index_;
};

}  // namespace

TokenStream tokenize(std::u32string_view text, TokenLevel level) {
  TokenStream s;
  s.characters = static_cast<int64_t>(text.size());
  if (level == TokenLevel::Char) {
    std::unordered_map<char32_t, int32_t> index;
    s.ids.reserve(text.size());
    for (char32_t c : text) {
      auto [it, inserted] = index.try_emplace(c, static_cast<int32_t>(s.types.size()));
      if (inserted) {
        std::string token;
        append_utf8(token, c);
        s.types.push_back(std::move(token));
      }
      s.ids.push_back(it->second);
    }
    return s;
  }
  Interner interner(s);
  const size_t n = text.size();
  size_t i = 0;
  std::string word;
  while (i < n) {
    const char32_t c = text[i];
    if (is_word_char(c)) {
      word.clear();
      while (i < n) {
        if (is_word_char(text[i])) {
          append_utf8(word, text[i]);
          ++i;
        } else if ((text[i] == U'\'' || text[i] == 0x2019) && i + 1 < n &&
                   is_word_char(text[i + 1])) {
          append_utf8(word, text[i]);
          ++i;
        } else {
          break;
        }
      }
      interner.add(word);
    } else if (c == U'\n') {
      interner.add("\n");
      ++i;
    } else if (is_space(c)) {
      ++i;
    } else {
      std::string p;
      append_utf8(p, c);
      interner.add(p);
      ++i;
    }
  }
  return s;
}

Vocabulary::Vocabulary(TokenLevel level, std::vector<std::string> tokens)
    : level_(level), tokens_(std::move(tokens)) {
  check(!tokens_.empty() && tokens_[0] == kUnknownToken,
        "vocabulary: the first token must be <unk>");
  index();
}

void Vocabulary::index() {
  ids_.clear();
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const auto [it, inserted] = ids_.emplace(tokens_[i], static_cast<int64_t>(i));
    check(inserted, "vocabulary: token '", tokens_[i], "' appears twice (ids ", it->second, " and ",
          i, ")");
    if (level_ == TokenLevel::Char && i > 0) {
      const std::u32string cps = decode_utf8(tokens_[i], "vocabulary token");
      check(cps.size() == 1, "vocabulary: character token ", i, " '", tokens_[i],
            "' is not one code point");
    }
  }
}

Vocabulary Vocabulary::build(const TokenStream& stream, size_t begin, size_t end,
                             const VocabularyOptions& options) {
  check(begin <= end && end <= stream.ids.size(), "Vocabulary::build: range [", begin, ", ", end,
        ") outside the ", stream.ids.size(), " tokens");
  check(options.max_size == 0 || options.max_size >= 2,
        "vocabulary: max size must be 0 (no limit) or at least 2, got ", options.max_size);
  check(options.min_count >= 1, "vocabulary: min count must be at least 1, got ",
        options.min_count);
  std::vector<int64_t> counts(stream.types.size(), 0);
  for (size_t i = begin; i < end; ++i) ++counts[static_cast<size_t>(stream.ids[i])];
  std::vector<size_t> kept;
  for (size_t t = 0; t < counts.size(); ++t)
    if (counts[t] >= options.min_count && stream.types[t] != kUnknownToken) kept.push_back(t);
  // Most frequent first (ties in byte order) to apply the size limit.
  std::sort(kept.begin(), kept.end(), [&](size_t a, size_t b) {
    if (counts[a] != counts[b]) return counts[a] > counts[b];
    return stream.types[a] < stream.types[b];
  });
  if (options.max_size > 0 && static_cast<int64_t>(kept.size()) > options.max_size - 1)
    kept.resize(static_cast<size_t>(options.max_size - 1));
  if (options.level == TokenLevel::Char) {
    // Code point order (UTF-8 byte order is code point order).
    std::sort(kept.begin(), kept.end(),
              [&](size_t a, size_t b) { return stream.types[a] < stream.types[b]; });
  }
  std::vector<std::string> tokens{kUnknownToken};
  for (size_t t : kept) tokens.push_back(stream.types[t]);
  return Vocabulary(options.level, std::move(tokens));
}

const std::string& Vocabulary::token(int64_t id) const {
  check(id >= 0 && id < size(), "vocabulary: id ", id, " out of range [0, ", size(), ")");
  return tokens_[static_cast<size_t>(id)];
}

int64_t Vocabulary::id(const std::string& token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? kUnknown : it->second;
}

Vocabulary::Encoded Vocabulary::map(const TokenStream& stream, size_t begin, size_t end) const {
  check(begin <= end && end <= stream.ids.size(), "Vocabulary::map: range [", begin, ", ", end,
        ") outside the ", stream.ids.size(), " tokens");
  std::vector<int64_t> type_to_id(stream.types.size());
  for (size_t t = 0; t < stream.types.size(); ++t) {
    // "<unk>" spelled out in a text is an unknown token, not the unknown token's id.
    type_to_id[t] = stream.types[t] == kUnknownToken ? kUnknown : id(stream.types[t]);
  }
  Encoded e;
  e.ids.resize(end - begin);
  for (size_t i = begin; i < end; ++i) {
    const int64_t v = type_to_id[static_cast<size_t>(stream.ids[i])];
    e.ids[i - begin] = v;
    if (v == kUnknown) ++e.unknown;
  }
  e.characters = stream.characters;
  return e;
}

Vocabulary::Encoded Vocabulary::encode(std::u32string_view text) const {
  const TokenStream s = tokenize(text, level_);
  return map(s, 0, s.ids.size());
}

namespace {
bool closes(const std::string& t) {
  return t == "." || t == "," || t == ";" || t == ":" || t == "!" || t == "?" || t == ")" ||
         t == "]" || t == "}" || t == "'";
}
bool opens(const std::string& t) { return t == "(" || t == "[" || t == "{"; }
}  // namespace

std::string Vocabulary::piece(int64_t id, int64_t previous) const {
  const std::string& t = token(id);
  if (level_ == TokenLevel::Char) return id == kUnknown ? std::string("\xEF\xBF\xBD") : t;
  if (previous < 0 || t == "\n" || closes(t)) return t;
  const std::string& p = token(previous);
  if (p == "\n" || opens(p)) return t;
  return " " + t;
}

std::string Vocabulary::decode(std::span<const int64_t> ids) const {
  std::string out;
  int64_t previous = -1;
  for (int64_t id : ids) {
    out += piece(id, previous);
    previous = id;
  }
  return out;
}

nlohmann::json Vocabulary::to_json() const {
  return {{"level", to_string(level_)}, {"tokens", tokens_}};
}

Vocabulary Vocabulary::from_json(const nlohmann::json& j) {
  check(j.is_object(), "vocabulary: expected a JSON object");
  check(j.contains("level") && j["level"].is_string(), "vocabulary: missing string 'level'");
  check(j.contains("tokens") && j["tokens"].is_array(), "vocabulary: missing array 'tokens'");
  std::vector<std::string> tokens;
  for (const auto& t : j["tokens"]) {
    check(t.is_string(), "vocabulary: token ", tokens.size(), " is not a string");
    tokens.push_back(t.get<std::string>());
  }
  return Vocabulary(token_level_from_string(j["level"].get<std::string>()), std::move(tokens));
}

}  // namespace rnn::text
