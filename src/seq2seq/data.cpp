#include "rnn/seq2seq/data.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rnn/core/error.h"
#include "rnn/io/file_limits.h"
#include "rnn/text/utf8.h"

namespace rnn::seq2seq {

namespace {
bool blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
  });
}
}  // namespace

std::vector<TextPair> read_pairs(const std::string& path) {
  std::error_code ec;
  check(std::filesystem::is_regular_file(path, ec), path, ": no such file");
  check_file_size(path, kMaxTextFileBytes, "parallel text");
  std::ifstream in(path, std::ios::binary);
  check(in.good(), path, ": cannot open for reading");
  std::vector<TextPair> pairs;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (blank(line)) continue;
    const size_t tab = line.find('\t');
    check(tab != std::string::npos, path, ":", number,
          ": no tab between source and target (expected SOURCE<TAB>TARGET)");
    check(line.find('\t', tab + 1) == std::string::npos, path, ":", number,
          ": more than one tab (expected SOURCE<TAB>TARGET)");
    TextPair p{line.substr(0, tab), line.substr(tab + 1), number};
    check(!blank(p.source), path, ":", number, ": empty source side");
    check(!blank(p.target), path, ":", number, ": empty target side");
    try {
      text::decode_utf8(line, "line");
    } catch (const Error& e) {
      fail(path, ":", number, ": ", e.what());
    }
    pairs.push_back(std::move(p));
  }
  check(!pairs.empty(), path, ": no SOURCE<TAB>TARGET pairs");
  return pairs;
}

int64_t count_words(const std::string& side) {
  std::istringstream in(side);
  std::string w;
  int64_t n = 0;
  while (in >> w) ++n;
  return n;
}

std::vector<TextPair> filter_pairs(const std::vector<TextPair>& pairs, int64_t max_words) {
  check(max_words >= 0, "filter_pairs: max_words must be >= 0, got ", max_words);
  if (max_words == 0) return pairs;
  std::vector<TextPair> out;
  for (const TextPair& p : pairs)
    if (count_words(p.source) <= max_words && count_words(p.target) <= max_words) out.push_back(p);
  return out;
}

EncodedPairs encode_pairs(const std::vector<TextPair>& pairs, const Tokenizer& source,
                          const Tokenizer& target, const std::string& path) {
  EncodedPairs out;
  for (const TextPair& p : pairs) {
    EncodedPair e;
    e.source = source.encode(p.source, &out.source_unknown);
    e.target = target.encode(p.target, &out.target_unknown);
    check(!e.source.empty(), path, ":", p.line, ": the source side has no tokens");
    check(!e.target.empty(), path, ":", p.line, ": the target side has no tokens");
    out.source_tokens += static_cast<int64_t>(e.source.size());
    out.target_tokens += static_cast<int64_t>(e.target.size());
    out.pairs.push_back(std::move(e));
  }
  return out;
}

Seq2SeqBatch make_batch(const std::vector<EncodedPair>& pairs, std::span<const int64_t> indices) {
  check(!indices.empty(), "make_batch: no pairs");
  const int64_t B = static_cast<int64_t>(indices.size());
  int64_t S = 0, U = 0;
  for (int64_t i : indices) {
    check(i >= 0 && i < static_cast<int64_t>(pairs.size()), "make_batch: index ", i,
          " out of range");
    const EncodedPair& p = pairs[static_cast<size_t>(i)];
    check(!p.source.empty() && !p.target.empty(), "make_batch: pair ", i, " has an empty side");
    S = std::max<int64_t>(S, static_cast<int64_t>(p.source.size()));
    U = std::max<int64_t>(U, static_cast<int64_t>(p.target.size()) + 1);
  }
  Seq2SeqBatch b;
  b.src = Tensor<int64_t>({S, B}, kEos);
  b.tgt_in = Tensor<int64_t>({U, B}, kEos);
  b.tgt_out = Tensor<int64_t>({U, B}, kEos);
  for (int64_t k = 0; k < B; ++k) {
    const EncodedPair& p = pairs[static_cast<size_t>(indices[static_cast<size_t>(k)])];
    const int64_t s = static_cast<int64_t>(p.source.size()), u = static_cast<int64_t>(p.target.size());
    for (int64_t t = 0; t < s; ++t) b.src.at(t, k) = p.source[static_cast<size_t>(t)];
    b.tgt_in.at(0, k) = kBos;
    for (int64_t t = 0; t < u; ++t) {
      b.tgt_in.at(t + 1, k) = p.target[static_cast<size_t>(t)];
      b.tgt_out.at(t, k) = p.target[static_cast<size_t>(t)];
    }
    b.tgt_out.at(u, k) = kEos;
    b.src_lengths.push_back(s);
    b.tgt_lengths.push_back(u + 1);
  }
  return b;
}

}  // namespace rnn::seq2seq
