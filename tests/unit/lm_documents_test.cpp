// Per-category documents: the category list format, the split within each document (every
// category in every part, vocabulary from training parts only), and the document streams
// (every prediction once per pass, contiguous inside a segment, the right category on
// every row, a start flag exactly at segment starts, padding never scored).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "rnn/core/error.h"
#include "rnn/lm/document_streams.h"
#include "rnn/lm/documents.h"

namespace rnn::lm {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("rnn_lm_documents_" + name);
  fs::remove_all(d);
  fs::create_directories(d / "sub");
  return d;
}

void write(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

template <class F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(LmDocuments, CategoryListFormat) {
  const fs::path d = fresh_dir("list");
  write(d / "sub" / "a.txt", "alpha text\n");
  write(d / "b.txt", "beta text\n");
  write(d / "list.tsv", "# comment\n\nfirst\tsub/a.txt\r\nsecond\tb.txt\nfirst\tb.txt\n");
  const std::vector<CategoryEntry> e = read_category_list((d / "list.tsv").string());
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].category, "first");
  EXPECT_EQ(e[0].path, (d / "sub" / "a.txt").string());  // relative to the list
  EXPECT_EQ(e[0].line, 3);
  EXPECT_EQ(e[2].line, 5);
  const std::vector<LabeledText> texts = read_labeled_texts((d / "list.tsv").string());
  EXPECT_EQ(category_names(texts), (std::vector<std::string>{"first", "second"}));

  expect_error([&] { read_category_list((d / "none.tsv").string()); }, "no such category list");
  write(d / "notab.tsv", "first sub/a.txt\n");
  expect_error([&] { read_category_list((d / "notab.tsv").string()); },
               "notab.tsv:1: expected 'category<TAB>path'");
  write(d / "twotabs.tsv", "a\tb.txt\nx\ty\tz\n");
  expect_error([&] { read_category_list((d / "twotabs.tsv").string()); }, "twotabs.tsv:2:");
  write(d / "emptycat.tsv", "\tb.txt\n");
  expect_error([&] { read_category_list((d / "emptycat.tsv").string()); }, "empty category");
  write(d / "nothing.tsv", "# only a comment\n");
  expect_error([&] { read_category_list((d / "nothing.tsv").string()); }, "names no documents");
  write(d / "missing.tsv", "first\tb.txt\nfirst\tgone.txt\n");
  expect_error([&] { read_labeled_texts((d / "missing.tsv").string()); },
               "missing.tsv:2: " + (d / "gone.txt").string() + ": no such file");
}

TEST(LmDocuments, EachDocumentIsSplitWithinItself) {
  // Three documents of 200, 400 and 60 characters in two categories; a character seen
  // only in one document's test part is unknown.
  std::vector<LabeledText> docs{{"x", std::u32string(200, U'a'), "d0"},
                                {"y", std::u32string(400, U'b'), "d1"},
                                {"x", std::u32string(60, U'c'), "d2"}};
  docs[1].text[399] = U'z';
  const DocumentCorpus c = make_document_corpus(docs, {});
  EXPECT_EQ(c.categories, (std::vector<std::string>{"x", "y"}));
  ASSERT_EQ(c.train.size(), 3u);
  const size_t sizes[] = {200, 400, 60};
  const char32_t letters[] = {U'a', U'b', U'c'};
  for (size_t d = 0; d < 3; ++d) {
    const size_t five = sizes[d] / 20;
    EXPECT_EQ(c.test[d].ids.size(), five) << d;
    EXPECT_EQ(c.valid[d].ids.size(), five) << d;
    EXPECT_EQ(c.train[d].ids.size(), sizes[d] - 2 * five) << d;
    for (const auto* part : {&c.train[d], &c.valid[d], &c.test[d]}) {
      EXPECT_EQ(part->category, d == 1 ? 1 : 0);
      EXPECT_EQ(part->document, static_cast<int64_t>(d));
      EXPECT_EQ(part->characters, static_cast<int64_t>(part->ids.size()));
    }
    EXPECT_EQ(c.train[d].ids[0], c.vocab.id(std::string(1, static_cast<char>(letters[d]))));
  }
  EXPECT_EQ(c.vocab.size(), 4);  // <unk>, a, b, c
  EXPECT_EQ(c.test[1].unknown, 1);
  EXPECT_EQ(c.test[1].ids.back(), 0);
  EXPECT_NE(document_hash(c.train), document_hash(c.valid));

  // The same split with a given vocabulary and category order.
  const DocumentCorpus m = map_document_corpus(docs, c.vocab, {"y", "x"});
  EXPECT_EQ(m.test[1].ids, c.test[1].ids);
  EXPECT_EQ(m.train[0].category, 1);
  expect_error([&] { map_document_corpus(docs, c.vocab, {"x"}); }, "d1: category 'y' is not one");
  std::vector<LabeledText> tiny{{"x", U"abc", "tiny"}};
  expect_error([&] { make_document_corpus(tiny, {}); }, "tiny: 3 tokens are too few");
}

DocumentPart part(int64_t document, int64_t category, int64_t n) {
  DocumentPart p;
  p.document = document;
  p.category = category;
  for (int64_t i = 0; i < n; ++i) p.ids.push_back(document * 1000 + i);
  return p;
}

