// Tokenisation for language models: characters (Unicode code points) or words, and the
// vocabulary that maps tokens to ids, built from the training text and stored with the
// model as JSON.
//
// Word level splits on whitespace; a word is a run of letters, digits and any non-ASCII
// code point (an apostrophe between two such characters stays inside: "LORD's"); every
// other ASCII punctuation character is a token of its own and a line break is the token
// "\n". Spaces and tabs are not tokens: decode() joins words with one space (none before
// closing punctuation or around line breaks), so word-level round trips are approximate.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace rnn::text {

enum class TokenLevel { Char, Word };
std::string to_string(TokenLevel level);           // "char", "word"
TokenLevel token_level_from_string(const std::string& name);  // throws on anything else

// The text cut into tokens, each distinct token stored once (`types`, UTF-8, in order of
// first occurrence) and the text as indices into them.
struct TokenStream {
  std::vector<std::string> types;
  std::vector<int32_t> ids;
  int64_t characters = 0;  // code points of the text the tokens came from
};

// Cuts `text` into tokens at `level`.
TokenStream tokenize(std::u32string_view text, TokenLevel level);

struct VocabularyOptions {
  TokenLevel level = TokenLevel::Char;
  int64_t max_size = 0;   // most tokens kept, <unk> included (0 = no limit); the most
                          // frequent are kept, ties broken by token order
  int64_t min_count = 1;  // tokens seen fewer times in the training text become <unk>
};

// Id 0 is always the unknown token "<unk>" (it decodes to U+FFFD at char level and to
// "<unk>" at word level). Then the kept tokens: at char level in code point order, at
// word level by decreasing count (ties in byte order).
class Vocabulary {
 public:
  static constexpr int64_t kUnknown = 0;
  static constexpr const char* kUnknownToken = "<unk>";

  Vocabulary() = default;
  // Builds from tokens [begin, end) of `stream` (the training split).
  static Vocabulary build(const TokenStream& stream, size_t begin, size_t end,
                          const VocabularyOptions& options);
  // From an explicit token list (id 0 must be "<unk>"); throws on duplicates.
  Vocabulary(TokenLevel level, std::vector<std::string> tokens);

  TokenLevel level() const { return level_; }
  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  const std::string& token(int64_t id) const;
  const std::vector<std::string>& tokens() const { return tokens_; }
  // The id of a token, or kUnknown.
  int64_t id(const std::string& token) const;

  struct Encoded {
    std::vector<int64_t> ids;
    int64_t unknown = 0;      // tokens mapped to <unk>
    int64_t characters = 0;   // code points of the text
  };
  // Maps tokens [begin, end) of a stream (unknown ones counted).
  Encoded map(const TokenStream& stream, size_t begin, size_t end) const;
  // Tokenizes at this vocabulary's level and maps.
  Encoded encode(std::u32string_view text) const;
  // Text for ids (see the header comment for word level); throws on an id out of range.
  std::string decode(std::span<const int64_t> ids) const;
  // Text of one token as streamed while sampling, given the id before it (-1 for the
  // first token: no leading space at word level).
  std::string piece(int64_t id, int64_t previous) const;

  // {"level": "char"|"word", "tokens": [...]}. from_json checks everything and throws
  // rnn::Error naming the problem.
  nlohmann::json to_json() const;
  static Vocabulary from_json(const nlohmann::json& j);

  bool operator==(const Vocabulary& other) const {
    return level_ == other.level_ && tokens_ == other.tokens_;
  }

 private:
  void index();
  TokenLevel level_ = TokenLevel::Char;
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> ids_;
};

}  // namespace rnn::text
