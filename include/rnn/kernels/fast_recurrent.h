// Fast float32 CPU kernels for the recurrent layers (internal; may change).
//
// The recurrent product h W_hh^T of one time step and the gate nonlinearities are fused:
// W_hh is packed once per call into column panels grouped by hidden unit, so that one
// panel holds every gate of 8 (LSTM, GRU) or 32 (RNN) hidden units. A register tile of
// rows x panel then ends with the complete pre-activations of those units, and the
// epilogue applies sigmoid / tanh (vectorised, accurate to a few ulp), the cell update,
// the output write and the length masking without the pre-activations touching memory.
//
// The kernels need AVX2 and FMA; `available()` checks the CPU at run time (the library is
// built for baseline x86-64), and the layers fall back to the plain path where it is false.
// Every output element is computed by the same instruction sequence whatever the block
// range a thread is given, so results do not depend on the thread count.
//
// Letters as in recurrent.h: B rows, H hidden, G gates, K = reduction length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace rnn::kernels::fast {

// True when the CPU has AVX2 and FMA and RNN_DISABLE_AVX2 is not set in the environment.
bool available();

// True when the CPU also has AVX-512F and RNN_DISABLE_AVX512 is not set: the products over
// 16-column panels (the batched recurrent step, the backward's dh W_hh) then run on zmm tiles.
// They sum the same terms in the same order, so results are identical either way.
bool avx512_available();
// avx512_available() unless turned off by enable_avx512(false) (tests compare the two).
bool avx512_enabled();
void enable_avx512(bool on);

// The L2 cache of one core in bytes (1 MiB where the system does not say): the recurrent
// path chooses its products, their order and their prefetching by whether the weights fit.
int64_t l2_cache_bytes();
// Tests: take the L2 to hold `bytes` (every choice above follows); bytes <= 0 restores the
// system's size.
void set_l2_cache_bytes(int64_t bytes);

// Float buffer aligned to 64 bytes, allocated once and reused.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) { resize(n); }
  // Reallocates only when growing; contents are not kept. New storage is zeroed.
  void resize(size_t n);
  float* data() { return ptr_.get(); }
  const float* data() const { return ptr_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(float* p) const;
  };
  std::unique_ptr<float[], Free> ptr_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

enum class Cell { LSTM, GRU, RNN_TANH, RNN_RELU };

// Gates per hidden unit: 4 LSTM, 3 GRU, 1 RNN.
inline int64_t gate_count(Cell c) { return c == Cell::LSTM ? 4 : c == Cell::GRU ? 3 : 1; }

// Right-hand matrix B [K, N] (row-major) packed into panels of 32 columns: [N/32][K][32].
// width 16: [N/16][K][16] for the 6 x 16 tile (many rows).
// Panels of 32 larger than L2 keep their 4 vectors of 8 columns in runs of their own,
// [N/32][4][K][8] (PackedGates::vector_runs: a few-row product reads 4 streams at once).
struct PackedMatrix {
  int64_t k = 0, n = 0, blocks = 0, width = 32;
  bool vector_runs = false;
  AlignedBuffer w;
};
void pack_matrix(PackedMatrix& p, int64_t k, int64_t n, const float* b, int64_t width = 32);
// The same packing of B = bt^T from bt [N, K] (row-major): W_ih^T for x W_ih^T.
void pack_matrix_transposed(PackedMatrix& p, int64_t k, int64_t n, const float* bt,
                            int64_t width = 16);

// W_hh (and optionally W_ih) packed for the fused step.
// Block jb covers units [jb*U, jb*U+U); its panel is K rows of V*8 floats, column v*8+l
// holding gate v/(U/8), unit jb*U + (v%(U/8))*8 + l (or, with vector_runs, the same columns
// as V runs of K rows of 8: vector v at v*K*8). K = kx + kh: the first kx rows come
// from W_x (input and recurrent products in one pass), the rest from W_h.
struct PackedGates {
  Cell cell = Cell::LSTM;
  int64_t hidden = 0;   // H
  int64_t kx = 0;       // rows from W_x (0: the input projection comes in StepArgs::gi)
  int64_t kh = 0;       // rows from W_h (Hout)
  int64_t units = 8;    // U per block
  int64_t vecs = 4;     // V = G*U/8
  int64_t blocks = 0;   // ceil(H / U)
  AlignedBuffer w;      // [blocks][K][V*8]
  AlignedBuffer bias;   // [blocks][V*8]: b_h (+ b_x except GRU's n gate), by the block layout
  AlignedBuffer bias_xn;  // [blocks][U]: GRU's b_in (b_x's n gate), else zeros
  // > 0 when packed by pack_gate_panels: w holds [groups][group_cols/16][K][16], a group
  // being `group_blocks` blocks whose columns are gate-major (gate g of the group's unit u
  // in column g * group_blocks * U + u).
  int64_t group_blocks = 0;
  // pack_gates' 8-unit LSTM/GRU blocks where they are larger than L2 (a step streams them
  // from L3): each of a block's V gate vectors stored as its own run of [K][8] instead of side
  // by side ([K][V*8]), so that a batch-1 sweep reads V streams at once rather than one; the
  // same products in the same order. One Zen 3 core, a 1-row sweep over 16 MiB (LSTM
  // H = 1024): 1.4x the bytes per second; no change where the weights fit in L3 twice over.
  bool vector_runs = false;
  // The input weights packed apart (pack_matrix_transposed of W_x, width 16) for the input
  // product of all steps at once (packed_gemm_rows), where they are not in the panels; else
  // empty (blocks = 0).
  PackedMatrix input;