// Reads every window of a pass and checks the contract; returns the predictions seen.
void check_pass(const std::vector<DocumentPart>& parts, int64_t batch, int64_t seq_len,
                int64_t segment) {
  SCOPED_TRACE("batch " + std::to_string(batch) + " seq_len " + std::to_string(seq_len) +
               " segment " + std::to_string(segment));
  const DocumentStreams s(parts, batch, seq_len, segment);
  std::map<std::pair<int64_t, int64_t>, int> seen;  // (document, input position) -> count
  std::vector<int64_t> next(static_cast<size_t>(batch), -1);  // expected next input per row
  int64_t total = 0;
  DocumentWindow w;
  for (int64_t k = 0; k < s.windows(); ++k) {
    s.window(k, w);
    ASSERT_LE(w.ids.dim(0), seq_len);
    ASSERT_EQ(w.ids.dim(1), batch);
    int64_t count = 0;
    for (int64_t b = 0; b < batch; ++b) {
      const auto bi = static_cast<size_t>(b);
      if (w.categories[bi] < 0) {  // idle: nothing scored
        for (int64_t t = 0; t < w.ids.dim(0); ++t) EXPECT_EQ(w.targets.at(t, b), kIgnoreTarget);
        EXPECT_EQ(w.starts[bi], kCarry);
        next[bi] = -1;
        continue;
      }
      const int64_t doc = w.documents[bi];
      EXPECT_EQ(w.categories[bi], parts[static_cast<size_t>(doc)].category);
      const int64_t first = w.ids.at(0, b);
      EXPECT_EQ(first / 1000, doc);
      if (w.starts[bi] != kCarry) {
        EXPECT_EQ(w.starts[bi], w.categories[bi]);
        if (segment > 0) EXPECT_EQ(first % 1000 % segment, 0) << "a segment starts on its boundary";
        else EXPECT_EQ(first % 1000, 0) << "a whole document starts at its beginning";
      } else {
        EXPECT_EQ(first, next[bi]) << "row " << b << " window " << k << " continues its segment";
      }
      bool padded = false;
      for (int64_t t = 0; t < w.ids.dim(0); ++t) {
        const int64_t y = w.targets.at(t, b);
        if (y == kIgnoreTarget) {
          padded = true;
          continue;
        }
        EXPECT_FALSE(padded) << "padding only after the segment's end";
        const int64_t x = w.ids.at(t, b);
        EXPECT_EQ(y, x + 1);
        EXPECT_EQ(x / 1000, doc);
        ++seen[{doc, x % 1000}];
        ++count;
        next[bi] = x + 1;
      }
      if (padded) next[bi] = -1;  // the segment ended: the next window starts another
    }
    EXPECT_EQ(count, w.count);
    total += count;
  }
  EXPECT_EQ(total, s.predictions());
  int64_t expected = 0;
  for (const DocumentPart& p : parts) {
    const auto n = static_cast<int64_t>(p.ids.size()) - 1;
    expected += n;
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ((seen[{p.document, i}]), 1) << p.document << ":" << i;
  }
  EXPECT_EQ(total, expected);
}

TEST(LmDocuments, StreamsCoverEveryPredictionOnceWithTheRightCategory) {
  const std::vector<DocumentPart> parts{part(0, 2, 57), part(1, 0, 8), part(2, 1, 130),
                                        part(3, 2, 2), part(4, 0, 41)};
  for (int64_t batch : {1, 3, 8})
    for (int64_t seq_len : {1, 5, 16})
      for (int64_t segment : {0, 10, 16, 32}) check_pass(parts, batch, seq_len, segment);
}

TEST(LmDocuments, StreamsAreBalancedAndValidateOptions) {
  std::vector<DocumentPart> parts;
  for (int64_t d = 0; d < 20; ++d) parts.push_back(part(d, d % 3, 200 + 37 * d));
  const DocumentStreams s(parts, 4, 16, 64);
  // 4 streams of contiguous segments: the pass is at most one segment's windows longer
  // than a perfect share.
  int64_t windows = 0;
  for (const Segment& g : s.segments()) windows += (g.end - g.begin + 15) / 16;
  EXPECT_LE(s.windows(), (windows + 3) / 4 + 64 / 16);
  EXPECT_EQ(s.segment_length(), 64);
  DocumentWindow w;
  EXPECT_THROW(s.window(s.windows(), w), Error);
  EXPECT_THROW(DocumentStreams(parts, 0, 4, 0), Error);
  EXPECT_THROW(DocumentStreams(parts, 2, 0, 0), Error);
  EXPECT_THROW(DocumentStreams(parts, 2, 4, -1), Error);
  EXPECT_THROW(DocumentStreams(std::vector<DocumentPart>{part(0, 0, 1)}, 2, 4, 0), Error);
}

TEST(LmDocuments, ResetRowsZeroesOnlyStartingRows) {
  RecurrentState<float> s;
  s.h = Tensor<float>({2, 3, 2});
  s.c = Tensor<float>({2, 3, 4});
  for (int64_t i = 0; i < s.h.numel(); ++i) s.h[i] = 1.0f + static_cast<float>(i);
  for (int64_t i = 0; i < s.c.numel(); ++i) s.c[i] = 1.0f + static_cast<float>(i);
  const std::vector<int64_t> starts{kCarry, 5, kCarry};
  reset_rows(s, starts);
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t b = 0; b < 3; ++b) {
      for (int64_t j = 0; j < 2; ++j) EXPECT_EQ(s.h.at(l, b, j) == 0.0f, b == 1);
      for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(s.c.at(l, b, j) == 0.0f, b == 1);
    }
  RecurrentState<float> empty;
  reset_rows(empty, starts);
  EXPECT_TRUE(empty.h.empty());
}

}  // namespace
}  // namespace rnn::lm
