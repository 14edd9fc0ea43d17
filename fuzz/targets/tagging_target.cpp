// Tagged corpora for sequence tagging and classification. The first byte picks the reader
// (Brown raw or simplified tags, TOKENS<TAB>TAGS, LABEL<TAB>TEXT, or a Brown corpus folder
// with the rest as both a document and cats.txt); the rest is the file. What is read then
// goes through the label maps and the character split the models use.
#include <map>

#include "fuzz_support.h"
#include "rnn/tagging/data.h"
#include "targets.h"

namespace rnn::fuzz {

namespace {

void use_sentences(const std::vector<tagging::TaggedSentence>& sentences) {
  std::map<std::string, int64_t> words, tags;
  for (const auto& s : sentences) {
    require(s.words.size() == s.tags.size(), "a sentence with more words than tags");
    for (const auto& w : s.words) {
      ++words[w];
      tagging::characters_of(w);
    }
    for (const auto& t : s.tags) ++tags[t];
  }
  const tagging::Labels w = tagging::labels_by_count(words, 1, {"<pad>", "<unk>"});
  const tagging::Labels t = tagging::labels_by_count(tags, 1);
  require(tagging::Labels::from_json(w.to_json(), "words") == w, "labels JSON round trip");
  for (const auto& s : sentences)
    for (const auto& tag : s.tags) require(t.find(tag) >= 0, "a tag missing from its label set");
}

}  // namespace

int fuzz_tagging(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 5;
  const std::string_view rest = as_text(data + 1, size - 1);
  ScratchDir dir;
  return accept_errors([&] {
    switch (mode) {
      case 0:
      case 1:
        use_sentences(tagging::read_brown_file(dir.write("ca01", rest), mode == 1));
        break;
      case 2:
        use_sentences(tagging::read_tagged_tsv(dir.write("tagged.tsv", rest)));
        break;
      case 3: {
        std::map<std::string, int64_t> labels;
        for (const auto& item : tagging::read_labeled_tsv(dir.write("labeled.tsv", rest))) {
          ++labels[item.label];
          for (const auto& token : item.tokens) tagging::characters_of(token);
        }
        tagging::labels_by_count(labels, 1);
        break;
      }
      default: {
        dir.write("ca01", rest);
        dir.write("cats.txt", rest);
        for (const auto& doc : tagging::read_brown_corpus(dir.path().string(), true))
          use_sentences(doc.sentences);
      }
    }
  });
}

}  // namespace rnn::fuzz
