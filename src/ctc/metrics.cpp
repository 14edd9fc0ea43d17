#include "rnn/ctc/metrics.h"

#include "rnn/text/utf8.h"

namespace rnn::ctc {

namespace {
bool is_space(char32_t c) { return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || c == U'\f' || c == U'\v'; }
}  // namespace

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word.push_back(c);
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

std::u32string normalized_chars(std::string_view text) {
  const std::u32string decoded = text::decode_utf8(text, "transcript");
  std::u32string out;
  for (char32_t c : decoded) {
    if (is_space(c)) {
      if (!out.empty() && out.back() != U' ') out.push_back(U' ');
    } else {
      out.push_back(c);
    }
  }
  if (!out.empty() && out.back() == U' ') out.pop_back();
  return out;
}

void ErrorCounts::add(std::string_view reference, std::string_view hypothesis) {
  const auto rw = split_words(reference), hw = split_words(hypothesis);
  word_edits += edit_distance<std::string>(rw, hw);
  words += static_cast<int64_t>(rw.size());
  const auto rc = normalized_chars(reference), hc = normalized_chars(hypothesis);
  char_edits += edit_distance<char32_t>(std::span<const char32_t>(rc.data(), rc.size()),
                                        std::span<const char32_t>(hc.data(), hc.size()));
  chars += static_cast<int64_t>(rc.size());
  strings_right += rc == hc ? 1 : 0;
  strings += 1;
}

void ErrorCounts::add(const ErrorCounts& o) {
  word_edits += o.word_edits;
  words += o.words;
  char_edits += o.char_edits;
  chars += o.chars;
  strings_right += o.strings_right;
  strings += o.strings;
}

double ErrorCounts::wer() const {
  return words ? static_cast<double>(word_edits) / static_cast<double>(words) : 0.0;
}
double ErrorCounts::cer() const {
  return chars ? static_cast<double>(char_edits) / static_cast<double>(chars) : 0.0;
}
double ErrorCounts::string_accuracy() const {
  return strings ? static_cast<double>(strings_right) / static_cast<double>(strings) : 0.0;
}

nlohmann::json ErrorCounts::to_json() const {
  return {{"wer", wer()},           {"cer", cer()},   {"string_accuracy", string_accuracy()},
          {"word_edits", word_edits}, {"words", words}, {"char_edits", char_edits},
          {"chars", chars},         {"strings_right", strings_right}, {"strings", strings}};
}

}  // namespace rnn::ctc
