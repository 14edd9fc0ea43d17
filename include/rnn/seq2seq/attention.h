// Attention over an encoder's outputs ("memory"), one decoder step at a time, with the
// padded source positions masked out.
//
// Letters: S source steps, B batch, Q query size (decoder hidden), M memory size (encoder
// output features), A additive attention size.
//
// Scores e[b,s] for query q[b] [Q] and memory m[s,b] [M]:
//   Dot      (Luong)     e = q . m                              (needs Q == M)
//   General  (Luong)     e = q . (W m),        W [Q,M]           ("weight")
//   Additive (Bahdanau)  e = v . tanh(W_k m + W_q q + b)         ("key.weight" [A,M],
//                                                                 "query.weight" [A,Q],
//                                                                 "query.bias" [A], "v" [A])
// Weights a[b,:] = softmax of e[b,s] over s < lengths[b] (a = 0 at padded positions);
// context c[b] = sum_s a[b,s] m[s,b]. W_k m does not depend on the step, so prepare()
// computes it once per batch of sources.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"
#include "rnn/nn/linear.h"

namespace rnn::seq2seq {

enum class AttentionScore { None, Dot, General, Additive };
std::string to_string(AttentionScore score);                      // "none", "dot", ...
AttentionScore attention_score_from_string(const std::string& s);  // throws on anything else

struct AttentionConfig {
  AttentionScore score = AttentionScore::General;  // not None
  int64_t query_size = 0;      // Q
  int64_t memory_size = 0;     // M
  int64_t attention_size = 0;  // A (Additive only; 0 = Q)
};

// The memory of one batch of sources, with what every step reuses.
template <class T>
struct AttentionMemory {
  Tensor<T> memory;              // [S,B,M]
  std::vector<int64_t> lengths;  // [B], each in 1..S
  Tensor<T> keys;                // [S,B,A] = memory W_k^T (Additive only)
  int64_t steps() const { return memory.dim(0); }
  int64_t batch() const { return memory.dim(1); }
};

// What backward needs from one step.
template <class T>
struct AttentionStep {
  Tensor<T> query;    // [B,Q]
  Tensor<T> weights;  // [B,S] (0 at padded positions)
  Tensor<T> u;        // [B,M] q W (General)
  Tensor<T> z;        // [S,B,A] tanh(...) (Additive)
};

// Gradient accumulated over the steps of one batch; finish with backward_memory().
template <class T>
struct AttentionMemoryGrad {
  Tensor<T> dmemory;  // [S,B,M]
  Tensor<T> dkeys;    // [S,B,A] (Additive)
};

template <class T>
class Attention {
 public:
  // Registers the score's parameters under `prefix` (none for Dot), initialised
  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from `rng` (Linear's default; v uses fan_in A).
  Attention(const AttentionConfig& config, Parameters<T>& store, Rng& rng,
            const std::string& prefix = "");

  const AttentionConfig& config() const { return config_; }

  // Checks memory [S,B,M] and lengths [B] (each in 1..S).
  AttentionMemory<T> prepare(Tensor<T> memory, std::vector<int64_t> lengths) const;
  // Rows `rows` of a prepared memory (beam search: one copy per hypothesis).
  static AttentionMemory<T> select(const AttentionMemory<T>& memory,
                                   const std::vector<int64_t>& rows);

  // query [B,Q] -> context [B,M]; `step` (output) receives the weights and what backward
  // needs.
  Tensor<T> forward(const AttentionMemory<T>& memory, const Tensor<T>& query,
                    AttentionStep<T>& step) const;

  // dcontext [B,M] -> dquery [B,Q]; accumulates parameter gradients into the store and the
  // memory's gradient into `grad` (allocated on first use).
  Tensor<T> backward(const AttentionMemory<T>& memory, const AttentionStep<T>& step,
                     const Tensor<T>& dcontext, AttentionMemoryGrad<T>& grad) const;

  // After the last step's backward: folds dkeys into dmemory and W_k's gradient (Additive);
  // returns dmemory [S,B,M] (zeros if no step ran).
  Tensor<T> backward_memory(const AttentionMemory<T>& memory, AttentionMemoryGrad<T>& grad) const;

 private:
  AttentionConfig config_;
  Parameters<T>* store_;
  ParamId weight_;  // General
  ParamId v_;       // Additive
  std::unique_ptr<nn::Linear<T>> key_, query_;  // Additive
};

extern template class Attention<float>;
extern template class Attention<double>;

}  // namespace rnn::seq2seq
