// Speech data for `rnn asr`: transcript lists, tokens (the CTC classes), and utterances
// turned into normalised log-mel features.
//
// A transcript list is a text file, one utterance a line:
//   <wav path><TAB><transcript>[<TAB><speaker or voice>]
// or, without a tab, "<wav path or id> <transcript words...>" (Kaldi's "text" style; ".wav"
// is appended to an id without an extension). Paths are relative to the list's folder.
// Blank lines and lines starting with '#' are skipped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/core/tensor.h"
#include "rnn/features/logmel.h"

namespace rnn::asr {

struct Utterance {
  std::string path;     // resolved WAV path
  std::string text;     // transcript, whitespace folded
  std::string speaker;  // may be empty
  std::string source;   // "list.tsv:12" for messages
};

// Throws rnn::Error naming the file and line for a malformed line or an empty list.
std::vector<Utterance> read_transcripts(const std::string& list_path);

// CTC classes: 0 is the blank, class i >= 1 is tokens[i-1]. Word level: whitespace
// separated words; char level: UTF-8 code points, the space included.
class Tokens {
 public:
  enum class Level { Word, Char };
  Tokens() = default;
  Tokens(Level level, std::vector<std::string> tokens);
  // Every distinct token of the transcripts, sorted (deterministic).
  static Tokens build(Level level, const std::vector<Utterance>& utterances);

  Level level() const { return level_; }
  const std::vector<std::string>& tokens() const { return tokens_; }
  int64_t classes() const { return static_cast<int64_t>(tokens_.size()) + 1; }  // + blank
  // Class ids (>= 1); throws "<source>: unknown word 'x' (not among the model's N tokens)".
  std::vector<int64_t> encode(const std::string& text, const std::string& source) const;
  std::string decode(const std::vector<int64_t>& classes) const;

  nlohmann::json to_json() const;  // {"level": "word"|"char", "tokens": [...]}
  static Tokens from_json(const nlohmann::json& j);

 private:
  Level level_ = Level::Word;
  std::vector<std::string> tokens_;
};

// Features of utterances, in list order.
struct FeatureSet {
  std::vector<Utterance> utterances;
  std::vector<Tensor<float>> features;        // [F, M] each, normalised unless asked not to
  std::vector<std::vector<int64_t>> targets;  // class ids (empty when no tokens were given)
  int64_t frames() const;
};

struct PrepareOptions {
  features::LogMelOptions features;
  const features::Normalizer* normalizer = nullptr;  // null: left unnormalised
  const Tokens* tokens = nullptr;                    // null: no targets
  int64_t stack = 1;      // frames per model step: the transcript must fit F / stack steps
  int threads = 0;        // 0: OpenMP's default
};

// Reads, down-mixes, resamples and featurises every utterance (in parallel); throws
// rnn::Error naming the utterance's list line and file for an unreadable WAV, empty or too
// short audio, an unknown token, or a transcript longer than the audio allows (CTC needs
// at least one model step per token and one more between repeated tokens).
FeatureSet prepare(const std::vector<Utterance>& utterances, const PrepareOptions& options);

}  // namespace rnn::asr
