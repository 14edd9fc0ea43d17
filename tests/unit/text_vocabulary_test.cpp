// Tokenisation and vocabularies: characters are code points, words split as documented,
// <unk> at id 0, size limit and minimum count, unknown tokens counted, JSON round trip.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rnn/core/error.h"
#include "rnn/text/utf8.h"
#include "rnn/text/vocabulary.h"

namespace rnn::text {
namespace {

std::vector<std::string> words(const std::u32string& text) {
  const TokenStream s = tokenize(text, TokenLevel::Word);
  std::vector<std::string> out;
  for (int32_t id : s.ids) out.push_back(s.types[static_cast<size_t>(id)]);
  return out;
}

TEST(TextVocabulary, CharactersAreCodePoints) {
  const std::u32string text = decode_utf8("h\xC3\xA9h\xF0\x9D\x84\x9E", "t");  // "héh𝄞"
  const TokenStream s = tokenize(text, TokenLevel::Char);
  EXPECT_EQ(s.ids.size(), 4u);
  EXPECT_EQ(s.types.size(), 3u);
  EXPECT_EQ(s.characters, 4);
  const Vocabulary v = Vocabulary::build(s, 0, s.ids.size(), {});
  ASSERT_EQ(v.size(), 4);
  EXPECT_EQ(v.token(0), "<unk>");
  EXPECT_EQ(v.token(1), "h");  // code point order
  EXPECT_EQ(v.token(2), "\xC3\xA9");
  EXPECT_EQ(v.token(3), "\xF0\x9D\x84\x9E");
  const Vocabulary::Encoded e = v.encode(decode_utf8("h\xC3\xA9x", "t"));
  EXPECT_EQ(e.ids, (std::vector<int64_t>{1, 2, 0}));
  EXPECT_EQ(e.unknown, 1);
  EXPECT_EQ(v.decode(e.ids), "h\xC3\xA9\xEF\xBF\xBD");  // <unk> decodes to U+FFFD
}

TEST(TextVocabulary, WordSplitting) {
  EXPECT_EQ(words(U"In the beginning, God's word.\r\nAnd  (it) was"),
            (std::vector<std::string>{"In", "the", "beginning", ",", "God's", "word", ".", "\n",
                                      "And", "(", "it", ")", "was"}));
  EXPECT_EQ(words(U"caf\u00E9 na\u00EFve 'quoted'"),
            (std::vector<std::string>{"caf\xC3\xA9", "na\xC3\xAFve", "'", "quoted", "'"}));
  const TokenStream s = tokenize(U"a b, c.\nd", TokenLevel::Word);
  const Vocabulary v = Vocabulary::build(s, 0, s.ids.size(), {.level = TokenLevel::Word});
  EXPECT_EQ(v.decode(v.map(s, 0, s.ids.size()).ids), "a b, c.\nd");
}

TEST(TextVocabulary, SizeLimitAndMinCount) {
  const TokenStream s = tokenize(U"aaaabbbccd", TokenLevel::Char);
  const Vocabulary limited = Vocabulary::build(s, 0, s.ids.size(), {.max_size = 3});
  EXPECT_EQ(limited.tokens(), (std::vector<std::string>{"<unk>", "a", "b"}));
  const Vocabulary min2 = Vocabulary::build(s, 0, s.ids.size(), {.min_count = 2});
  EXPECT_EQ(min2.tokens(), (std::vector<std::string>{"<unk>", "a", "b", "c"}));
  EXPECT_EQ(min2.map(s, 0, s.ids.size()).unknown, 1);
  // Built from a range only (the training split): later tokens are unknown.
  const Vocabulary head = Vocabulary::build(s, 0, 4, {});
  EXPECT_EQ(head.size(), 2);
  EXPECT_EQ(head.map(s, 4, s.ids.size()).unknown, 6);

  const TokenStream w = tokenize(U"the cat the dog the cat a", TokenLevel::Word);
  const Vocabulary wv =
      Vocabulary::build(w, 0, w.ids.size(), {.level = TokenLevel::Word, .max_size = 3});
  EXPECT_EQ(wv.tokens(), (std::vector<std::string>{"<unk>", "the", "cat"}));  // by count
  EXPECT_THROW(Vocabulary::build(s, 0, s.ids.size(), {.max_size = 1}), Error);
}

TEST(TextVocabulary, LiteralUnkInTextIsUnknown) {
  const TokenStream s = tokenize(U"a<unk>b", TokenLevel::Word);
  const Vocabulary v = Vocabulary::build(s, 0, s.ids.size(), {.level = TokenLevel::Word});
  EXPECT_EQ(v.id("<unk>"), 0);
  EXPECT_EQ(v.size(), 6);  // <unk> a < unk > b: "<", ">" and "unk" are ordinary tokens
}

TEST(TextVocabulary, JsonRoundTripAndErrors) {
  const TokenStream s = tokenize(U"line\n\"quoted\"\t\u00E9", TokenLevel::Char);
  const Vocabulary v = Vocabulary::build(s, 0, s.ids.size(), {});
  const Vocabulary back = Vocabulary::from_json(nlohmann::json::parse(v.to_json().dump()));
  EXPECT_TRUE(back == v);
  EXPECT_THROW(Vocabulary::from_json({{"level", "char"}, {"tokens", {"a", "b"}}}), Error);
  EXPECT_THROW(Vocabulary::from_json({{"level", "char"}, {"tokens", {"<unk>", "a", "a"}}}), Error);
  EXPECT_THROW(Vocabulary::from_json({{"level", "char"}, {"tokens", {"<unk>", "ab"}}}), Error);
  EXPECT_THROW(Vocabulary::from_json({{"level", "bytes"}, {"tokens", {"<unk>"}}}), Error);
  EXPECT_THROW(Vocabulary::from_json({{"tokens", {"<unk>"}}}), Error);
  EXPECT_THROW(v.token(v.size()), Error);
}

}  // namespace
}  // namespace rnn::text