  int64_t k() const { return kx + kh; }
  int64_t panel_floats() const { return k() * vecs * 8; }
  // Floats from one k to the next, and from one gate vector to the next, in a block's panel.
  int64_t k_stride() const { return vector_runs ? 8 : vecs * 8; }
  int64_t vector_stride() const { return vector_runs ? k() * 8 : 8; }
};

// w_x [G*H, kx] may be null (kx = 0); b_x [G*H] may be null, and is added where given even
// when kx = 0 (the sequence path, whose input projection comes without its bias);
// w_h [G*H, kh]; b_h may be null. `wide` (AVX-512 only: avx512_enabled()): LSTM/GRU blocks of
// 16 units, one zmm per gate, for fused_step's AVX-512 tiles, from H = kWideMinHidden on (RNN
// blocks are 32 units either way). One pinned core, against the 8-unit AVX2 tiles: the
// streaming step 1.2-1.6x faster at H = 16-256, batch-1 inference up to 1.25x (GRU H = 128);
// at H = 8 a half-empty zmm block was 8-18% slower.
constexpr int64_t kWideMinHidden = 16;
void pack_gates(PackedGates& p, Cell cell, int64_t hidden, int64_t kx, const float* w_x,
                const float* b_x, int64_t kh, const float* w_h, const float* b_h, bool wide = false);

// The batched layout (many rows): groups of two blocks (16 units for LSTM/GRU, 64 for RNN:
// 4 panels on AVX-512, as many as an LSTM group, where 2 ran 3-5% slower at H = 512),
// gate-major, stored as panels of 16 columns, the shape of panel_step's 8 x 16 / 6 x 16
// register tiles. Arguments as pack_gates.
void pack_gate_panels(PackedGates& p, Cell cell, int64_t hidden, int64_t kx, const float* w_x,
                      const float* b_x, int64_t kh, const float* w_h, const float* b_h);
inline int64_t gate_groups(const PackedGates& p) {
  return (p.blocks + p.group_blocks - 1) / p.group_blocks;
}
inline int64_t group_cols(const PackedGates& p) { return p.group_blocks * p.vecs * 8; }
// Floats per row of panel_step's scratch: a group's columns, and GRU's x part of the n gate
// when the input is in the panels.
inline int64_t panel_scratch_cols(const PackedGates& p) {
  return group_cols(p) + (p.cell == Cell::GRU && p.kx > 0 ? 16 : 0);
}

// Arguments of one fused step for `rows` rows.
struct StepArgs {
  int64_t rows = 0;
  const float* a = nullptr;   // [rows, K] (lda): h_prev, or [x | h_prev] with kx > 0 (fused_step)
  int64_t lda = 0;
  const float* x = nullptr;   // panel_step with kx > 0: x_t [rows, kx] (ldx); a is then h_prev
  int64_t ldx = 0;
  const float* gi = nullptr;  // [rows, G*H] (ldgi): x W_ih^T (b_ih is in the packed bias), or null (stepper)
  int64_t ldgi = 0;
  const float* h_prev = nullptr;  // [rows, H] (ldh), read by GRU and for masked rows
  int64_t ldh = 0;
  const float* c_prev = nullptr;  // [rows, H] LSTM
  const unsigned char* active = nullptr;  // [rows]; null = all run this step
  float* h_new = nullptr;   // [rows, H]
  float* c_new = nullptr;   // [rows, H] LSTM
  float* y = nullptr;       // [rows, ldy] or null: h_new of active rows is also written here
  int64_t ldy = 0;
  float* gates = nullptr;   // [rows, G*H] activations for backward, or null
  float* hn = nullptr;      // [rows, H] GRU: W_hn h + b_hn for backward, or null
  // Visit the range's blocks (groups) from the last to the first. Alternate steps of a
  // sequence do, so that the weights read last by one step, still in L2, are read first by
  // the next where the packed weights are larger than L2. Each block's outputs are computed
  // by the same instructions in either order.
  bool last_first = false;
  // fused_step: h_new, c_new and y are written with denormals replaced by zeros of their sign
  // (as copy_flush_denormals), for a caller that keeps them out of its state without FTZ/DAZ
  // (the stepper), so that it needs no pass of its own over what the step just wrote; gates
  // and hn are written as computed.
  bool flush_denormals = false;
  // panel_step (AVX-512), where it prefetches no weights: floats that the next step reads
  // first (its rows of x), brought into L2 a share at a time while this step's tiles run.
  const float* prefetch = nullptr;
  int64_t prefetch_floats = 0;
};

