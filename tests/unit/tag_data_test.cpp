// Tagging and classification building blocks: readers (Brown, tagged TSV, labeled TSV), tag
// simplification, splits and folds, label sets, batching, the most-frequent-tag baseline,
// confusion metrics against hand-computed values, the heatmap picture.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "rnn/core/error.h"
#include "rnn/plot/heatmap.h"
#include "rnn/tagging/data.h"
#include "rnn/tagging/metrics.h"
#include "rnn/tagging/tasks.h"

namespace rnn::tagging {
namespace {

const std::string kDir = std::string(RNN_FIXTURE_DIR) + "/tagging";

TEST(TagData, SimplifyBrownTags) {
  EXPECT_EQ(simplify_brown_tag("np-tl"), "np");
  EXPECT_EQ(simplify_brown_tag("nn-tl-hl"), "nn");
  EXPECT_EQ(simplify_brown_tag("fw-nn"), "nn");
  EXPECT_EQ(simplify_brown_tag("ppss+bem"), "ppss");
  EXPECT_EQ(simplify_brown_tag("md*"), "md");
  EXPECT_EQ(simplify_brown_tag("*"), "*");
  EXPECT_EQ(simplify_brown_tag(".-hl"), ".");
  EXPECT_EQ(simplify_brown_tag("NP$"), "np$");
  EXPECT_EQ(simplify_brown_tag("in+at-t"), "in");
}

TEST(TagData, ReadsBrownFileSplittingAtTheLastSlash) {
  const auto s = read_brown_file(kDir + "/brown/ca01", false);
  ASSERT_EQ(s.size(), 4u);  // blank lines skipped
  EXPECT_EQ(s[0].words[0], "The");
  EXPECT_EQ(s[0].tags[1], "np-tl");
  EXPECT_EQ(s[0].words.size(), s[0].tags.size());
  EXPECT_EQ(s[0].words.size(), 25u);
  const auto simple = read_brown_file(kDir + "/brown/ca01", true);
  EXPECT_EQ(simple[0].tags[1], "np");

  const auto dir = std::filesystem::temp_directory_path() / ("tag_brown_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "cz01") << "1/2/cd and/cc\n";
  const auto odd = read_brown_file((dir / "cz01").string(), false);
  EXPECT_EQ(odd[0].words[0], "1/2");
  EXPECT_EQ(odd[0].tags[0], "cd");
  std::filesystem::remove_all(dir);
}

TEST(TagData, ReadsBrownCorpusWithGenres) {
  const auto docs = read_brown_corpus(kDir + "/brown", true);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].name, "ca01");
  EXPECT_EQ(docs[0].genre, "news");
  EXPECT_EQ(docs[1].genre, "editorial");
  EXPECT_EQ(docs[1].sentences[0].tags.back(), ".");  // ".-hl" simplified
}

TEST(TagData, ReadsTaggedAndLabeledTsv) {
  const auto s = read_tagged_tsv(kDir + "/tagged.tsv");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[1].words, (std::vector<std::string>{"Cats", "sleep"}));
  EXPECT_EQ(s[1].tags, (std::vector<std::string>{"NNS", "VBP"}));
  const auto l = read_labeled_tsv(kDir + "/labeled.tsv");
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].label, "1");
  EXPECT_EQ(l[0].tokens, (std::vector<std::string>{"great", "food", ",", "loved", "it", "!"}));
  EXPECT_EQ(l[2].tokens.front(), "wow");
}

TEST(TagData, SplitByFileNeverCutsADocument) {
  const DocumentSplit s = split_documents(500);
  EXPECT_EQ(s.train.size(), 400u);
  EXPECT_EQ(s.valid.size(), 50u);
  EXPECT_EQ(s.test.size(), 50u);
  EXPECT_EQ(s.test.front(), 9u);
  EXPECT_EQ(s.valid.front(), 8u);
  EXPECT_EQ(split_documents(500, 30).train.size(), 30u);
}

TEST(TagData, KFoldCoversEveryItemOnceWithBalancedFolds) {
  const auto fold = kfold_assignment(23, 10, 5);
  std::vector<int> sizes(10, 0);
  for (int f : fold) ++sizes[static_cast<size_t>(f)];
  for (int n : sizes) EXPECT_TRUE(n == 2 || n == 3);
  EXPECT_EQ(fold, kfold_assignment(23, 10, 5));  // deterministic
  EXPECT_NE(fold, kfold_assignment(23, 10, 6));
  EXPECT_THROW(kfold_assignment(3, 10, 1), Error);
}

TEST(TagData, LabelsByCountAndCharacters) {
  const Labels l = labels_by_count({{"b", 2}, {"a", 2}, {"c", 5}, {"d", 1}}, 2, {"<unk>"});
  EXPECT_EQ(l.names(), (std::vector<std::string>{"<unk>", "c", "a", "b"}));
  EXPECT_EQ(l.find("d"), -1);
  EXPECT_THROW(Labels({"x", "x"}), Error);
  EXPECT_EQ(characters_of("caf\xc3\xa9"), (std::vector<std::string>{"c", "a", "f", "\xc3\xa9"}));
}

