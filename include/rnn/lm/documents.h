// Per-category data for conditional language models: documents, each with a category,
// split deterministically *within each document* so that every category is in every part.
//
// Input format (any user's data): a category list, one document per line,
//   category<TAB>path
// paths relative to the list's folder; blank lines and lines starting with '#' are
// skipped. Category ids follow the order in which the names first appear.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rnn/lm/corpus.h"
#include "rnn/text/vocabulary.h"

namespace rnn::lm {

struct CategoryEntry {
  std::string category;
  std::string path;  // as resolved (the list's folder / the path written)
  int64_t line = 0;  // line number in the list (for error messages)
};

// Reads a category list; throws rnn::Error naming the list and the line: a missing or
// empty list, a line without exactly one tab, an empty category or path.
std::vector<CategoryEntry> read_category_list(const std::string& list_path);

// One document's text and category.
struct LabeledText {
  std::string category;
  std::u32string text;
  std::string source;  // names the document in errors
};

// Reads every document of a list (strict UTF-8, rnn/text/utf8.h). A missing document is
// an error naming the list, its line and the path.
std::vector<LabeledText> read_labeled_texts(const std::string& list_path);

// One part (train, validation or test) of one document.
struct DocumentPart : Part {
  int64_t category = 0;
  int64_t document = 0;  // index in DocumentCorpus::documents
};

struct DocumentCorpus {
  text::Vocabulary vocab;               // built from the training parts of all documents
  std::vector<std::string> categories;  // names; index = category id
  std::vector<std::string> documents;   // sources
  std::vector<DocumentPart> train, valid, test;  // one per document, in list order
};

// Tokenises every document and splits it as split_ranges does (of its N tokens, the last
// floor(test_fraction N) are its test part, the floor(valid_fraction N) before them its
// validation part; each part >= 2 tokens, else an error naming the document), builds the
// vocabulary from all training parts and maps the parts.
DocumentCorpus make_document_corpus(const std::vector<LabeledText>& documents,
                                    const text::VocabularyOptions& options,
                                    double valid_fraction = 0.05, double test_fraction = 0.05);

// The same split with a given vocabulary (evaluation of a trained model): categories
// must be among `categories` (an unknown one is an error naming the document).
DocumentCorpus map_document_corpus(const std::vector<LabeledText>& documents,
                                   const text::Vocabulary& vocab,
                                   const std::vector<std::string>& categories,
                                   double valid_fraction = 0.05, double test_fraction = 0.05);

// The category names of `documents` in order of first appearance (the ids
// make_document_corpus gives).
std::vector<std::string> category_names(const std::vector<LabeledText>& documents);

// FNV-1a 64 of the parts' categories and token ids (identifies training data in checkpoints).
uint64_t document_hash(const std::vector<DocumentPart>& parts);

}  // namespace rnn::lm
