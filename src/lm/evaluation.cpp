#include "rnn/lm/evaluation.h"

#include <algorithm>
#include <cmath>

#include "rnn/core/error.h"
#include "rnn/lm/corpus.h"
#include "rnn/lm/document_streams.h"

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

namespace rnn::lm {

namespace {

LmEvaluation finish(double sum, int64_t count, double characters, int64_t unknown) {
  LmEvaluation e;
  e.tokens = count;
  e.unknown = unknown;
  if (count == 0) return e;
  e.loss = sum / static_cast<double>(count);
  e.perplexity = std::exp(e.loss);
  e.bits_per_token = e.loss / std::log(2.0);
  e.characters = std::max<int64_t>(1, static_cast<int64_t>(std::llround(characters)));
  e.bits_per_char = sum / std::log(2.0) / static_cast<double>(e.characters);
  return e;
}

}  // namespace

DocumentEvaluation evaluate_documents(const LanguageModel<float>& model,
                                      std::span<const DocumentPart> parts, int64_t num_categories,
                                      const EvaluateOptions& options) {
  check(options.batch >= 1 && options.seq_len >= 1 && options.max_tokens >= 0 &&
            options.segment >= 0,
        "evaluate: batch and window length must be >= 1, max tokens and segment >= 0");
  check(!parts.empty(), "evaluate: no documents to score");
  check(num_categories >= 1, "evaluate: number of categories must be >= 1, got ", num_categories);
  const bool conditional = model.config().num_categories > 0;
  check(!conditional || model.config().num_categories == num_categories, "evaluate: the model has ",
        model.config().num_categories, " categories, the documents ", num_categories);
  // With a token limit, each document keeps its first ceil(max / D) predictions.
  const std::span<const DocumentPart> whole = parts;
  std::vector<DocumentPart> cut;
  if (options.max_tokens > 0) {
    const auto D = static_cast<int64_t>(parts.size());
    const int64_t keep = (options.max_tokens + D - 1) / D + 1;
    for (const DocumentPart& p : parts) {
      DocumentPart c = p;
      if (static_cast<int64_t>(c.ids.size()) > keep) c.ids.resize(static_cast<size_t>(keep));
      cut.push_back(std::move(c));
    }
    parts = cut;
  }
  for (const DocumentPart& p : parts)
    check(p.category >= 0 && p.category < num_categories, "evaluate: category ", p.category,
          " out of range [0, ", num_categories, ")");
  const DocumentStreams streams(parts, options.batch, options.seq_len, options.segment);
  const int64_t B = streams.batch(), V = model.config().vocab_size;
  std::vector<double> sum(static_cast<size_t>(num_categories), 0.0);
  std::vector<int64_t> count(static_cast<size_t>(num_categories), 0);
  std::vector<int64_t> scored(parts.size(), 0);  // predictions per document
  DocumentWindow win;
  RecurrentState<float> state;
  for (int64_t w = 0; w < streams.windows(); ++w) {
    streams.window(w, win);
    if (w > 0 && !conditional) reset_rows(state, win.starts);
    Tensor<float> logits =
        conditional ? model.forward(win.ids, state, Mode::Eval, nullptr, nullptr, win.starts)
                    : model.forward(win.ids, state, Mode::Eval, nullptr, nullptr);
    const int64_t steps = win.ids.dim(0);
    for (int64_t t = 0; t < steps; ++t) {
      for (int64_t b = 0; b < B; ++b) {
        const int64_t target = win.targets[t * B + b];
        if (target == kIgnoreTarget) continue;
        const float* row = logits.data() + (t * B + b) * V;
        const double top = *std::max_element(row, row + V);
        double z = 0;
        for (int64_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(row[v]) - top);
        const auto c = static_cast<size_t>(win.categories[static_cast<size_t>(b)]);
        sum[c] += top + std::log(z) - static_cast<double>(row[target]);
        ++count[c];
        ++scored[static_cast<size_t>(win.documents[static_cast<size_t>(b)])];
      }
    }
  }
  std::vector<double> characters(static_cast<size_t>(num_categories), 0.0);
  std::vector<int64_t> unknown(static_cast<size_t>(num_categories), 0);
  for (size_t d = 0; d < parts.size(); ++d) {
    const auto c = static_cast<size_t>(parts[d].category);
    const DocumentPart& full = whole[d];
    characters[c] += static_cast<double>(full.characters) * static_cast<double>(scored[d]) /
                     static_cast<double>(full.ids.size());
    unknown[c] += full.unknown;
  }
  DocumentEvaluation out;
  double all_sum = 0, all_chars = 0;
  int64_t all_count = 0, all_unknown = 0;
  for (size_t c = 0; c < sum.size(); ++c) {
    out.categories.push_back(finish(sum[c], count[c], characters[c], unknown[c]));
    all_sum += sum[c];
    all_count += count[c];
    all_chars += characters[c];
    all_unknown += unknown[c];
  }
  out.all = finish(all_sum, all_count, all_chars, all_unknown);
  return out;
}

}  // namespace rnn::lm
