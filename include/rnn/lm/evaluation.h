// Scores of a language model on a token sequence: mean cross-entropy (nats per token),
// perplexity, bits per token and bits per character.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/lm/documents.h"
#include "rnn/lm/model.h"

namespace rnn::lm {

struct LmEvaluation {
  double loss = 0.0;            // nats per predicted token
  double perplexity = 0.0;      // exp(loss)
  double bits_per_token = 0.0;  // loss / ln 2
  double bits_per_char = 0.0;   // total bits / characters covered by the predictions
  int64_t tokens = 0;           // predictions scored
  int64_t characters = 0;       // code points those predictions cover
  int64_t unknown = 0;          // tokens of the text outside the vocabulary (scored as <unk>)
  nlohmann::json to_json() const;
};

struct EvaluateOptions {
  int64_t batch = 16;       // streams (fewer when the text is short)
  int64_t seq_len = 128;    // window length; the state carries across windows
  int64_t max_tokens = 0;   // score only the first N tokens; 0 = all (documents: the
                            // first ceil(N / D) predictions of each of the D documents)
  int64_t segment = 0;      // documents: predictions per segment (DocumentStreams); 0 = whole
};

// Scores `ids` in evaluation mode with TokenStreams (every prediction of the B streams,
// state carried from window to window). `characters` are the code points of the text
// `ids` came from (bits per character is scaled to the part scored); `unknown` is
// reported as given.
LmEvaluation evaluate(const LanguageModel<float>& model, std::span<const int64_t> ids,
                      int64_t characters, int64_t unknown, const EvaluateOptions& options = {});

// Scores per category and overall.
struct DocumentEvaluation {
  LmEvaluation all;
  std::vector<LmEvaluation> categories;  // index = category id; tokens 0 when none scored
};

// Scores document parts with DocumentStreams (options.batch streams, options.segment):
// every segment starts from its category's state (conditional models) or from zeros, so
// each document is scored as if alone, whatever the batch. `num_categories` sizes the
// per-category list (the parts' categories must be below it).
DocumentEvaluation evaluate_documents(const LanguageModel<float>& model,
                                      std::span<const DocumentPart> parts, int64_t num_categories,
                                      const EvaluateOptions& options = {});

}  // namespace rnn::lm
