// The fast float32 sequence loops (forward and BPTT) over the fused AVX2 kernels of
// rnn/kernels/fast_recurrent.h, threaded with OpenMP over hidden-unit blocks and batch rows.
// Internal to the recurrent layer; recurrent.cpp picks this path when fast_path_usable().
#pragma once

#include <cstdint>

#include "rnn/layers/recurrent_config.h"

namespace rnn::detail {

// Float module, Blas backend, AVX2+FMA CPU, no projection.
bool fast_path_usable(const RecurrentConfig& config);

// Threads the fast loops use for a step of `macs` multiply-adds (1 when too small to pay).
int fast_threads(int64_t macs);

// Where the fast forward's input projection x W_ih^T comes from: the caller (gi given,
// computed by BLAS), the forward itself over all steps at once into gi (on the panel tiles,
// from FastForwardArgs::x and w_ih), or each step (fused: no gi at all). packing_kept: the
// weights' packings are reused between calls (inference, FastForwardArgs::gates null).
enum class InputProduct { Caller, Sequence, Fused };
InputProduct fast_input_product(CellMode mode, int64_t batch, int64_t input, int64_t hidden,
                                bool packing_kept);

struct FastForwardArgs {
  CellMode mode = CellMode::LSTM;
  int64_t steps = 0, batch = 0, hidden = 0;
  bool reverse = false;
  const float* w_hh = nullptr;  // [G*H, H]
  const float* b_hh = nullptr;  // [G*H] or null
  const float* b_ih = nullptr;  // [G*H] or null: added in the step (gi comes without it)
  // [T, B, G*H] by time index: x W_ih^T, given (InputProduct::Caller) or written here
  // (Sequence); unused when fused.
  float* gi = nullptr;
  // Read unless the caller gives gi: the layer input x[t, b, :] at x + (t*B + b)*input, W_ih.
  const float* x = nullptr;
  int64_t input = 0;
  const float* w_ih = nullptr;  // [G*H, input]
  const int64_t* lengths = nullptr;  // [B]
  float* states = nullptr;  // [T+1, B, H] by processing step; [0] holds h0
  float* cells = nullptr;   // [T+1, B, H] LSTM; [0] holds c0
  // 0: states/cells hold T+1 slots as above; 2: two slots used in turn (step s in s % 2:
  // inference, where only the last state is kept; it ends in slot T % 2).
  int64_t state_slots = 0;
  float* gates = nullptr;   // [T, B, G*H] or null (inference)
  float* hn = nullptr;      // [T, B, H] GRU or null
  float* y = nullptr;       // y[t, b, :] at y + (t*B + b)*ldy
  int64_t ldy = 0;
  // When not null (only where the input product is fused): each step's rows of x are checked
  // for Inf/NaN while the step reads them, and *x_non_finite set when one is found (the
  // caller's separate pass over x from memory left out; the loop still runs to the end).
  bool* x_non_finite = nullptr;
};
void fast_forward_direction(const FastForwardArgs& a);

struct FastBackwardArgs {
  CellMode mode = CellMode::LSTM;
  int64_t steps = 0, batch = 0, hidden = 0;
  bool reverse = false;
  const float* w_hh = nullptr;
  const int64_t* lengths = nullptr;
  const float* states = nullptr;  // as forward
  const float* cells = nullptr;
  const float* gates = nullptr;
  const float* hn = nullptr;
  const float* dy = nullptr;  // dy[t, b, :] at dy + (t*B + b)*ldy
  int64_t ldy = 0;
  float* dh = nullptr;   // [B, H] in: dh_n, out: dh0
  float* dc = nullptr;   // [B, H] LSTM in: dc_n, out: dc0
  float* dgi = nullptr;  // [T, B, G*H] by time index, out
  // When not null (only where fast_backward_computes_dx()): the layer input's gradient
  // dx[t, b, :] = dgi_t W_ih at dx + (t*B + b)*input, each step's product inside the loop
  // (added to dx's values when dx_accumulate: the second direction).
  const float* w_ih = nullptr;  // [G*H, input]
  int64_t input = 0;
  float* dx = nullptr;
  bool dx_accumulate = false;
  float* g_w_hh = nullptr;  // += 
  float* g_b_hh = nullptr;  // += (may be null)
  // += (may be null): b_ih's gradient, the column sums of dgi, which b_hh's gates other than
  // GRU's n gate share; taken here with them in one pass over dgi.
  float* g_b_ih = nullptr;
  // When not null: [T, B] by processing step, the sum of squares (in double) of each row of
  // dLoss/dh at that step (recurrent part plus dy).
  double* dh_sq = nullptr;
};
void fast_backward_direction(const FastBackwardArgs& a);

// True when fast_backward_direction computes dx in its steps (FastBackwardArgs::dx).
bool fast_backward_computes_dx(CellMode mode, int64_t batch, int64_t input, int64_t hidden);

// dx (+)= dgi W_ih for all steps' rows at once, on the panel tiles, where the batch takes
// the panel path and W_ih is at most twice the L2 (true returned; false: the caller
// computes it).
bool fast_input_gradient(int64_t rows_per_step, int64_t rows, int64_t gates_hidden, int64_t input,
                         const float* dgi, const float* w_ih, float* dx, bool accumulate);

// sum_j v[j]^2 in double, in order (both paths use it for dh_norms).
double row_sum_squares(const float* v, int64_t n);

}  // namespace rnn::detail