// Runs blocks [block_begin, block_end) of one step. Inactive rows (active[b] == 0) keep
// h_prev / c_prev and write nothing to y.
void fused_step(const PackedGates& p, const StepArgs& args, int64_t block_begin,
                int64_t block_end);

// fused_step for a PackedGates from pack_gate_panels: groups [group_begin, group_end) of one
// step, every row; each group's pre-activations for all rows go through `scratch`
// (rows * panel_scratch_cols(p) floats, per thread) and then the same epilogue as fused_step.
void panel_step(const PackedGates& p, const StepArgs& args, int64_t group_begin,
                int64_t group_end, float* scratch);

// The epilogue of fused_step alone, for pre-activations computed elsewhere (by BLAS):
// gate g of unit j of row b at pre[b*ldpre + g*gate_stride + (j - unit0)], blocks
// [block_begin, block_end) (units from unit0 on). `p` supplies the biases only.
void fused_epilogue(const PackedGates& p, const float* pre, int64_t ldpre, int64_t gate_stride,
                    int64_t unit0, const StepArgs& args, int64_t block_begin, int64_t block_end);

// C[M, cols of blocks] = A[M, K] * B (or C += A * B with `accumulate`: the finished sums
// added to C) for panels [block_begin, block_end) of a PackedMatrix (either width), from the
// last panel to the first with `last_first` (see StepArgs::last_first; same results).
void packed_gemm(const PackedMatrix& p, int64_t m, const float* a, int64_t lda, float* c,
                 int64_t ldc, int64_t block_begin, int64_t block_end, bool accumulate = false,
                 bool last_first = false);

// packed_gemm (not accumulating) on a matrix packed 16 wide, A's rows in two parts side by
// side: A[r, 0:kx] at x + r*ldx, A[r, kx:K] at a + r*lda (GRU's backward: the r and z gates'
// dgh are dgi's, the n gate's a buffer of its own). The same sums as A in one piece.
void packed_gemm_two_part(const PackedMatrix& p, int64_t m, const float* x, int64_t ldx, int64_t kx,
                          const float* a, int64_t lda, float* c, int64_t ldc, int64_t block_begin,
                          int64_t block_end, bool last_first = false);

// packed_gemm over every panel for many rows (a whole sequence's T*B): the rows in blocks
// that stay in L2 while all the panels pass over them. Each output is summed as by
// packed_gemm (the same on either tile width, whatever the row count).
void packed_gemm_rows(const PackedMatrix& p, int64_t m, const float* a, int64_t lda, float* c,
                      int64_t ldc, bool accumulate = false);

// Backward of the gate nonlinearities of one step for rows [0, rows), units [0, H).
// Writes dgi [rows, G*H] (ldgi) and dgh [rows, G*H] (may equal dgi except for GRU),
// dc_prev (LSTM). Inactive rows: dgi = dgh = 0 and dc_prev = dc.
struct PointwiseBackwardArgs {
  Cell cell = Cell::LSTM;
  int64_t rows = 0, hidden = 0;
  const unsigned char* active = nullptr;
  const float* gates = nullptr;  // [rows, G*H]
  const float* hn = nullptr;     // GRU [rows, H]
  const float* h_prev = nullptr; // GRU [rows, H]
  const float* c_prev = nullptr; // LSTM
  const float* c_new = nullptr;  // LSTM
  const float* dh = nullptr;     // [rows, H]
  const float* dc = nullptr;     // LSTM
  float* dgi = nullptr;
  float* dgh = nullptr;          // GRU: may be null where dgh_n is given (its r, z are dgi's)
  float* dgh_n = nullptr;        // GRU: dgh's n gate [rows, H] also here, or null
  float* dc_prev = nullptr;      // LSTM
};
void pointwise_backward(const PointwiseBackwardArgs& a, int64_t row_begin, int64_t row_end);

// sum[j] += a[r*lda + j] for r in [0, rows) in order, j in [0, cols) (the bias gradients over
// all steps): the same adds in the same order as the plain loop, column sums held in registers.
void add_column_sums(int64_t rows, int64_t cols, const float* a, int64_t lda, float* sum);

// Vectorised elementwise functions (exported for the accuracy tests and benches).
void exp_n(const float* x, float* y, int64_t n);
void sigmoid_n(const float* x, float* y, int64_t n);
void tanh_n(const float* x, float* y, int64_t n);

// dst[i] = src[i] with denormals replaced by zeros of their sign (dst == src allowed):
// what FTZ/DAZ make of them, for code that keeps denormals out of its inputs and state
// instead of switching the MXCSR (the single step, where that switch costs more than the
// step at small H).
void copy_flush_denormals(const float* src, float* dst, int64_t n);

// Sets flush-to-zero and denormals-are-zero for this thread; restores on destruction.
class ScopedFlushDenormals {
 public:
  ScopedFlushDenormals();
  ~ScopedFlushDenormals();
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
  unsigned saved_;
};

}  // namespace rnn::kernels::fast
