// Data for sequence tagging (one label per token) and sequence classification (one label per
// sequence): readers for the tagged Brown corpus and for plain TSV files, tag simplification,
// splits that never cut a document, cross-validation folds, label sets and word/char maps.
//
// Formats (UTF-8 text, one item per line, blank lines skipped):
//   Brown      one sentence per line, tokens "word/tag" separated by spaces or tabs; the tag
//              is what follows the last '/' (so "1/2/cd" is word "1/2", tag "cd").
//   tagged TSV "TOKENS<TAB>TAGS": space-separated tokens and as many space-separated tags.
//   labeled TSV "LABEL<TAB>TEXT": a label without tabs, then the text (tokenized by
//              tokenize_text).
// Every reader throws rnn::Error naming the file and the line of the first problem.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rnn::tagging {

struct TaggedSentence {
  std::vector<std::string> words;
  std::vector<std::string> tags;  // one per word
};

struct TaggedDocument {
  std::string name;    // e.g. "ca01"
  std::string genre;   // from Brown's cats.txt ("" when unknown)
  std::vector<TaggedSentence> sentences;
};

// The documented simplification of Brown tags (472 raw tags -> 92):
//   lower case; drop a leading "fw-" (foreign word); drop "-tl", "-hl", "-nc" wherever they
//   occur (title, headline, cited word); of a compound tag "a+b" keep "a"; drop a trailing
//   "*" negation marker ("md*" -> "md") unless the tag is "*" itself (the word "not").
std::string simplify_brown_tag(const std::string& tag);

// One Brown file. `simplify` applies simplify_brown_tag to every tag.
std::vector<TaggedSentence> read_brown_file(const std::string& path, bool simplify);

// Every file named c[a-r][0-9][0-9] in `dir`, in name order, with its genre from
// dir/cats.txt when that file exists.
std::vector<TaggedDocument> read_brown_corpus(const std::string& dir, bool simplify);

// TOKENS<TAB>TAGS lines.
std::vector<TaggedSentence> read_tagged_tsv(const std::string& path);

struct LabeledText {
  std::string label;
  std::vector<std::string> tokens;
};

// LABEL<TAB>TEXT lines; the text goes through tokenize_text.
std::vector<LabeledText> read_labeled_tsv(const std::string& path);

// Words of a text for classification: rnn::text's word tokenisation (runs of letters,
// digits and non-ASCII characters, an apostrophe inside a word kept, other punctuation a
// token of its own), lower-cased (ASCII letters).
std::vector<std::string> tokenize_text(const std::string& text, const std::string& source);

// Brown split by file: with documents in name order, document i is test when
// i % 10 == 9, validation when i % 10 == 8, training otherwise (50 / 50 / 400 files).
// `max_train_files` > 0 keeps only the first that many training files.
struct DocumentSplit {
  std::vector<size_t> train, valid, test;  // indices into the documents
};
DocumentSplit split_documents(size_t count, int64_t max_train_files = 0);

// k folds over n items: a permutation drawn from `seed`, then fold f holds positions
// [f*n/k, (f+1)*n/k). Returns the fold of each item.
std::vector<int> kfold_assignment(size_t n, int k, uint64_t seed);

// A string <-> id map with a fixed order (labels, tags, words, characters).
class Labels {
 public:
  Labels() = default;
  explicit Labels(std::vector<std::string> names);
  int64_t size() const { return static_cast<int64_t>(names_.size()); }
  const std::string& name(int64_t id) const;
  const std::vector<std::string>& names() const { return names_; }
  // -1 when absent.
  int64_t find(const std::string& name) const;
  nlohmann::json to_json() const { return names_; }
  static Labels from_json(const nlohmann::json& j, const std::string& what);
  bool operator==(const Labels& other) const { return names_ == other.names_; }

 private:
  std::vector<std::string> names_;
  std::map<std::string, int64_t> ids_;
};

// Counts -> a label set: names seen at least `min_count` times, most frequent first (ties
// in byte order), after the `reserved` names (e.g. "<pad>", "<unk>").
Labels labels_by_count(const std::map<std::string, int64_t>& counts, int64_t min_count,
                       const std::vector<std::string>& reserved = {});

// The code points of a UTF-8 word, each as its own UTF-8 string.
std::vector<std::string> characters_of(const std::string& word);

}  // namespace rnn::tagging
