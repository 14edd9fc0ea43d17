#include "rnn/seq2seq/search.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rnn/core/error.h"
#include "rnn/nn/activations.h"
#include "rnn/seq2seq/tokenizer.h"

namespace rnn::seq2seq {

namespace {

double normalized(double log_prob, size_t length, double alpha) {
  if (alpha == 0.0 || length == 0) return log_prob;
  return log_prob / std::pow(static_cast<double>(length), alpha);
}

void check_steps(const std::vector<int64_t>& max_steps) {
  check(!max_steps.empty(), "search: no sources");
  for (size_t b = 0; b < max_steps.size(); ++b)
    check(max_steps[b] >= 1, "search: max_steps[", b, "] = ", max_steps[b], " must be >= 1");
}

}  // namespace

std::vector<Hypothesis> greedy_search(StepScorer& scorer, const std::vector<int64_t>& max_steps,
                                      int64_t bos, int64_t eos) {
  check_steps(max_steps);
  const int64_t V = scorer.vocab_size();
  std::vector<Hypothesis> out(max_steps.size());
  std::vector<int64_t> alive(max_steps.size());  // source of each row
  std::iota(alive.begin(), alive.end(), 0);
  std::vector<int64_t> previous(max_steps.size(), bos);
  while (!alive.empty()) {
    const Tensor<float> lp = scorer.log_probs(previous);
    check(lp.rank() == 2 && lp.dim(0) == static_cast<int64_t>(alive.size()) && lp.dim(1) == V,
          "search: the scorer returned ", shape_str(lp.shape()));
    std::vector<int64_t> keep_rows, keep_src, next;
    for (size_t r = 0; r < alive.size(); ++r) {
      const float* row = lp.data() + static_cast<int64_t>(r) * V;
      const int64_t best = std::max_element(row, row + V) - row;
      Hypothesis& h = out[static_cast<size_t>(alive[r])];
      h.ids.push_back(best);
      h.log_prob += row[best];
      if (best != eos && static_cast<int64_t>(h.ids.size()) < max_steps[static_cast<size_t>(alive[r])]) {
        keep_rows.push_back(static_cast<int64_t>(r));
        keep_src.push_back(alive[r]);
        next.push_back(best);
      }
    }
    if (keep_rows.size() != alive.size() && !keep_rows.empty()) scorer.select(keep_rows);
    alive = std::move(keep_src);
    previous = std::move(next);
  }
  for (Hypothesis& h : out) h.score = h.log_prob;
  return out;
}

std::vector<Hypothesis> beam_search(StepScorer& scorer, const std::vector<int64_t>& max_steps,
                                    const SearchOptions& options, int64_t bos, int64_t eos) {
  check_steps(max_steps);
  check(options.beam >= 1, "beam search: beam must be >= 1, got ", options.beam);
  check(std::isfinite(options.length_penalty) && options.length_penalty >= 0,
        "beam search: length penalty must be >= 0, got ", options.length_penalty);
  const int64_t K = options.beam, V = scorer.vocab_size();
  const double alpha = options.length_penalty;
  struct Source {
    std::vector<Hypothesis> live, finished;
    bool done = false;
  };
  std::vector<Source> sources(max_steps.size());
  for (Source& s : sources) s.live.push_back({});
  struct Candidate {
    double log_prob;
    int64_t hyp, token;
  };
  while (true) {
    std::vector<int64_t> previous;
    for (const Source& s : sources)
      if (!s.done)
        for (const Hypothesis& h : s.live) previous.push_back(h.ids.empty() ? bos : h.ids.back());
    if (previous.empty()) break;
    const Tensor<float> lp = scorer.log_probs(previous);
    check(lp.rank() == 2 && lp.dim(0) == static_cast<int64_t>(previous.size()) && lp.dim(1) == V,
          "search: the scorer returned ", shape_str(lp.shape()));
    std::vector<int64_t> rows;
    int64_t row0 = 0;
    for (size_t b = 0; b < sources.size(); ++b) {
      Source& s = sources[b];
      if (s.done) continue;
      const int64_t L = static_cast<int64_t>(s.live.size());
      std::vector<Candidate> cands;
      cands.reserve(static_cast<size_t>(L * V));
      for (int64_t h = 0; h < L; ++h) {
        const float* row = lp.data() + (row0 + h) * V;
        for (int64_t v = 0; v < V; ++v)
          cands.push_back({s.live[static_cast<size_t>(h)].log_prob + row[v], h, v});
      }
      const size_t top = std::min(cands.size(), static_cast<size_t>(2 * K));
      auto better = [](const Candidate& x, const Candidate& y) {
        if (x.log_prob != y.log_prob) return x.log_prob > y.log_prob;
        return x.hyp != y.hyp ? x.hyp < y.hyp : x.token < y.token;
      };
      std::partial_sort(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(top), cands.end(), better);
      std::vector<Hypothesis> live;
      for (size_t i = 0; i < top; ++i) {
        const Candidate& c = cands[i];
        if (static_cast<int64_t>(live.size()) == K) break;
        Hypothesis h = s.live[static_cast<size_t>(c.hyp)];
        h.ids.push_back(c.token);
        h.log_prob = c.log_prob;
        h.score = normalized(h.log_prob, h.ids.size(), alpha);
        if (c.token == eos) {
          if (static_cast<int64_t>(i) < K) s.finished.push_back(std::move(h));
          continue;
        }
        live.push_back(std::move(h));
        rows.push_back(row0 + c.hyp);
      }
      row0 += L;
      const bool at_limit =
          !live.empty() && static_cast<int64_t>(live.front().ids.size()) >= max_steps[b];
      if (static_cast<int64_t>(s.finished.size()) >= K || live.empty() || at_limit) {
        if (s.finished.empty() || at_limit)
          for (Hypothesis& h : live) s.finished.push_back(std::move(h));
        rows.resize(rows.size() - live.size());
        s.live.clear();
        s.done = true;
      } else {
        s.live = std::move(live);
      }
    }
    if (!rows.empty()) scorer.select(rows);
  }
  std::vector<Hypothesis> out;
  for (Source& s : sources) {
    check(!s.finished.empty(), "beam search: a source ended with no hypothesis");
    size_t best = 0;
    for (size_t i = 1; i < s.finished.size(); ++i)
      if (s.finished[i].score > s.finished[best].score) best = i;
    out.push_back(std::move(s.finished[best]));
  }
  return out;
}

Seq2SeqScorer::Seq2SeqScorer(const Seq2Seq<float>& model, const Tensor<int64_t>& src,
                             const std::vector<int64_t>& lengths)
    : model_(model), state_(model.start(src, lengths)) {}

Tensor<float> Seq2SeqScorer::log_probs(std::span<const int64_t> previous) {
  return nn::log_softmax(model_.step(state_, previous, &weights_));
}

void Seq2SeqScorer::select(const std::vector<int64_t>& rows) {
  state_ = Seq2Seq<float>::select(state_, rows);
}

std::vector<Hypothesis> translate(
    const Seq2Seq<float>& model, const std::vector<std::vector<int64_t>>& sources,
    const TranslateOptions& options,
    const std::function<void(size_t first, const std::vector<Hypothesis>&)>& on_batch) {
  check(options.batch >= 1, "translate: batch must be >= 1, got ", options.batch);
  check(options.max_length >= 1, "translate: max_length must be >= 1, got ", options.max_length);
  std::vector<Hypothesis> out;
  for (size_t first = 0; first < sources.size(); first += static_cast<size_t>(options.batch)) {
    const size_t end = std::min(sources.size(), first + static_cast<size_t>(options.batch));
    const int64_t B = static_cast<int64_t>(end - first);
    int64_t S = 0;
    for (size_t i = first; i < end; ++i) {
      check(!sources[i].empty(), "translate: source ", i, " has no tokens");
      S = std::max<int64_t>(S, static_cast<int64_t>(sources[i].size()));
    }
    Tensor<int64_t> src({S, B}, kEos);
    std::vector<int64_t> lengths, max_steps;
    for (int64_t b = 0; b < B; ++b) {
      const std::vector<int64_t>& s = sources[first + static_cast<size_t>(b)];
      for (size_t t = 0; t < s.size(); ++t) src.at(static_cast<int64_t>(t), b) = s[t];
      lengths.push_back(static_cast<int64_t>(s.size()));
      const auto limit = static_cast<int64_t>(options.max_length_ratio * static_cast<double>(s.size())) + 10;
      max_steps.push_back(std::max<int64_t>(1, std::min(options.max_length, limit)));
    }
    Seq2SeqScorer scorer(model, src, lengths);
    std::vector<Hypothesis> hyps = options.search.beam == 1
                                       ? greedy_search(scorer, max_steps)
                                       : beam_search(scorer, max_steps, options.search);
    if (on_batch) on_batch(first, hyps);
    for (Hypothesis& h : hyps) out.push_back(std::move(h));
  }
  return out;
}

Hypothesis translate_with_attention(const Seq2Seq<float>& model, const std::vector<int64_t>& source,
                                    int64_t max_length, std::vector<std::vector<double>>& weights) {
  check(!source.empty(), "translate: the source has no tokens");
  const int64_t S = static_cast<int64_t>(source.size());
  Tensor<int64_t> src({S, 1}, std::vector<int64_t>(source.begin(), source.end()));
  Seq2SeqScorer scorer(model, src, {S});
  Hypothesis h;
  weights.clear();
  int64_t previous = kBos;
  const int64_t V = model.config().tgt_vocab;
  for (int64_t t = 0; t < max_length; ++t) {
    const Tensor<float> lp = scorer.log_probs(std::span<const int64_t>(&previous, 1));
    const int64_t best = std::max_element(lp.data(), lp.data() + V) - lp.data();
    h.ids.push_back(best);
    h.log_prob += lp[best];
    const Tensor<float>& w = scorer.last_weights();
    weights.emplace_back();
    if (!w.empty())
      for (int64_t s = 0; s < S; ++s) weights.back().push_back(w[s]);
    if (best == kEos) break;
    previous = best;
  }
  h.score = h.log_prob;
  return h;
}

}  // namespace rnn::seq2seq
