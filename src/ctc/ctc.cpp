#include "rnn/ctc/ctc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "rnn/core/error.h"

namespace rnn::ctc {

std::string to_string(Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean: return "mean";
    case Reduction::Sum: return "sum";
    case Reduction::None: return "none";
  }
  return "?";
}

Reduction reduction_from_string(const std::string& name) {
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  if (name == "none") return Reduction::None;
  fail("CTC reduction must be mean, sum or none, got '", name, "'");
}

int64_t min_frames(std::span<const int64_t> target) {
  int64_t n = static_cast<int64_t>(target.size());
  for (size_t s = 1; s < target.size(); ++s)
    if (target[s] == target[s - 1]) ++n;
  return n;
}

namespace {

template <class T>
constexpr T neg_inf() {
  return -std::numeric_limits<T>::infinity();
}

// log(exp(a) + exp(b)) without overflow; -inf + -inf stays -inf.
template <class T>
T log_add(T a, T b) {
  if (a == neg_inf<T>()) return b;
  if (b == neg_inf<T>()) return a;
  const T m = std::max(a, b);
  return m + std::log1p(std::exp(-std::abs(a - b)));
}

}  // namespace

template <class T>
CtcResult<T> ctc_loss(const Tensor<T>& log_probs, const std::vector<std::vector<int64_t>>& targets,
                      std::span<const int64_t> input_lengths, const CtcOptions& options,
                      bool want_grad) {
  check(log_probs.rank() == 3, "ctc_loss: log_probs must be [T,B,C], got ",
        shape_str(log_probs.shape()));
  const int64_t steps = log_probs.dim(0), batch = log_probs.dim(1), classes = log_probs.dim(2);
  check(batch >= 1 && classes >= 1, "ctc_loss: log_probs ", shape_str(log_probs.shape()),
        " has no samples or no classes");
  check(options.blank >= 0 && options.blank < classes, "ctc_loss: blank ", options.blank,
        " out of range for ", classes, " classes");
  check(static_cast<int64_t>(targets.size()) == batch, "ctc_loss: ", targets.size(),
        " targets for a batch of ", batch);
  check(static_cast<int64_t>(input_lengths.size()) == batch, "ctc_loss: ", input_lengths.size(),
        " input lengths for a batch of ", batch);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = input_lengths[b];
    check(len >= 1 && len <= steps, "ctc_loss: input length ", len, " of sample ", b,
          " outside 1..", steps);
    for (size_t s = 0; s < targets[b].size(); ++s) {
      const int64_t c = targets[b][s];
      check(c >= 0 && c < classes && c != options.blank, "ctc_loss: target ", s, " of sample ",
            b, " is ", c, " (must be a class in [0,", classes, ") other than the blank ",
            options.blank, ")");
    }
  }

  CtcResult<T> result;
  result.losses.assign(static_cast<size_t>(batch), T(0));
  if (want_grad) result.grad = Tensor<T>({steps, batch, classes}, T(0));
  const T* lp = log_probs.data();
  auto at = [&](int64_t t, int64_t b, int64_t c) { return lp[(t * batch + b) * classes + c]; };

  // Per-sample weight of its loss in the reduction.
  std::vector<T> weight(static_cast<size_t>(batch), T(1));
  if (options.reduction == Reduction::Mean)
    for (int64_t b = 0; b < batch; ++b)
      weight[b] = T(1) / (static_cast<T>(std::max<size_t>(targets[b].size(), 1)) *
                          static_cast<T>(batch));

  std::vector<T> alpha, beta;
  std::vector<int64_t> label;
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int64_t>& target = targets[b];
    const int64_t len = input_lengths[b];
    // Extended label l': blank, y1, blank, y2, ..., yS, blank (2S+1 states).
    const int64_t states = 2 * static_cast<int64_t>(target.size()) + 1;
    label.assign(static_cast<size_t>(states), options.blank);
    for (size_t s = 0; s < target.size(); ++s) label[2 * s + 1] = target[s];
    // A skip s-2 -> s is allowed when l'(s) is a label that differs from l'(s-2).
    auto can_skip = [&](int64_t s) {
      return s >= 2 && label[s] != options.blank && label[s] != label[s - 2];
    };

    // alpha_t(s) = log sum over prefixes of alignments ending in state s at frame t
    //   alpha_0(0) = lp_0(blank), alpha_0(1) = lp_0(y1)
    //   alpha_t(s) = lse(alpha_{t-1}(s), alpha_{t-1}(s-1), [skip] alpha_{t-1}(s-2)) + lp_t(l'(s))
    alpha.assign(static_cast<size_t>(len * states), neg_inf<T>());
    alpha[0] = at(0, b, options.blank);
    if (states > 1) alpha[1] = at(0, b, label[1]);
    for (int64_t t = 1; t < len; ++t) {
      const T* prev = &alpha[(t - 1) * states];
      T* cur = &alpha[t * states];
      for (int64_t s = 0; s < states; ++s) {
        T a = prev[s];
        if (s >= 1) a = log_add(a, prev[s - 1]);
        if (can_skip(s)) a = log_add(a, prev[s - 2]);
        cur[s] = a == neg_inf<T>() ? a : a + at(t, b, label[s]);
      }
    }
    const T* last = &alpha[(len - 1) * states];
    const T log_likelihood = states > 1 ? log_add(last[states - 1], last[states - 2]) : last[0];
    const bool possible = std::isfinite(log_likelihood);
    if (!possible) {
      result.impossible.push_back(b);
      result.losses[b] = options.zero_infinity ? T(0) : std::numeric_limits<T>::infinity();
      continue;  // zero gradient
    }
    const T nll = -log_likelihood;
    result.losses[b] = nll;
    if (!want_grad) continue;

    // beta_t(s) = log sum over suffixes of alignments in state s at frame t (emission at t
    // included):  beta_{L-1}(S') = lp(l'), for the last two states;
    //   beta_t(s) = lse(beta_{t+1}(s), beta_{t+1}(s+1), [skip] beta_{t+1}(s+2)) + lp_t(l'(s))
    beta.assign(static_cast<size_t>(len * states), neg_inf<T>());
    beta[(len - 1) * states + states - 1] = at(len - 1, b, label[states - 1]);
    if (states > 1) beta[(len - 1) * states + states - 2] = at(len - 1, b, label[states - 2]);
    for (int64_t t = len - 2; t >= 0; --t) {
      const T* next = &beta[(t + 1) * states];
      T* cur = &beta[t * states];
      for (int64_t s = 0; s < states; ++s) {
        T v = next[s];
        if (s + 1 < states) v = log_add(v, next[s + 1]);
        if (s + 2 < states && can_skip(s + 2)) v = log_add(v, next[s + 2]);
        cur[s] = v == neg_inf<T>() ? v : v + at(t, b, label[s]);
      }
    }

    // d nll / d lp_t(c) = -exp(lse_{s: l'(s)=c} (alpha_t(s) + beta_t(s)) - lp_t(c) + nll)
    std::vector<T> gamma(static_cast<size_t>(classes));
    for (int64_t t = 0; t < len; ++t) {
      std::fill(gamma.begin(), gamma.end(), neg_inf<T>());
      for (int64_t s = 0; s < states; ++s)
        gamma[label[s]] = log_add(gamma[label[s]], alpha[t * states + s] + beta[t * states + s]);
      T* g = result.grad.data() + (t * batch + b) * classes;
      for (int64_t c = 0; c < classes; ++c) {
        if (gamma[c] == neg_inf<T>()) continue;
        g[c] = -std::exp(gamma[c] - at(t, b, c) + nll) * weight[b];
      }
    }
  }

  T total = T(0);
  for (int64_t b = 0; b < batch; ++b) total += result.losses[b] * weight[b];
  result.loss = total;
  return result;
}

