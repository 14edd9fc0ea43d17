// One time step of each cell type, forward and backward, for a batch of rows.
// Internal to the recurrent layer: the sequence loop, masking for variable lengths and
// the large input-projection products live in recurrent.cpp.
#pragma once

#include <cstdint>

#include "rnn/layers/recurrent_config.h"

namespace rnn::detail {

// Read-only weights of one layer and direction (biases and projection may be null).
template <class T>
struct CellWeights {
  const T* w_ih = nullptr;  // [G*H, in]
  const T* w_hh = nullptr;  // [G*H, Hout]
  const T* b_ih = nullptr;  // [G*H]
  const T* b_hh = nullptr;  // [G*H]
  const T* w_hr = nullptr;  // [P, H]
};

// Gradient accumulators (+=) matching CellWeights.
template <class T>
struct CellGrads {
  T* w_ih = nullptr;
  T* w_hh = nullptr;
  T* b_ih = nullptr;
  T* b_hh = nullptr;
  T* w_hr = nullptr;
};

struct CellShape {
  CellMode mode;
  int64_t batch;   // B
  int64_t hidden;  // H
  int64_t out;     // Hout = P > 0 ? P : H
  bool projects;   // P > 0
  int64_t gates() const { return gate_count(mode); }
};

// What one forward step keeps for backward.
template <class T>
struct CellStepCache {
  T* gates;   // [B, G*H] LSTM i,f,g,o; GRU r,z,n; RNN h' (activations)
  T* hn;      // [B, H] GRU only: W_hn h + b_hn
  T* raw;     // [B, H] LSTM with projection: o * tanh(c') before W_hr
};

// bias_grad[j] += sum over rows of m[b, j] (m [rows, n]); nothing when bias_grad is null.
template <class T>
void add_column_sums(int64_t rows, int64_t n, const T* m, T* bias_grad) {
  if (!bias_grad) return;
  for (int64_t b = 0; b < rows; ++b) {
    for (int64_t j = 0; j < n; ++j) bias_grad[j] += m[b * n + j];
  }
}

// Forward of one step for all B rows.
//   gi [B, G*H]: x W_ih^T + b_ih for this step (already computed for all steps)
//   work [B, G*H]: scratch for h W_hh^T + b_hh
//   out: h_new [B, Hout], c_new [B, H] (LSTM), cache as above.
template <class T>
void cell_forward(const CellShape& s, const CellWeights<T>& w, const T* gi, const T* h_prev,
                  const T* c_prev, T* work, const CellStepCache<T>& cache, T* h_new, T* c_new);

// Backward of one step. `active[b]` false means row b did not run this step (past its
// length): its state gradients pass through unchanged and it adds nothing to weights.
//   in:  dh [B, Hout] (gradient wrt h_new, upstream output gradient already added),
//        dc [B, H] (LSTM), the step's cache, h_prev, c_prev
//   out: dgi [B, G*H] gradient wrt the step's input projection (zero on inactive rows),
//        dh_prev [B, Hout], dc_prev [B, H]; weight gradients of W_hh, b_hh, W_hr += .
//   work_gh [B, G*H], work_h [B, H] are scratch.
template <class T>
void cell_backward(const CellShape& s, const CellWeights<T>& w, const CellGrads<T>& g,
                   const unsigned char* active, const T* dh, const T* dc,
                   const CellStepCache<T>& cache, const T* h_prev, const T* c_prev,
                   const T* c_new, T* dgi, T* dh_prev, T* dc_prev, T* work_gh, T* work_h);

}  // namespace rnn::detail
