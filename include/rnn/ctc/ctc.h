// Connectionist temporal classification: the loss of torch.nn.CTCLoss (computed in log
// space with the forward-backward algorithm), greedy and prefix beam search decoding.
//
// Letters: T time steps, B batch, C classes (the blank included), S target length.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnn/core/tensor.h"

namespace rnn::ctc {

enum class Reduction { Mean, Sum, None };
std::string to_string(Reduction reduction);             // "mean", "sum", "none"
Reduction reduction_from_string(const std::string& name);  // throws on anything else

struct CtcOptions {
  int64_t blank = 0;
  Reduction reduction = Reduction::Mean;  // mean: mean over the batch of loss_b / max(S_b, 1)
  bool zero_infinity = false;             // impossible alignments: loss 0 and gradient 0
};

template <class T>
struct CtcResult {
  T loss = T(0);                    // the reduced loss (Mean / Sum); sum of `losses` for None
  std::vector<T> losses;            // [B] negative log-likelihood of each sample, unreduced
                                    // (+inf where impossible, 0 there with zero_infinity)
  std::vector<int64_t> impossible;  // samples whose target cannot be aligned to their input
  // d loss / d log_probs [T,B,C] for the reduced loss (with None: for the sum of the
  // losses, i.e. an upstream gradient of one for every sample). This is the exact
  // gradient with respect to log_probs; torch's native kernel returns this plus
  // w_b * exp(log_probs), which gives the same gradient once it flows back through a
  // log_softmax. Impossible samples get a zero gradient (never NaN), with or without
  // zero_infinity.
  Tensor<T> grad;
};

// log_probs [T,B,C] (log-probabilities, normally a log_softmax over C); targets[b] holds
// S_b class ids in [0,C) other than the blank; input_lengths[b] in 1..T. Throws
// rnn::Error naming the offending sample on any bad argument. `want_grad` false skips
// the backward pass (grad left empty).
template <class T>
CtcResult<T> ctc_loss(const Tensor<T>& log_probs, const std::vector<std::vector<int64_t>>& targets,
                      std::span<const int64_t> input_lengths, const CtcOptions& options = {},
                      bool want_grad = true);

// The fewest frames that can emit `target`: S plus one blank between each pair of equal
// neighbours.
int64_t min_frames(std::span<const int64_t> target);

// Greedy (best path) decoding of one sequence: log_probs [T,C] row-major (or any scores),
// the first `length` frames; argmax per frame, repeats collapsed, blanks dropped.
std::vector<int64_t> greedy_decode(std::span<const float> log_probs, int64_t length,
                                   int64_t classes, int64_t blank = 0);

struct BeamOptions {
  int64_t beam_width = 8;
  int64_t blank = 0;
  float prune_log_prob = -20.0f;  // classes below this log-probability at a frame are skipped
                                  // (the best class of a frame is never skipped)
};

struct BeamHypothesis {
  std::vector<int64_t> tokens;
  double log_prob = 0.0;  // log P(prefix) summed over the alignments the beam kept
};

// Prefix beam search over log_probs [T,C] (first `length` frames): every alignment that
// collapses to the same prefix is merged (blank-ending and non-blank-ending kept apart, so
// "a a" separated by a blank stays distinct from "a"). Returns the hypotheses best first
// (at most beam_width).
std::vector<BeamHypothesis> prefix_beam_search(std::span<const float> log_probs, int64_t length,
                                               int64_t classes, const BeamOptions& options = {});

}  // namespace rnn::ctc