TEST(TagData, BucketedBatchesCoverEveryItemOnce) {
  std::vector<int64_t> lengths;
  for (int i = 0; i < 103; ++i) lengths.push_back(1 + (i * 7) % 19);
  const auto batches = length_bucketed_batches(lengths, 8, 3);
  std::multiset<size_t> seen;
  for (const auto& b : batches) {
    EXPECT_LE(b.size(), 8u);
    seen.insert(b.begin(), b.end());
  }
  EXPECT_EQ(seen.size(), 103u);
  EXPECT_EQ(std::set<size_t>(seen.begin(), seen.end()).size(), 103u);
  EXPECT_EQ(batches, length_bucketed_batches(lengths, 8, 3));
}

TEST(TagData, TagBatchLayoutAndSharedWordTypes) {
  const auto s = read_tagged_tsv(kDir + "/tagged.tsv");
  const TagVocab v = build_tag_vocab(s, 1);
  const TagBatch b = make_tag_batch({&s[0], &s[2]}, v, true);
  EXPECT_EQ(b.lengths, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(b.words.shape(), (Shape{4, 2}));
  EXPECT_EQ(b.type_chars.size(), 6u);  // The dog barked . A sleeps ("dog" once)
  EXPECT_EQ(b.types.at(1, 0), b.types.at(1, 1));  // "dog" in both sentences
  EXPECT_EQ(v.tags.name(b.tags.at(1, 0)), "NN");
  EXPECT_EQ(b.words.at(3, 1), 0);  // padding
  TaggedSentence unknown{{"dog"}, {"XX"}};
  try {
    make_tag_batch({&unknown}, v, true);
    FAIL() << "unknown tag accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown tag 'XX'"), std::string::npos) << e.what();
  }
}

TEST(TagData, MostFrequentTagBaselineByHand) {
  // "run": vb twice, nn once -> vb; unknown words get the most frequent tag overall (nn: 4).
  const std::vector<TaggedSentence> train{{{"I", "run"}, {"pp", "vb"}},
                                          {{"a", "run", "run"}, {"at", "nn", "vb"}},
                                          {{"dog", "cat", "fox"}, {"nn", "nn", "nn"}}};
  const MostFrequentTag mft(train);
  EXPECT_EQ(mft.tag("run"), "vb");
  EXPECT_EQ(mft.tag("zebra"), "nn");
  const std::vector<TaggedSentence> test{{{"run", "zebra", "I", "owl"}, {"nn", "nn", "pp", "vb"}}};
  const auto r = mft.evaluate(test);
  EXPECT_EQ(r.tokens, 4);
  EXPECT_EQ(r.correct, 2);  // zebra, I
  EXPECT_EQ(r.unseen_tokens, 2);
  EXPECT_EQ(r.unseen_correct, 1);
  EXPECT_DOUBLE_EQ(r.accuracy(), 0.5);
}

TEST(TagData, ConfusionMetricsByHand) {
  // gold/pred: (0,0)x3 (0,1)x1 (1,1)x2 (1,2)x2 (2,0)x1 ; class 3 never appears.
  Confusion c(4);
  c.add(0, 0, 3);
  c.add(0, 1);
  c.add(1, 1, 2);
  c.add(1, 2, 2);
  c.add(2, 0);
  EXPECT_EQ(c.total(), 9);
  EXPECT_EQ(c.correct(), 5);
  EXPECT_DOUBLE_EQ(c.accuracy(), 5.0 / 9.0);
  EXPECT_DOUBLE_EQ(c.precision(0), 3.0 / 4.0);
  EXPECT_DOUBLE_EQ(c.recall(0), 3.0 / 4.0);
  EXPECT_DOUBLE_EQ(c.precision(1), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(c.recall(1), 2.0 / 4.0);
  EXPECT_DOUBLE_EQ(c.f1(1), 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5));
  EXPECT_DOUBLE_EQ(c.f1(2), 0.0);
  EXPECT_DOUBLE_EQ(c.macro_f1(), (0.75 + 4.0 / 7.0 + 0.0) / 3.0);  // class 3 left out
  const auto top = c.most_confused(2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].gold, 1);
  EXPECT_EQ(top[0].predicted, 2);
  EXPECT_EQ(top[0].count, 2);
  EXPECT_THROW(c.add(4, 0), Error);
}

TEST(TagData, HeatmapSvg) {
  const std::string svg = plot::heatmap_svg({{3, 1}, {0, 2}}, {"a<b", "c"}, {"a<b", "c"}, {});
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("a&lt;b"), std::string::npos);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 4, true);
  EXPECT_THROW(plot::heatmap_svg({{1, 2}, {3}}, {"a", "b"}, {"a", "b"}, {}), Error);
  EXPECT_THROW(plot::heatmap_svg({{1}}, {"a", "b"}, {"a"}, {}), Error);
}

}  // namespace
}  // namespace rnn::tagging
