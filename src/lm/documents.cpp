#include "rnn/lm/documents.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "rnn/core/error.h"
#include "rnn/text/utf8.h"

namespace rnn::lm {

std::vector<CategoryEntry> read_category_list(const std::string& list_path) {
  std::error_code ec;
  check(std::filesystem::is_regular_file(list_path, ec), list_path, ": no such category list");
  std::ifstream in(list_path, std::ios::binary);
  check(in.good(), list_path, ": cannot open the category list");
  const std::filesystem::path folder = std::filesystem::path(list_path).parent_path();
  std::vector<CategoryEntry> out;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    check(tab != std::string::npos && line.find('\t', tab + 1) == std::string::npos, list_path,
          ":", n, ": expected 'category<TAB>path', got '", line, "'");
    CategoryEntry e;
    e.category = line.substr(0, tab);
    const std::string path = line.substr(tab + 1);
    check(!e.category.empty() && !path.empty(), list_path, ":", n,
          ": empty category or path in '", line, "'");
    e.path = std::filesystem::path(path).is_absolute() ? path : (folder / path).string();
    e.line = n;
    out.push_back(std::move(e));
  }
  check(!out.empty(), list_path, ": the category list names no documents");
  return out;
}

std::vector<LabeledText> read_labeled_texts(const std::string& list_path) {
  std::vector<LabeledText> out;
  for (const CategoryEntry& e : read_category_list(list_path)) {
    std::error_code ec;
    check(std::filesystem::is_regular_file(e.path, ec), list_path, ":", e.line, ": ", e.path,
          ": no such file");
    out.push_back({e.category, text::read_text_file(e.path), e.path});
  }
  return out;
}

namespace {

struct Tokenized {
  text::TokenStream stream;
  SplitRanges ranges;
};

std::vector<Tokenized> tokenize_all(const std::vector<LabeledText>& documents,
                                    text::TokenLevel level, double valid_fraction,
                                    double test_fraction) {
  check(!documents.empty(), "document corpus: no documents");
  std::vector<Tokenized> out;
  out.reserve(documents.size());
  for (const LabeledText& d : documents) {
    Tokenized t;
    t.stream = text::tokenize(d.text, level);
    t.ranges = split_ranges(t.stream.ids.size(), valid_fraction, test_fraction, d.source);
    out.push_back(std::move(t));
  }
  return out;
}

DocumentCorpus map_parts(const std::vector<LabeledText>& documents,
                         const std::vector<Tokenized>& tokenized, text::Vocabulary vocab,
                         std::vector<std::string> categories) {
  DocumentCorpus c;
  c.vocab = std::move(vocab);
  c.categories = std::move(categories);
  std::unordered_map<std::string, int64_t> category_id;
  for (size_t i = 0; i < c.categories.size(); ++i)
    category_id[c.categories[i]] = static_cast<int64_t>(i);
  const bool chars = c.vocab.level() == text::TokenLevel::Char;
  for (size_t d = 0; d < documents.size(); ++d) {
    const auto it = category_id.find(documents[d].category);
    check(it != category_id.end(), documents[d].source, ": category '", documents[d].category,
          "' is not one of the model's ", c.categories.size(), " categories");
    const Tokenized& t = tokenized[d];
    auto part = [&](size_t begin, size_t end) {
      text::Vocabulary::Encoded e = c.vocab.map(t.stream, begin, end);
      DocumentPart p;
      p.ids = std::move(e.ids);
      p.unknown = e.unknown;
      p.category = it->second;
      p.document = static_cast<int64_t>(d);
      // Exact at char level; at word level the document's characters in proportion.
      p.characters =
          chars ? static_cast<int64_t>(p.ids.size())
                : static_cast<int64_t>(std::llround(
                      static_cast<double>(t.stream.characters) * static_cast<double>(end - begin) /
                      static_cast<double>(t.stream.ids.size())));
      return p;
    };
    c.documents.push_back(documents[d].source);
    c.train.push_back(part(0, t.ranges.train_end));
    c.valid.push_back(part(t.ranges.train_end, t.ranges.valid_end));
    c.test.push_back(part(t.ranges.valid_end, t.ranges.total));
  }
  return c;
}

}  // namespace

DocumentCorpus make_document_corpus(const std::vector<LabeledText>& documents,
                                    const text::VocabularyOptions& options,
                                    double valid_fraction, double test_fraction) {
  const std::vector<Tokenized> tokenized =
      tokenize_all(documents, options.level, valid_fraction, test_fraction);
  // The training parts of all documents as one token stream (types merged by text, in
  // order of first occurrence) for the vocabulary.
  text::TokenStream train;
  std::unordered_map<std::string, int32_t> type_id;
  for (const Tokenized& t : tokenized) {
    std::vector<int32_t> local(t.stream.types.size());
    for (size_t k = 0; k < t.stream.types.size(); ++k) {
      auto [it, added] =
          type_id.emplace(t.stream.types[k], static_cast<int32_t>(train.types.size()));
      if (added) train.types.push_back(t.stream.types[k]);
      local[k] = it->second;
    }
    for (size_t i = 0; i < t.ranges.train_end; ++i)
      train.ids.push_back(local[static_cast<size_t>(t.stream.ids[i])]);
  }
  train.characters = static_cast<int64_t>(train.ids.size());
  text::Vocabulary vocab = text::Vocabulary::build(train, 0, train.ids.size(), options);
  return map_parts(documents, tokenized, std::move(vocab), category_names(documents));
}

std::vector<std::string> category_names(const std::vector<LabeledText>& documents) {
  std::vector<std::string> names;
  for (const LabeledText& d : documents) {
    bool seen = false;
    for (const std::string& c : names) seen = seen || c == d.category;
    if (!seen) names.push_back(d.category);
  }
  return names;
}

DocumentCorpus map_document_corpus(const std::vector<LabeledText>& documents,
                                   const text::Vocabulary& vocab,
                                   const std::vector<std::string>& categories,
                                   double valid_fraction, double test_fraction) {
  const std::vector<Tokenized> tokenized =
      tokenize_all(documents, vocab.level(), valid_fraction, test_fraction);
  return map_parts(documents, tokenized, vocab, categories);
}

uint64_t document_hash(const std::vector<DocumentPart>& parts) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto add = [&](int64_t value) {
    const auto v = static_cast<uint64_t>(value);
    for (int k = 0; k < 8; ++k) {
      h ^= (v >> (8 * k)) & 0xFF;
      h *= 0x100000001b3ULL;
    }
  };
  for (const DocumentPart& p : parts) {
    add(p.category);
    add(static_cast<int64_t>(p.ids.size()));
    for (int64_t id : p.ids) add(id);
  }
  return h;
}

}  // namespace rnn::lm
