// Stacked, optionally bidirectional RNN / LSTM / GRU with full BPTT, numerically
// identical to torch.nn.RNN / LSTM / GRU (see DESIGN.md section 1).
//
// Letters: T time steps, B batch, I input_size, H hidden_size, P proj_size,
// Hout = P > 0 ? P : H, D directions, L layers, G gates.
//
// Per layer k and direction suffix s ("" or "_reverse") the module owns, in the
// store it was built on, under `prefix` + PyTorch's names:
//   weight_ih_l{k}{s} [G*H, in_k]   weight_hh_l{k}{s} [G*H, Hout]
//   bias_ih_l{k}{s}   [G*H]         bias_hh_l{k}{s}   [G*H]      (when bias)
//   weight_hr_l{k}{s} [P, H]                                      (when P > 0)
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"
#include "rnn/layers/recurrent_config.h"

namespace rnn {

template <class T>
struct RecurrentInput {
  Tensor<T> x;                   // [T,B,I], or [B,T,I] when batch_first
  Tensor<T> h0;                  // [D*L,B,Hout]; empty = zeros
  Tensor<T> c0;                  // [D*L,B,H], LSTM only; empty = zeros
  std::vector<int64_t> lengths;  // [B], each in 1..T, any order; empty = all T
};

template <class T>
struct RecurrentOutput {
  Tensor<T> y;    // [T,B,D*Hout] (or [B,T,D*Hout]); zero at padded positions
  Tensor<T> h_n;  // [D*L,B,Hout], taken at each sequence's own end
  Tensor<T> c_n;  // [D*L,B,H], LSTM only (empty otherwise)
};

// Upstream gradients; empty tensors stand for zeros.
template <class T>
struct RecurrentGradOutput {
  Tensor<T> dy;    // like y
  Tensor<T> dh_n;  // like h_n
  Tensor<T> dc_n;  // like c_n
  // Also return RecurrentGradInput::dh_norms (costs nothing when false).
  bool record_dh_norms = false;
};

// Gradients of the inputs. Parameter gradients are accumulated (+=) into the store.
template <class T>
struct RecurrentGradInput {
  Tensor<T> dx;   // like x
  Tensor<T> dh0;  // [D*L,B,Hout]
  Tensor<T> dc0;  // [D*L,B,H], LSTM only
  // [L*D, T] when RecurrentGradOutput::record_dh_norms (else empty): row layer*D + direction,
  // column time index t: the 2-norm over the batch and units of dLoss/dh_t, the whole gradient
  // reaching that layer-direction's state h_t (from its output at t plus the recurrent path
  // from the step after; for a row past its length, the carried state's gradient).
  Tensor<T> dh_norms;
};

// Everything backward needs from one forward call (activations per step, dropout
// masks, lengths). Opaque; produced by forward, consumed by backward.
template <class T>
struct RecurrentCache;

template <class T>
struct RecurrentCacheDeleter {
  void operator()(RecurrentCache<T>* cache) const;
};
template <class T>
using RecurrentCachePtr = std::unique_ptr<RecurrentCache<T>, RecurrentCacheDeleter<T>>;

enum class Mode { Eval, Train };

// State carried between calls of the streaming API (one time step at a time).
template <class T>
struct RecurrentState {
  Tensor<T> h;  // [D*L,B,Hout]
  Tensor<T> c;  // [D*L,B,H], LSTM only
};

template <class T>
class RecurrentStepper;

template <class T>
class Recurrent {
 public:
  // Registers the parameters in `store` (names prefixed by `prefix`) and initialises
  // them like PyTorch: U(-1/sqrt(H), 1/sqrt(H)) drawn from `rng`.
  Recurrent(const RecurrentConfig& config, Parameters<T>& store, Rng& rng,
            const std::string& prefix = "");

  const RecurrentConfig& config() const { return config_; }
  const std::string& prefix() const { return prefix_; }
  Parameters<T>& store() { return *store_; }
  const Parameters<T>& store() const { return *store_; }

  // Checks every argument (shapes, lengths, finiteness) and throws rnn::Error.
  // In Train mode dropout between layers draws from `rng` (may be null in Eval mode)
  // and, when `cache` is not null, it receives what backward needs.
  RecurrentOutput<T> forward(const RecurrentInput<T>& input, Mode mode, Rng* rng,
                             RecurrentCachePtr<T>* cache) const;

  // Full BPTT through the sequence cached by forward. Accumulates parameter gradients
  // into the store's gradient buffer and returns dx, dh0, dc0.
  RecurrentGradInput<T> backward(const RecurrentCache<T>& cache,
                                 const RecurrentGradOutput<T>& grad) const;

  // Streaming inference: advances `state` by one step (eval mode) for x_t [B,I] and
  // returns the top layer's output [B,D*Hout]. Unidirectional modules only.
  RecurrentState<T> initial_state(int64_t batch) const;
  Tensor<T> step(const Tensor<T>& x_t, RecurrentState<T>& state) const;

  // Names of the parameters this module owns, in PyTorch's order (without prefix).
  std::vector<std::string> parameter_names() const;

 private:
  friend class RecurrentStepper<T>;
  struct LayerParams {
    ParamId w_ih, w_hh, b_ih, b_hh, w_hr;
  };
  const LayerParams& params(int64_t layer, int64_t direction) const {
    return params_[static_cast<size_t>(layer * config_.directions() + direction)];
  }

  RecurrentConfig config_;
  Parameters<T>* store_;
  std::string prefix_;
  std::vector<LayerParams> params_;  // [layer * D + direction]
};

// Streaming inference with no allocation, no lock and no argument re-checking per step:
// holds the packed weights, the state and every scratch buffer for a fixed batch B.
// Construction allocates and packs (it snapshots the weights: call refresh() after they
// change); step() then only computes. Unidirectional modules only; eval mode.
// For float on AVX2+FMA CPUs each layer is one fused pass: [x | h] times the packed
// [W_ih | W_hh], then the gate nonlinearities in registers.
template <class T>
class RecurrentStepper {
 public:
  RecurrentStepper(const Recurrent<T>& module, int64_t batch);
  ~RecurrentStepper();
  RecurrentStepper(RecurrentStepper&&) noexcept;
  RecurrentStepper& operator=(RecurrentStepper&&) noexcept;

  int64_t batch() const;
  // Re-reads (re-packs) the module's weights.
  void refresh();
  // State to zeros.
  void reset();
  // Copies a state in ([L,B,Hout] and [L,B,H]) or out.
  void set_state(const RecurrentState<T>& state);
  RecurrentState<T> state() const;

  // x_t [B, I] row-major; returns the top layer's output [B, Hout], valid until the next
  // call. Checks only the size of x.
  std::span<const T> step(std::span<const T> x);
  // Unchecked: x holds B*I values; returns a pointer to [B, Hout].
  const T* step(const T* x);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class Recurrent<float>;
extern template class Recurrent<double>;
extern template class RecurrentStepper<float>;
extern template class RecurrentStepper<double>;

}  // namespace rnn
