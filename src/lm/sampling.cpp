#include "rnn/lm/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rnn/core/error.h"
#include "rnn/text/utf8.h"

namespace rnn::lm {

void SamplingOptions::validate() const {
  check(std::isfinite(temperature) && temperature > 0,
        "sampling: temperature must be a positive number, got ", temperature);
  check(top_k >= 0, "sampling: top-k must be >= 0 (0 = off), got ", top_k);
  check(std::isfinite(top_p) && top_p > 0 && top_p <= 1, "sampling: top-p must be in (0, 1], got ",
        top_p);
}

int64_t sample_next(std::span<const float> logits, const SamplingOptions& options, Rng& rng) {
  options.validate();
  const auto V = static_cast<int64_t>(logits.size());
  check(V >= 1, "sampling: empty logits");
  const int64_t first = (options.allow_unknown || V == 1) ? 0 : 1;
  // Candidates sorted by decreasing logit, ties to the lower id.
  std::vector<int64_t> order(static_cast<size_t>(V - first));
  std::iota(order.begin(), order.end(), first);
  for (int64_t v : order)
    check(!std::isnan(logits[static_cast<size_t>(v)]), "sampling: logit ", v, " is NaN");
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
  });
  if (options.greedy) return order.front();
  if (options.top_k > 0 && static_cast<size_t>(options.top_k) < order.size())
    order.resize(static_cast<size_t>(options.top_k));
  // p = softmax(logits / temperature) over the candidates, in double.
  const double top = static_cast<double>(logits[static_cast<size_t>(order.front())]);
  std::vector<double> p(order.size());
  double sum = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    p[i] = std::exp((static_cast<double>(logits[static_cast<size_t>(order[i])]) - top) /
                    options.temperature);
    sum += p[i];
  }
  if (options.top_p < 1) {
    double mass = 0;
    size_t keep = 0;
    while (keep < p.size()) {
      mass += p[keep] / sum;
      ++keep;
      if (mass >= options.top_p) break;
    }
    p.resize(keep);
    order.resize(keep);
    sum = std::accumulate(p.begin(), p.end(), 0.0);
  }
  double u = rng.uniform() * sum;
  for (size_t i = 0; i < p.size(); ++i) {
    u -= p[i];
    if (u < 0) return order[i];
  }
  return order.back();
}

Generated generate(const LanguageModel<float>& model, const text::Vocabulary& vocab,
                   const GenerateOptions& options,
                   const std::function<void(const std::string&)>& on_piece) {
  options.sampling.validate();
  check(options.length >= 0, "sampling: length must be >= 0, got ", options.length);
  check(vocab.size() == model.config().vocab_size, "sampling: the vocabulary has ", vocab.size(),
        " tokens but the model ", model.config().vocab_size);
  const bool conditional = model.config().num_categories > 0;
  check(!conditional || options.category >= 0,
        "sampling: this model is conditional: give a category in [0, ",
        model.config().num_categories, ")");
  check(conditional || options.category < 0, "sampling: a category was given to a model that is"
        " not conditional");

  Generated g;
  std::vector<int64_t> prime;
  if (!options.prime.empty()) {
    const text::Vocabulary::Encoded e =
        vocab.encode(text::decode_utf8(options.prime, "priming text"));
    prime = e.ids;
    g.prime_unknown = e.unknown;
  }
  if (prime.empty()) {
    // A line break starts a text; failing that a space (texts without line breaks, e.g.
    // one address per file), then the first token.
    int64_t start = vocab.id("\n");
    if (start == text::Vocabulary::kUnknown) start = vocab.id(" ");
    prime.push_back(start != text::Vocabulary::kUnknown ? start : 1);
  }
  g.prime_tokens = static_cast<int64_t>(prime.size());

  Rng rng(options.seed);
  RecurrentState<float> state;
  if (conditional) state = model.category_state(options.category);
  // Feed the priming text in one forward pass; the last logits predict the first token.
  Tensor<int64_t> ids({static_cast<int64_t>(prime.size()), 1}, prime);
  Tensor<float> logits = model.forward(ids, state, Mode::Eval, nullptr, nullptr);
  const int64_t V = model.config().vocab_size;
  std::vector<float> last(logits.data() + logits.numel() - V, logits.data() + logits.numel());
  int64_t previous = prime.back();
  Tensor<int64_t> one({1, 1});
  for (int64_t n = 0; n < options.length; ++n) {
    const int64_t next = sample_next(last, options.sampling, rng);
    const std::string piece = vocab.piece(next, previous);
    g.text += piece;
    g.ids.push_back(next);
    if (on_piece) on_piece(piece);
    previous = next;
    if (n + 1 == options.length) break;
    one[0] = next;
    logits = model.forward(one, state, Mode::Eval, nullptr, nullptr);
    std::copy(logits.data(), logits.data() + V, last.begin());
  }
  return g;
}

}  // namespace rnn::lm
