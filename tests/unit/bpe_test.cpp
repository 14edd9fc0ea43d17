// Translation tokenisation: words and punctuation, detokenisation, word vocabulary with a
// frequency cut-off and <unk>, byte-pair encoding (learned merges on a hand-checked corpus,
// exact round trips, unseen words), JSON round trips.
#include <gtest/gtest.h>

#include "rnn/core/error.h"
#include "rnn/seq2seq/tokenizer.h"

namespace rnn::seq2seq {
namespace {

TEST(SplitWords, PunctuationAndApostrophes) {
  EXPECT_EQ(split_words("And God said, Let there be light."),
            (std::vector<std::string>{"And", "God", "said", ",", "Let", "there", "be", "light", "."}));
  EXPECT_EQ(split_words("the LORD's house"),
            (std::vector<std::string>{"the", "LORD's", "house"}));
  EXPECT_EQ(split_words("Y dijo: ¿Quién eres?"),
            (std::vector<std::string>{"Y", "dijo", ":", "¿", "Quién", "eres", "?"}));
  EXPECT_TRUE(split_words("   ").empty());
  EXPECT_THROW(split_words("bad \xff byte"), Error);
}

TEST(JoinWords, SpacingRules) {
  EXPECT_EQ(join_words({"Y", "dijo", ":", "¿", "Quién", "eres", "?"}), "Y dijo: ¿Quién eres?");
  EXPECT_EQ(join_words({"(", "a", ")", "b", "."}), "(a) b.");
}

TEST(WordTokenizer, CutOffAndUnknown) {
  const Tokenizer t = Tokenizer::learn({"a b a c", "a b d"}, {.bpe_merges = 0, .min_count = 2});
  // counts: a 3, b 2, c 1, d 1 -> kept a, b (by count)
  EXPECT_EQ(t.vocabulary().tokens(), (std::vector<std::string>{"<unk>", "<s>", "</s>", "a", "b"}));
  int64_t unknown = 0;
  EXPECT_EQ(t.encode("a c b", &unknown), (std::vector<int64_t>{3, kUnk, 4}));
  EXPECT_EQ(unknown, 1);
  const std::vector<int64_t> ids{kBos, 3, 4, kUnk, kEos};
  EXPECT_EQ(t.decode(ids), "a b <unk>");
  const Tokenizer limited = Tokenizer::learn({"a b a c", "a b d"}, {.max_size = 4});
  EXPECT_EQ(limited.size(), 4);
}

TEST(Bpe, LearnsTheMostFrequentPairsFirst) {
  // words: low x5, lower x2, newest x6, widest x3 (the classic example)
  std::vector<std::string> lines;
  for (int i = 0; i < 5; ++i) lines.push_back("low");
  for (int i = 0; i < 2; ++i) lines.push_back("lower");
  for (int i = 0; i < 6; ++i) lines.push_back("newest");
  for (int i = 0; i < 3; ++i) lines.push_back("widest");
  const Tokenizer t = Tokenizer::learn(lines, {.bpe_merges = 4});
  // pair counts: (e,s) 9, (s,t</w>) 9, (l,o) 7, (n,e) (e,w) (w,e) 6, (o,w</w>) 5, ...
  // 1: e s (9, ties broken by key: "e\1s" < "s\1t</w>"); 2: es t</w> (9); 3: l o (7);
  // 4: e w (6; ties with n e and w es, smallest key first; lo w</w> has 5, lo w 2)
  ASSERT_EQ(t.merges().size(), 4u);
  EXPECT_EQ(t.merges()[0], (std::pair<std::string, std::string>{"e", "s"}));
  EXPECT_EQ(t.merges()[1], (std::pair<std::string, std::string>{"es", "t</w>"}));
  EXPECT_EQ(t.merges()[2], (std::pair<std::string, std::string>{"l", "o"}));
  EXPECT_EQ(t.merges()[3], (std::pair<std::string, std::string>{"e", "w"}));
  EXPECT_EQ(t.pieces("lowest"), (std::vector<std::string>{"lo@@", "w@@", "est"}));
  EXPECT_EQ(t.pieces("newer"), (std::vector<std::string>{"n@@", "ew@@", "e@@", "r"}));
}

TEST(Bpe, RoundTripIsExactForKnownPieces) {
  const std::vector<std::string> lines{
      "In the beginning God created the heaven and the earth.",
      "And the earth was without form, and void; and darkness was upon the face of the deep.",
      "Y dijo Dios: Sea la luz: y fué la luz.", "¿Quién es el pastor? El pastor, dijo él."};
  const Tokenizer t = Tokenizer::learn(lines, {.bpe_merges = 40});
  for (const std::string& line : lines) {
    int64_t unknown = 0;
    const std::vector<int64_t> ids = t.encode(line, &unknown);
    EXPECT_EQ(unknown, 0);
    EXPECT_EQ(t.decode(ids), line);
  }
  // An unseen word still splits into known characters (every training character is kept,
  // word-final and not); an unseen character is <unk>.
  int64_t unknown = 0;
  EXPECT_EQ(t.decode(t.encode("the deeper darkness", &unknown)), "the deeper darkness");
  EXPECT_EQ(unknown, 0);
  unknown = 0;
  t.encode("qx", &unknown);  // neither q nor x occurs in training
  EXPECT_EQ(unknown, 2);
}

TEST(Bpe, JsonRoundTrip) {
  const Tokenizer t = Tokenizer::learn({"the shepherd and the sheep", "shepherds"}, {.bpe_merges = 10});
  const Tokenizer u = Tokenizer::from_json(t.to_json());
  EXPECT_TRUE(u.is_bpe());
  EXPECT_EQ(u.merges(), t.merges());
  EXPECT_EQ(u.encode("the sheep shepherd"), t.encode("the sheep shepherd"));
  nlohmann::json bad = t.to_json();
  bad["kind"] = "chars";
  EXPECT_THROW(Tokenizer::from_json(bad), Error);
  bad = t.to_json();
  bad["tokens"][1] = "x";
  EXPECT_THROW(Tokenizer::from_json(bad), Error);
}

}  // namespace
}  // namespace rnn::seq2seq
