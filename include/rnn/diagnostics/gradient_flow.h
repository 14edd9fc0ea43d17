// Gradient flow through time: ||dL/dh_t|| for every time step of BPTT.
//
// dL/dh_t is the total gradient of the loss with respect to the hidden state h_t that step
// t produces (through the output at t and through every later step); its norm is taken over
// the whole batch (Frobenius over [B, Hout]). For a loss on the last step only (the adding
// problem) the curve t -> ||dL/dh_t|| shows how much of the error signal reaches a step
// T-1-t steps back: a straight line on a log axis means exponential decay (vanishing) or
// growth (exploding).
//
// Letters: T time steps, B batch, I input size, Hout hidden (output) size.
#pragma once

#include <vector>

#include "rnn/core/tensor.h"
#include "rnn/layers/recurrent.h"

namespace rnn::diagnostics {

// Per layer, per time step: norms[layer][t], t = 0..T-1 (time order, t = T-1 the last).
using GradientFlow = std::vector<std::vector<double>>;

// A reference that needs nothing from the layer's backward: runs `module` one step at a time
// (T forward calls of length 1, chained through h0/c0, Train mode with a cache) and backward
// through the chain, so the gradient reaching each step's state is visible between calls:
//   dL/dh_t = dy_t + dh0 returned by the backward of step t+1   (dh_n for t = T-1).
// x [T,B,I] (time-major; batch_first is not supported here), dy [T,B,Hout] and dh_n
// [1,B,Hout] / dc_n [1,B,H] (empty = zeros). Single-layer unidirectional modules without
// lengths only. Side effect: parameter gradients are accumulated (+=) into the module's
// store exactly as one backward over the sequence would (callers that only want the norms
// save and restore the gradient buffer).
template <class T>
GradientFlow dh_norms_by_steps(const Recurrent<T>& module, const Tensor<T>& x, const Tensor<T>& dy,
                               const Tensor<T>& dh_n = {}, const Tensor<T>& dc_n = {});

}  // namespace rnn::diagnostics