template CtcResult<float> ctc_loss(const Tensor<float>&, const std::vector<std::vector<int64_t>>&,
                                   std::span<const int64_t>, const CtcOptions&, bool);
template CtcResult<double> ctc_loss(const Tensor<double>&, const std::vector<std::vector<int64_t>>&,
                                    std::span<const int64_t>, const CtcOptions&, bool);

namespace {

void check_decode_args(std::span<const float> log_probs, int64_t length, int64_t classes,
                       int64_t blank, const char* who) {
  check(classes >= 1 && blank >= 0 && blank < classes, who, ": blank ", blank,
        " out of range for ", classes, " classes");
  check(length >= 0 && length * classes <= static_cast<int64_t>(log_probs.size()), who,
        ": length ", length, " x ", classes, " classes exceeds the ", log_probs.size(),
        " scores given");
}

}  // namespace

std::vector<int64_t> greedy_decode(std::span<const float> log_probs, int64_t length,
                                   int64_t classes, int64_t blank) {
  check_decode_args(log_probs, length, classes, blank, "greedy_decode");
  std::vector<int64_t> out;
  int64_t previous = blank;
  for (int64_t t = 0; t < length; ++t) {
    const float* row = log_probs.data() + t * classes;
    const int64_t best = std::max_element(row, row + classes) - row;
    if (best != blank && best != previous) out.push_back(best);
    previous = best;
  }
  return out;
}

