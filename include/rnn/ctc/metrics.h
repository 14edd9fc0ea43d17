// Error rates of recognised text: word error rate (WER), character error rate (CER) and
// whole-string accuracy, from the Levenshtein edit distance.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace rnn::ctc {

// Fewest substitutions + deletions + insertions turning `reference` into `hypothesis`.
template <class Token>
int64_t edit_distance(std::span<const Token> reference, std::span<const Token> hypothesis) {
  std::vector<int64_t> row(hypothesis.size() + 1);
  for (size_t j = 0; j < row.size(); ++j) row[j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= reference.size(); ++i) {
    int64_t diagonal = row[0];
    row[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= hypothesis.size(); ++j) {
      const int64_t substitute = diagonal + (reference[i - 1] == hypothesis[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min(substitute, std::min(row[j], row[j - 1]) + 1);
    }
  }
  return row.back();
}

// Words of a text: runs of non-whitespace.
std::vector<std::string> split_words(std::string_view text);
// Characters of a text (UTF-8 code points) with runs of whitespace folded to one space and
// no leading / trailing space.
std::u32string normalized_chars(std::string_view text);

// Accumulated over utterances; rates are edits / reference length (0 when nothing counted).
struct ErrorCounts {
  int64_t word_edits = 0, words = 0;
  int64_t char_edits = 0, chars = 0;
  int64_t strings_right = 0, strings = 0;

  // Adds one utterance: reference and recognised text.
  void add(std::string_view reference, std::string_view hypothesis);
  void add(const ErrorCounts& other);
  double wer() const;
  double cer() const;
  double string_accuracy() const;
  nlohmann::json to_json() const;  // {"wer","cer","string_accuracy","words","chars","strings", ...}
};

}  // namespace rnn::ctc
