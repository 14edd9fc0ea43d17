// Packed recurrent weights reused between calls whose weights have not changed (internal to
// the recurrent layer's fast path).
//
// Packing W_hh (and W_ih) into the fast kernels' panels costs one pass with strided writes:
// 9% of a batch-1 GRU H=256 forward over 100 steps. Each thread keeps the packings of the last
// few weight sets it saw together with a copy of the values they were packed from; a call
// whose weights compare equal byte for byte (memcmp, a fraction of the packing's cost) reuses
// the packing. Any change to the weights, through whatever pointer, is seen, so the result is
// always that of packing afresh.
#pragma once

#include <cstdint>

#include "rnn/kernels/fast_recurrent.h"

namespace rnn::detail {

// What is packed: pack_gate_panels when `panels`, else pack_gates, with these arguments.
struct GatePacking {
  bool panels = false;
  // W_x packed apart (PackedGates::input, for the input product of all steps at once)
  // instead of into the gate panels or blocks, which then hold W_h only.
  bool input_apart = false;
  bool wide = false;  // pack_gates' 16-unit blocks for the AVX-512 tiles
  kernels::fast::Cell cell = kernels::fast::Cell::LSTM;
  int64_t hidden = 0;
  int64_t kx = 0;
  const float* w_x = nullptr;  // [G*H, kx] or null (kx = 0)
  const float* b_x = nullptr;  // [G*H] or null
  int64_t kh = 0;
  const float* w_h = nullptr;  // [G*H, kh]
  const float* b_h = nullptr;  // [G*H] or null
};

// The calling thread's packing of `what`, valid until this thread's next call. With
// reuse = false (training: the weights change between calls) it is packed afresh into a
// per-thread buffer and no copy is kept.
const kernels::fast::PackedGates& packed_gates(const GatePacking& what, bool reuse);

}  // namespace rnn::detail
