#include "rnn/lm/evaluation.h"

#include <algorithm>
#include <cmath>

#include "rnn/core/error.h"
#include "rnn/lm/corpus.h"

namespace rnn::lm {

nlohmann::json LmEvaluation::to_json() const {
  return {{"loss", loss},         {"perplexity", perplexity}, {"bits_per_token", bits_per_token},
          {"bpc", bits_per_char}, {"tokens", tokens},         {"characters", characters},
          {"unknown", unknown}};
}

LmEvaluation evaluate(const LanguageModel<float>& model, std::span<const int64_t> ids,
                      int64_t characters, int64_t unknown, const EvaluateOptions& options) {
  check(options.batch >= 1 && options.seq_len >= 1 && options.max_tokens >= 0,
        "evaluate: batch and window length must be >= 1 and max tokens >= 0");
  check(ids.size() >= 2, "evaluate: ", ids.size(), " tokens are too few to score (at least 2)");
  const size_t total = ids.size();
  if (options.max_tokens > 0 && static_cast<size_t>(options.max_tokens) + 1 < ids.size())
    ids = ids.first(static_cast<size_t>(options.max_tokens) + 1);
  const int64_t batch = std::min<int64_t>(options.batch, static_cast<int64_t>(ids.size()) - 1);
  const TokenStreams streams(ids, batch, options.seq_len);
  RecurrentState<float> state;
  Tensor<int64_t> x, y;
  double sum = 0;
  int64_t count = 0;
  for (int64_t w = 0; w < streams.windows(); ++w) {
    streams.window(w, x, y);
    const WindowLoss l = model.window_loss(x, y, state, Mode::Eval, nullptr, false, 0.0);
    sum += l.sum;
    count += l.count;
  }
  LmEvaluation e;
  e.tokens = count;
  e.loss = sum / static_cast<double>(count);
  e.perplexity = std::exp(e.loss);
  e.bits_per_token = e.loss / std::log(2.0);
  e.characters = std::max<int64_t>(
      1, static_cast<int64_t>(std::llround(static_cast<double>(characters) *
                                           static_cast<double>(count) /
                                           static_cast<double>(total))));
  e.bits_per_char = sum / std::log(2.0) / static_cast<double>(e.characters);
  e.unknown = unknown;
  return e;
}

}  // namespace rnn::lm
