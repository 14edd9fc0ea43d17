#include "rnn/tagging/data.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <regex>

#include "rnn/core/error.h"
#include "rnn/core/rng.h"
#include "rnn/io/file_limits.h"
#include "rnn/text/utf8.h"
#include "rnn/text/vocabulary.h"

namespace rnn::tagging {
namespace {

namespace fs = std::filesystem;

std::ifstream open_text(const std::string& path) {
  std::error_code ec;
  check(fs::is_regular_file(path, ec), path, ": no such file (or not a regular file)");
  check_file_size(path, kMaxTextFileBytes, "a text corpus");
  std::ifstream in(path, std::ios::binary);
  check(static_cast<bool>(in), path, ": cannot open for reading");
  return in;
}

// Splits on runs of spaces and tabs.
std::vector<std::string> split_blanks(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

void strip_cr(std::string& line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
}

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t") == std::string::npos;
}

std::string where(const std::string& path, int64_t line_no) {
  return concat(path, ":", line_no);
}

}  // namespace

std::string simplify_brown_tag(const std::string& raw) {
  std::string tag = raw;
  for (char& c : tag) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (tag.rfind("fw-", 0) == 0) tag = tag.substr(3);
  for (const char* suffix : {"-tl", "-hl", "-nc"}) {
    size_t at = 0;
    while ((at = tag.find(suffix)) != std::string::npos) tag.erase(at, 3);
  }
  const size_t plus = tag.find('+');
  if (plus != std::string::npos && plus > 0) tag = tag.substr(0, plus);
  if (tag.size() > 1 && tag.back() == '*') tag.pop_back();
  return tag;
}

std::vector<TaggedSentence> read_brown_file(const std::string& path, bool simplify) {
  std::ifstream in = open_text(path);
  std::vector<TaggedSentence> out;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    strip_cr(line);
    if (blank(line)) continue;
    text::decode_utf8(line, where(path, line_no));  // valid UTF-8 or a clear error
    TaggedSentence s;
    for (const std::string& token : split_blanks(line)) {
      const size_t slash = token.rfind('/');
      check(slash != std::string::npos && slash > 0 && slash + 1 < token.size(),
            where(path, line_no), ": token '", token, "' is not word/tag");
      s.words.push_back(token.substr(0, slash));
      std::string tag = token.substr(slash + 1);
      s.tags.push_back(simplify ? simplify_brown_tag(tag) : tag);
    }
    out.push_back(std::move(s));
  }
  check(!in.bad(), path, ": read error");
  return out;
}

std::vector<TaggedDocument> read_brown_corpus(const std::string& dir, bool simplify) {
  std::error_code ec;
  check(fs::is_directory(dir, ec), dir, ": no such directory (expected the Brown corpus files)");
  std::map<std::string, std::string> genres;
  const fs::path cats = fs::path(dir) / "cats.txt";
  if (fs::exists(cats, ec)) {
    std::ifstream in = open_text(cats.string());
    std::string line;
    int64_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      strip_cr(line);
      if (blank(line)) continue;
      const auto parts = split_blanks(line);
      check(parts.size() == 2, where(cats.string(), line_no), ": expected 'FILE GENRE'");
      genres[parts[0]] = parts[1];
    }
  }
  static const std::regex name_re("c[a-r][0-9][0-9]");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && std::regex_match(name, name_re)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  check(!names.empty(), dir, ": no Brown files (c[a-r][0-9][0-9]) found");
  std::vector<TaggedDocument> docs;
  for (const auto& name : names) {
    TaggedDocument d;
    d.name = name;
    auto g = genres.find(name);
    d.genre = g == genres.end() ? "" : g->second;
    d.sentences = read_brown_file((fs::path(dir) / name).string(), simplify);
    docs.push_back(std::move(d));
  }
  return docs;
}

std::vector<TaggedSentence> read_tagged_tsv(const std::string& path) {
  std::ifstream in = open_text(path);
  std::vector<TaggedSentence> out;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    strip_cr(line);
    if (blank(line)) continue;
    text::decode_utf8(line, where(path, line_no));
    const size_t tab = line.find('\t');
    check(tab != std::string::npos, where(path, line_no), ": expected TOKENS<TAB>TAGS (no tab)");
    check(line.find('\t', tab + 1) == std::string::npos, where(path, line_no),
          ": expected TOKENS<TAB>TAGS (more than one tab)");
    TaggedSentence s;
    s.words = split_blanks(line.substr(0, tab));
    s.tags = split_blanks(line.substr(tab + 1));
    check(!s.words.empty(), where(path, line_no), ": empty sentence");
    check(s.words.size() == s.tags.size(), where(path, line_no), ": ", s.words.size(),
          " tokens but ", s.tags.size(), " tags");
    out.push_back(std::move(s));
  }
  check(!in.bad(), path, ": read error");
  check(!out.empty(), path, ": no sentences");
  return out;
}

