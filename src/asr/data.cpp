#include "rnn/asr/data.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <omp.h>

#include "rnn/audio/wav.h"
#include "rnn/core/error.h"
#include "rnn/ctc/ctc.h"
#include "rnn/ctc/metrics.h"
#include "rnn/text/utf8.h"

namespace rnn::asr {

namespace {

std::string fold_spaces(const std::string& text) {
  std::string out;
  for (const std::string& w : ctc::split_words(text)) {
    if (!out.empty()) out.push_back(' ');
    out += w;
  }
  return out;
}

}  // namespace

std::vector<Utterance> read_transcripts(const std::string& list_path) {
  std::error_code ec;
  check(std::filesystem::is_regular_file(list_path, ec), list_path, ": no such transcript list");
  std::ifstream in(list_path);
  check(in.good(), list_path, ": cannot open for reading");
  const std::filesystem::path base = std::filesystem::path(list_path).parent_path();
  std::vector<Utterance> out;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = concat(list_path, ":", number);
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    text::decode_utf8(line, where);  // throws on invalid UTF-8
    Utterance u;
    u.source = where;
    std::string file;
    const size_t tab = line.find('\t');
    if (tab != std::string::npos) {
      file = line.substr(0, tab);
      const std::string rest = line.substr(tab + 1);
      const size_t tab2 = rest.find('\t');
      u.text = fold_spaces(rest.substr(0, tab2));
      if (tab2 != std::string::npos) u.speaker = fold_spaces(rest.substr(tab2 + 1));
    } else {
      const auto words = ctc::split_words(line);
      file = words[0];
      if (std::filesystem::path(file).extension().empty()) file += ".wav";
      line = line.substr(line.find(words[0]) + words[0].size());
      u.text = fold_spaces(line);
    }
    check(!file.empty(), where, ": empty WAV path");
    check(!u.text.empty(), where, ": empty transcript for ", file);
    std::filesystem::path p(file);
    u.path = (p.is_absolute() ? p : base / p).string();
    out.push_back(std::move(u));
  }
  check(!out.empty(), list_path, ": no utterances in the transcript list");
  return out;
}

Tokens::Tokens(Level level, std::vector<std::string> tokens) : level_(level), tokens_(std::move(tokens)) {
  check(!tokens_.empty(), "tokens: the token list is empty");
  std::set<std::string> seen;
  for (const auto& t : tokens_) {
    check(!t.empty(), "tokens: empty token");
    check(seen.insert(t).second, "tokens: duplicate token '", t, "'");
  }
}

Tokens Tokens::build(Level level, const std::vector<Utterance>& utterances) {
  std::set<std::string> all;
  for (const Utterance& u : utterances) {
    if (level == Level::Word) {
      for (auto& w : ctc::split_words(u.text)) all.insert(w);
    } else {
      for (char32_t c : text::decode_utf8(u.text, u.source)) {
        std::string s;
        text::append_utf8(s, c);
        all.insert(s);
      }
    }
  }
  return Tokens(level, std::vector<std::string>(all.begin(), all.end()));
}

std::vector<int64_t> Tokens::encode(const std::string& text_in, const std::string& source) const {
  std::vector<std::string> pieces;
  if (level_ == Level::Word) {
    pieces = ctc::split_words(text_in);
  } else {
    for (char32_t c : ctc::normalized_chars(text_in)) {
      std::string s;
      text::append_utf8(s, c);
      pieces.push_back(std::move(s));
    }
  }
  std::vector<int64_t> ids;
  for (const std::string& p : pieces) {
    const auto it = std::find(tokens_.begin(), tokens_.end(), p);
    check(it != tokens_.end(), source, ": unknown ", level_ == Level::Word ? "word" : "character",
          " '", p, "' (not among the model's ", tokens_.size(), " tokens)");
    ids.push_back(it - tokens_.begin() + 1);
  }
  return ids;
}

std::string Tokens::decode(const std::vector<int64_t>& classes) const {
  std::string out;
  for (int64_t c : classes) {
    check(c >= 1 && c <= static_cast<int64_t>(tokens_.size()), "tokens: class ", c, " out of range");
    if (level_ == Level::Word && !out.empty()) out.push_back(' ');
    out += tokens_[c - 1];
  }
  return level_ == Level::Char ? fold_spaces(out) : out;
}

nlohmann::json Tokens::to_json() const {
  return {{"level", level_ == Level::Word ? "word" : "char"}, {"tokens", tokens_}};
}

Tokens Tokens::from_json(const nlohmann::json& j) {
  try {
    const std::string level = j.at("level").get<std::string>();
    check(level == "word" || level == "char", "tokens: level must be word or char, got '", level, "'");
    return Tokens(level == "word" ? Level::Word : Level::Char, j.at("tokens").get<std::vector<std::string>>());
  } catch (const nlohmann::json::exception& e) {
    fail("tokens: ", e.what());
  }
}

int64_t FeatureSet::frames() const {
  int64_t n = 0;
  for (const auto& f : features) n += f.dim(0);
  return n;
}

FeatureSet prepare(const std::vector<Utterance>& utterances, const PrepareOptions& options) {
  options.features.validate();
  check(options.stack >= 1, "prepare: stack must be >= 1");
  FeatureSet set;
  set.utterances = utterances;
  const auto n = static_cast<int64_t>(utterances.size());
  set.features.resize(static_cast<size_t>(n));
  set.targets.resize(static_cast<size_t>(n));
  std::vector<std::string> errors(static_cast<size_t>(n));
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
#pragma omp parallel num_threads(threads)
  {
    features::LogMel mel(options.features);
#pragma omp for schedule(dynamic, 8)
    for (int64_t i = 0; i < n; ++i) {
      const Utterance& u = utterances[i];
      try {
        const std::string where = u.source + " (" + u.path + ")";
        std::vector<float> samples;
        try {
          samples = audio::load_mono(u.path, options.features.sample_rate);
        } catch (const Error& e) {
          fail(u.source, ": ", e.what());
        }
        Tensor<float> f = mel.compute(samples, where);
        if (options.normalizer) options.normalizer->apply(f);
        if (options.tokens) {
          std::vector<int64_t> t = options.tokens->encode(u.text, u.source);
          const int64_t steps = (f.dim(0) + options.stack - 1) / options.stack;
          const int64_t need = ctc::min_frames(t);
          check(steps >= need, where, ": audio too short for its transcript: ", f.dim(0),
                " frames give ", steps, " model steps, the ", t.size(), " tokens need ", need);
          set.targets[i] = std::move(t);
        }
        set.features[i] = std::move(f);
      } catch (const Error& e) {
        errors[i] = e.what();
      }
    }
  }
  for (const std::string& e : errors)
    if (!e.empty()) fail(e);
  return set;
}

}  // namespace rnn::asr
