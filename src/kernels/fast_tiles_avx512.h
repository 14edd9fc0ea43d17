// What the fast kernels' AVX2 file takes from the AVX-512 one (internal to src/kernels).
#pragma once

#include <cstdint>

#include "rnn/kernels/fast_recurrent.h"

namespace rnn::kernels::fast {

// The left operand of a panel product: row r is [x[r*ldx + 0..kx) | a[r*lda + 0..ka)], and the
// panel has kx + ka rows (the input and the recurrent product of a step in one pass). kx may
// be 0 (x unused), and so may ka.
struct TileRows {
  const float* x = nullptr;
  int64_t ldx = 0, kx = 0;
  const float* a = nullptr;
  int64_t lda = 0, ka = 0;

  // The same operand from row `b` on.
  TileRows from_row(int64_t b) const {
    TileRows r = *this;
    if (kx > 0) r.x += b * ldx;
    if (ka > 0) r.a += b * lda;
    return r;
  }
};

namespace avx512 {

// c[r*ldc + 0..15] = sum_k row_r[k] * panel[k*16 + 0..15] for rows r in [0, m): the same
// products, summed in the same k order (x's columns first) with one FMA each, as the AVX2
// 6 x 16 tile, on 8 x 16 zmm tiles (8 accumulators, one panel load and eight broadcast FMAs
// per k). Needs AVX-512F.
void panel16(const TileRows& rows, const float* panel, float* c, int64_t ldc, int64_t m);

// How panels() runs: with `accumulate` the finished sums are added to c's values; of the last
// panel only the first last_cols (1..16) columns are written; the passes are chosen for
// plan_rows rows (0: m; a caller that hands the rows over in chunks gives the total); with
// last_first they run from the last panel to the first (each output by the same operations).
struct PanelOptions {
  bool accumulate = false;
  int64_t last_cols = 16;
  int64_t plan_rows = 0;
  bool last_first = false;
  // The panels are larger than L2 (read from L3 or memory): each pass brings the next
  // pass's panels into L2 while it runs, and the last pass `prefetch_floats` floats from
  // `prefetch` on (what the caller reads next).
  bool stream = false;
  const float* prefetch = nullptr;
  int64_t prefetch_floats = 0;
};

// panel16 over `count` panels side by side (panel q at panel + q*stride, its columns at
// c + q*16): the same sums in the same order, in passes of up to 4 panels whose broadcasts
// each feed every panel of the pass, on tiles of panels_tile_rows(count, plan_rows) rows.
// Needs AVX-512F.
void panels(const TileRows& rows, const float* panel, int64_t stride, int64_t count, float* c,
            int64_t ldc, int64_t m, const PanelOptions& options = {});
int64_t panels_tile_rows(int64_t count, int64_t plan_rows);

// A GRU group's three panels (r, z, n) with the input in the panels, the n gate's x and h
// parts apart (r multiplies only the h part): two passes of 8 x 48 tiles, one over the x
// rows and one over the h rows, r and z resuming from the first pass's sums (the same FMAs
// in the same order as one sweep). r, z and n's h part go to columns 0, 16, 32 of c, n's x
// part to 48. Needs AVX-512F.
// Of `options`, only the prefetch is used.
void gru_split_panels(const TileRows& rows, const float* group, int64_t stride, float* c,
                      int64_t ldc, int64_t m, const PanelOptions& options = {});

// panel_step's epilogue for group `ug` (from pack_gate_panels), every row, 16 units per zmm:
// pre-activations of row b at scratch[b*ldsc + gate * group units + unit] (and GRU's x part of
// the n gate at scratch[b*ldsc + group_cols(p) + unit] when p.kx > 0). The same operations in
// the same order as the AVX2 epilogues, so the results are identical. Needs AVX-512F.
void group_epilogue(const PackedGates& p, const StepArgs& s, int64_t ug, const float* scratch,
                    int64_t ldsc);

// fused_step for a PackedGates from pack_gates(..., wide) (LSTM/GRU blocks of 16 units) or
// an RNN one (blocks of 32): the same sums, tiling and epilogue as the AVX2 tiles, one zmm per
// 16 units. Needs AVX-512F.
void wide_step(const PackedGates& p, const StepArgs& s, int64_t block_begin, int64_t block_end);

}  // namespace avx512

}  // namespace rnn::kernels::fast