std::vector<BeamHypothesis> prefix_beam_search(std::span<const float> log_probs, int64_t length,
                                               int64_t classes, const BeamOptions& options) {
  check_decode_args(log_probs, length, classes, options.blank, "prefix_beam_search");
  check(options.beam_width >= 1, "prefix_beam_search: beam width must be >= 1, got ",
        options.beam_width);
  const double ninf = -std::numeric_limits<double>::infinity();
  // Per prefix: log P(alignments so far collapse to prefix and end in a blank / a label).
  struct Score {
    double blank = -std::numeric_limits<double>::infinity();
    double label = -std::numeric_limits<double>::infinity();
    double total() const { return log_add(blank, label); }
  };
  std::map<std::vector<int64_t>, Score> beams, next;
  beams[{}].blank = 0.0;
  for (int64_t t = 0; t < length; ++t) {
    const float* row = log_probs.data() + t * classes;
    const float best = *std::max_element(row, row + classes);
    next.clear();
    for (const auto& [prefix, score] : beams) {
      for (int64_t c = 0; c < classes; ++c) {
        const double p = row[c];
        if (row[c] < options.prune_log_prob && row[c] != best) continue;
        if (c == options.blank) {  // prefix unchanged, now ends in a blank
          Score& n = next[prefix];
          n.blank = log_add(n.blank, score.total() + p);
          continue;
        }
        std::vector<int64_t> extended = prefix;
        extended.push_back(c);
        Score& e = next[extended];
        if (!prefix.empty() && prefix.back() == c) {
          // repeating the last label extends only after a blank; else it collapses
          e.label = log_add(e.label, score.blank + p);
          Score& same = next[prefix];
          same.label = log_add(same.label, score.label + p);
        } else {
          e.label = log_add(e.label, score.total() + p);
        }
      }
    }
    // Keep the beam_width best prefixes (ties broken by the prefix order: deterministic).
    std::vector<std::pair<double, const std::vector<int64_t>*>> ranked;
    ranked.reserve(next.size());
    for (const auto& [prefix, score] : next) ranked.emplace_back(score.total(), &prefix);
    const size_t keep = std::min(ranked.size(), static_cast<size_t>(options.beam_width));
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep),
                      ranked.end(), [](const auto& a, const auto& b) {
                        if (a.first != b.first) return a.first > b.first;
                        return *a.second < *b.second;
                      });
    std::map<std::vector<int64_t>, Score> kept;
    for (size_t i = 0; i < keep; ++i)
      if (ranked[i].first > ninf) kept[*ranked[i].second] = next[*ranked[i].second];
    beams.swap(kept);
  }
  std::vector<BeamHypothesis> out;
  for (const auto& [prefix, score] : beams) out.push_back({prefix, score.total()});
  std::stable_sort(out.begin(), out.end(),
                   [](const BeamHypothesis& a, const BeamHypothesis& b) {
                     return a.log_prob > b.log_prob;
                   });
  return out;
}

}  // namespace rnn::ctc