std::vector<std::string> tokenize_text(const std::string& line, const std::string& source) {
  const std::u32string cps = text::decode_utf8(line, source);
  const text::TokenStream stream = text::tokenize(cps, text::TokenLevel::Word);
  std::vector<std::string> out;
  out.reserve(stream.ids.size());
  for (int32_t id : stream.ids) {
    std::string w = stream.types[static_cast<size_t>(id)];
    if (w == "\n") continue;
    for (char& c : w) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<LabeledText> read_labeled_tsv(const std::string& path) {
  std::ifstream in = open_text(path);
  std::vector<LabeledText> out;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    strip_cr(line);
    if (blank(line)) continue;
    const size_t tab = line.find('\t');
    check(tab != std::string::npos, where(path, line_no), ": expected LABEL<TAB>TEXT (no tab)");
    LabeledText item;
    item.label = line.substr(0, tab);
    check(!item.label.empty() && !blank(item.label), where(path, line_no), ": empty label");
    item.tokens = tokenize_text(line.substr(tab + 1), where(path, line_no));
    check(!item.tokens.empty(), where(path, line_no), ": empty text (no tokens)");
    out.push_back(std::move(item));
  }
  check(!in.bad(), path, ": read error");
  check(!out.empty(), path, ": no examples");
  return out;
}

DocumentSplit split_documents(size_t count, int64_t max_train_files) {
  DocumentSplit split;
  for (size_t i = 0; i < count; ++i) {
    if (i % 10 == 9) {
      split.test.push_back(i);
    } else if (i % 10 == 8) {
      split.valid.push_back(i);
    } else if (max_train_files <= 0 || static_cast<int64_t>(split.train.size()) < max_train_files) {
      split.train.push_back(i);
    }
  }
  return split;
}

std::vector<int> kfold_assignment(size_t n, int k, uint64_t seed) {
  check(k >= 2, "kfold: need at least 2 folds, got ", k);
  check(n >= static_cast<size_t>(k), "kfold: ", n, " items cannot make ", k, " folds");
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  Rng rng(seed);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  std::vector<int> fold(n);
  for (int f = 0; f < k; ++f) {
    const size_t begin = static_cast<size_t>(f) * n / static_cast<size_t>(k);
    const size_t end = static_cast<size_t>(f + 1) * n / static_cast<size_t>(k);
    for (size_t p = begin; p < end; ++p) fold[order[p]] = f;
  }
  return fold;
}

Labels::Labels(std::vector<std::string> names) : names_(std::move(names)) {
  for (size_t i = 0; i < names_.size(); ++i) {
    check(ids_.emplace(names_[i], static_cast<int64_t>(i)).second, "label set: duplicate name '",
          names_[i], "'");
  }
}

const std::string& Labels::name(int64_t id) const {
  check(id >= 0 && id < size(), "label id ", id, " out of range 0..", size() - 1);
  return names_[static_cast<size_t>(id)];
}

int64_t Labels::find(const std::string& name) const {
  auto it = ids_.find(name);
  return it == ids_.end() ? -1 : it->second;
}

Labels Labels::from_json(const nlohmann::json& j, const std::string& what) {
  check(j.is_array(), what, ": expected a list of names");
  std::vector<std::string> names;
  for (const auto& v : j) {
    check(v.is_string(), what, ": expected a list of names");
    names.push_back(v.get<std::string>());
  }
  return Labels(std::move(names));
}

Labels labels_by_count(const std::map<std::string, int64_t>& counts, int64_t min_count,
                       const std::vector<std::string>& reserved) {
  std::vector<std::pair<std::string, int64_t>> items;
  for (const auto& [name, n] : counts) {
    if (n >= min_count &&
        std::find(reserved.begin(), reserved.end(), name) == reserved.end()) {
      items.emplace_back(name, n);
    }
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> names = reserved;
  for (auto& item : items) names.push_back(item.first);
  return Labels(std::move(names));
}

std::vector<std::string> characters_of(const std::string& word) {
  std::vector<std::string> out;
  for (char32_t cp : text::decode_utf8(word, "word '" + word + "'")) {
    std::string s;
    text::append_utf8(s, cp);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace rnn::tagging
