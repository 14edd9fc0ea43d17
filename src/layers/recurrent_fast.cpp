#include "recurrent_fast.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <span>
#include <utility>
#include <vector>

#include "packed_weights_cache.h"
#include "rnn/core/tensor.h"
#include "rnn/kernels/fast_recurrent.h"
#include "rnn/kernels/gemm.h"

namespace rnn::detail {

namespace fast = kernels::fast;

namespace {

fast::Cell to_cell(CellMode m) {
  switch (m) {
    case CellMode::LSTM: return fast::Cell::LSTM;
    case CellMode::GRU: return fast::Cell::GRU;
    case CellMode::RNN_TANH: return fast::Cell::RNN_TANH;
    case CellMode::RNN_RELU: return fast::Cell::RNN_RELU;
  }
  return fast::Cell::LSTM;
}

// Per-step active flags by processing step: active[s*B + b] = t(s) < lengths[b].
std::vector<unsigned char> active_flags(int64_t steps, int64_t batch, bool reverse,
                                        const int64_t* lengths) {
  std::vector<unsigned char> active(static_cast<size_t>(steps * batch));
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t t = reverse ? steps - 1 - s : s;
    for (int64_t b = 0; b < batch; ++b) active[static_cast<size_t>(s * batch + b)] = t < lengths[b];
  }
  return active;
}

// Splits [0, n) into the thread's contiguous share (the same split for every step).
std::pair<int64_t, int64_t> share(int64_t n) {
  const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
  const int64_t per = n / nt, extra = n % nt;
  const int64_t begin = id * per + std::min(id, extra);
  return {begin, begin + per + (id < extra ? 1 : 0)};
}

// Runs loop() on a team of `threads`, or directly on this thread when there is one: an
// OpenMP region of one thread still wakes its team's futex at every barrier (3% of a
// batch-1 training step). The loops' barriers are no-ops outside a parallel region.
template <class Loop>
void run_on_threads(int threads, Loop& loop) {
  if (threads <= 1) {
    loop();
    return;
  }
#pragma omp parallel num_threads(threads)
  loop();
}

}  // namespace

double row_sum_squares(const float* v, int64_t n) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) sum += static_cast<double>(v[j]) * static_cast<double>(v[j]);
  return sum;
}

bool fast_path_usable(const RecurrentConfig& config) {
  return config.proj_size == 0 && kernels::backend() == kernels::Backend::Blas &&
         fast::available();
}

int fast_threads(int64_t macs) {
  // Measured with the second vCPU free (best of 3, T = 100): 2 threads gave 1.5-2.3x from
  // 65K multiply-adds per step on (LSTM H = 128 B = 1 1.6x, RNN H = 128 B = 16 1.56x) and
  // 1.1-1.3x at 16K (RNN H = 128 B = 1). While another tenant holds that vCPU the per-step
  // barrier waits for it, at any size (docs/PERFORMANCE.md); kernels::set_num_threads(1) or
  // OMP_NUM_THREADS=1 is then the better choice.
  if (macs < kernels::min_parallel_step_macs()) return 1;
  return std::max(1, omp_get_max_threads());
}

// From this batch on, the per-step product runs on 6 x 16 register tiles over W_hh packed
// once per call in 16-column panels grouped by hidden unit (pack_gate_panels): every gate of a
// group of units for all rows, then the fused epilogue while those pre-activations are in L1.
// Below it, the 3 x 32 / 4 x 24 tiles of fused_step (batch 1: a streaming matrix-vector pass).
// Either way each output is computed by the same instructions whatever the thread split.
constexpr int64_t kPanelRows = 16;

// In the panel path the input product of a step joins the recurrent one in the same tiles
// (K = I + H): no gi pass over memory and no separate BLAS call. Measured (one thread, T = 100,
// B = 16 and 64, min of 3): inference 2-11% faster for every cell up to K = I + H = 1024,
// training 0-8%; at H = 1024 (K = 2048, [W_ih | W_hh] 8-24 MiB read every step) up to 1.5x
// slower, so there the input projection stays one BLAS product over all steps.
constexpr int64_t kMaxFusedK = 1024;
constexpr int64_t kMaxFusedWeightBytes = int64_t{8} << 20;
// Below this batch a step reads its weights for few rows, and [W_ih | W_hh] streamed from L3
// every step costs more than the separate input product saves: there it is fused only while
// it fits in the core's L2 (with room for the step's rows). One thread, T = 100, B = 16, L2
// 2 MiB: unfused was 3-8% faster for LSTM H = 256 (2 MiB of weights), LSTM/GRU/RNN H = 512;
// fused 3-9% faster for GRU H = 256 (1.5 MiB) and RNN H = 256, and at B = 64 for all of them.
constexpr int64_t kFusedFromL3Batch = 32;

// Unfused on the panel path, the input product of all steps (x W_ih^T) and in the backward
// dx = dgi W_ih are each one packed_gemm_rows on the panel tiles, instead of OpenBLAS (whose
// beta = 0 also zero-fills gi first), while W_ih is at most twice the L2. Measured against
// OpenBLAS (T = 100, interleaved, median of 5; L2 2 MiB): one thread, inference 1.02-1.04x
// (LSTM H = 256/512, GRU/RNN H = 512 at B = 16; RNN H = 1024 B = 64), training 1.00-1.02x;
// two threads 1.05-1.11x and 0.98-1.27x. With 12-16 MiB of W_ih (LSTM/GRU H = 1024) it
// was 1-3% slower until the tiles prefetched the next panels from L3; since, at B = 64
// 1.02-1.05x (LSTM/GRU, inference and training), at B = 16 still 0.95x (LSTM inference)
// to 1.02x, so there the rule stays.
constexpr int64_t kSequenceFromL3Batch = 32;
// Below the panel batch the same product pays where W_ih's packing is kept between calls
// (inference) and fits in L2: OpenBLAS packed W_ih afresh on every call and ran the 100-row
// product at 95-110 GFLOP/s, the tiles at about 150. One thread, B = 1, T = 100, interleaved,
// median of 5: inference 1.04-1.20x at H = 128/256 and RNN H = 512 (1 MiB); with 3-4 MiB of W_ih
// (LSTM/GRU H = 512) 0.98-1.00x, and in training (packed afresh) 0.97-1.04x.
bool sequence_products(int64_t batch, int64_t w_ih_bytes, bool packing_kept) {
  if (batch >= kSequenceFromL3Batch) return true;
  if (batch >= kPanelRows) return w_ih_bytes <= 2 * fast::l2_cache_bytes();
  return packing_kept && w_ih_bytes <= fast::l2_cache_bytes();
}

bool fuses_input(CellMode mode, int64_t batch, int64_t input, int64_t hidden) {
  const int64_t bytes = gate_count(mode) * hidden * (input + hidden) * int64_t{4};
  if (batch < kPanelRows || input + hidden > kMaxFusedK || bytes > kMaxFusedWeightBytes) return false;
  return batch >= kFusedFromL3Batch || bytes <= fast::l2_cache_bytes() * 4 / 5;
}

InputProduct fast_input_product(CellMode mode, int64_t batch, int64_t input, int64_t hidden,
                                bool packing_kept) {
  if (fuses_input(mode, batch, input, hidden)) return InputProduct::Fused;
  const int64_t w_ih_bytes = gate_count(mode) * hidden * input * int64_t{4};
  return sequence_products(batch, w_ih_bytes, packing_kept) ? InputProduct::Sequence
                                                            : InputProduct::Caller;
}

// Two threads on a step's units exchange the whole state every step (each reads the rows
// the other wrote) and wait for each other; on their own rows they exchange nothing, but each
// reads all the weights, so that pays while they fit in a core's L2. Measured (two threads,
// T = 100, interleaved, median of 3; L2 2 MiB), rows against units: RNN H = 256 1.10-1.21x
// (two threads now 1.77-1.86x one), RNN H = 512 and LSTM/GRU H = 256 1.0-1.11x; with 3-8 MiB
// of weights (H = 512) -6% to +8%, at H = 1024 1-5% slower.
bool splits_rows(int64_t batch, int64_t packed_bytes) {
  switch (kernels::step_split()) {
    case kernels::StepSplit::Units: return false;
    case kernels::StepSplit::Rows: return batch >= kPanelRows;
    case kernels::StepSplit::Auto: break;
  }
  return batch >= kPanelRows && packed_bytes <= fast::l2_cache_bytes();
}

// Every other step visits its blocks last to first (StepArgs::last_first), so that the part
// of the packed weights that is still in L2 from one step is read first by the next. Measured
// (one thread, T = 100, interleaved, median of 3; L2 2 MiB): inference 1.4-1.5x faster at
// batch 1 with 3-4 MiB of weights (LSTM/GRU H = 512, RNN H = 1024), 1.1x at 12-16 MiB; at
// batch 16/64 up to 1.09x with up to 8 MiB, but 2-3% slower with 12-16 MiB (LSTM/GRU
// H = 1024), where the panel path keeps the ascending order.
bool alternates_block_order(bool panels, int64_t packed_bytes) {
  return !panels || packed_bytes <= 4 * fast::l2_cache_bytes();
}

void fast_forward_direction(const FastForwardArgs& a) {
  const int64_t T = a.steps, B = a.batch, H = a.hidden;
  const int64_t G = gate_count(a.mode), GH = G * H;
  const bool panels = B >= kPanelRows;
  const bool reuse_packing = a.gates == nullptr;  // inference
  const InputProduct input_product = fast_input_product(a.mode, B, a.input, H, reuse_packing);
  const bool fused = input_product == InputProduct::Fused;
  const bool sequence_input = input_product == InputProduct::Sequence;
  // Packed once per weight set (per thread; in inference reused while the weights are
  // unchanged, in training, where every step changes them, packed afresh without a copy).
  GatePacking what;
  what.panels = panels;
  what.input_apart = sequence_input;
  what.wide = !panels && fast::avx512_enabled();
  what.cell = to_cell(a.mode);
  what.hidden = H;
  what.kx = fused || sequence_input ? a.input : 0;
  what.w_x = fused || sequence_input ? a.w_ih : nullptr;
  what.b_x = a.b_ih;
  what.kh = H;
  what.w_h = a.w_hh;
  what.b_h = a.b_hh;
  const fast::PackedGates& packed = packed_gates(what, reuse_packing);
  const std::vector<unsigned char> active = active_flags(T, B, a.reverse, a.lengths);
  const bool all_active = std::all_of(active.begin(), active.end(), [](unsigned char v) { return v != 0; });
  const int threads = fast_threads(B * GH * packed.k());  // the input product too when fused
  const int64_t units = panels ? fast::gate_groups(packed) : packed.blocks;
  const bool alternate = alternates_block_order(panels, static_cast<int64_t>(packed.w.size()) * 4);
  const int64_t scratch_per_thread = panels ? B * fast::panel_scratch_cols(packed) + 16 : 0;
  fast::AlignedBuffer scratch(static_cast<size_t>(scratch_per_thread * threads));
  // states/cells: T+1 slots, or 2 used in turn (inference: only the last state is kept).
  const bool pingpong = a.state_slots == 2;
  auto slot = [&](int64_t s) { return pingpong ? (s & 1) : s; };

  const bool by_rows = threads > 1 && splits_rows(B, static_cast<int64_t>(packed.w.size()) * 4);
  const bool check_x = fused && a.x_non_finite != nullptr;
  std::atomic<bool> x_bad{false};

  auto loop = [&] {
    fast::ScopedFlushDenormals ftz;
    const auto [u0, u1] = by_rows ? std::pair<int64_t, int64_t>{0, units} : share(units);
    const auto [r0, r1] = by_rows ? share(B) : std::pair<int64_t, int64_t>{0, B};
    // The rows of x this thread checks: its own, or a share of all that the step reads.
    const auto [c0, c1] = share(B);
    float* my_scratch = scratch.data() + scratch_per_thread * omp_get_thread_num();
    if (sequence_input) {
      // gi of all steps first, the threads on shares of its rows (each output the same).
      const auto [m0, m1] = share(T * B);
      fast::packed_gemm_rows(packed.input, m1 - m0, a.x + m0 * a.input, a.input, a.gi + m0 * GH,
                             GH);
#pragma omp barrier
    }
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = a.reverse ? T - 1 - s : s;
      fast::StepArgs st;
      st.rows = r1 - r0;
      st.a = a.states + (slot(s) * B + r0) * H;
      st.lda = H;
      if (fused) {
        st.x = a.x + (t * B + r0) * a.input;
        st.ldx = a.input;
        if (check_x) {
          const float* xc = a.x + (t * B + c0) * a.input;
          if (!all_finite(std::span<const float>(xc, static_cast<size_t>((c1 - c0) * a.input)))) {
            x_bad.store(true, std::memory_order_relaxed);
          }
        }
        if (s + 1 < T) {
          // The rows of the next step's x that this thread checks (and so reads first).
          const int64_t t_next = a.reverse ? t - 1 : t + 1;
          st.prefetch = a.x + (t_next * B + c0) * a.input;
          st.prefetch_floats = (c1 - c0) * a.input;
        }
      } else {
        st.gi = a.gi + (t * B + r0) * GH;
        st.ldgi = GH;
      }
      st.h_prev = st.a;
      st.ldh = H;
      st.c_prev = a.cells ? a.cells + (slot(s) * B + r0) * H : nullptr;
      st.active = all_active ? nullptr : active.data() + s * B + r0;
      st.h_new = a.states + (slot(s + 1) * B + r0) * H;
      st.c_new = a.cells ? a.cells + (slot(s + 1) * B + r0) * H : nullptr;
      st.y = a.y + (t * B + r0) * a.ldy;
      st.ldy = a.ldy;
      st.gates = a.gates ? a.gates + (s * B + r0) * GH : nullptr;
      st.hn = a.hn ? a.hn + (s * B + r0) * H : nullptr;
      st.last_first = alternate && (s & 1) != 0;
      if (panels) {
        fast::panel_step(packed, st, u0, u1, my_scratch);
      } else {
        fast::fused_step(packed, st, u0, u1);
      }
      if (!by_rows) {
#pragma omp barrier
      }
    }
  };
  run_on_threads(threads, loop);
  if (check_x && x_bad.load()) *a.x_non_finite = true;
}

// Where the forward fuses the input product into its steps, dx_t = dgi_t W_ih
// is one more product of each backward step, over W_ih packed like W_hh, instead of one BLAS
// product over all steps after the loop. Measured (one thread, T = 100, interleaved, median of
// 3): training 1-3% faster up to I = H = 512 on the AVX-512 tiles and 1-2% on the AVX2 ones;
// at I = H = 1024 (W_ih streamed from L3 every step) 1-3% slower, so there it stays after
// the loop.
bool fast_backward_computes_dx(CellMode mode, int64_t batch, int64_t input, int64_t hidden) {
  return fuses_input(mode, batch, input, hidden);
}

bool fast_input_gradient(int64_t rows_per_step, int64_t rows, int64_t gates_hidden, int64_t input,
                         const float* dgi, const float* w_ih, float* dx, bool accumulate) {
  const bool packing_kept = false;  // packed afresh below on every call
  if (!sequence_products(rows_per_step, gates_hidden * input * int64_t{4}, packing_kept))
    return false;
  static thread_local fast::PackedMatrix packed_tls;
  fast::PackedMatrix& packed = packed_tls;
  fast::pack_matrix(packed, gates_hidden, input, w_ih, 16);
  auto loop = [&] {
    fast::ScopedFlushDenormals ftz;
    const auto [m0, m1] = share(rows);
    fast::packed_gemm_rows(packed, m1 - m0, dgi + m0 * gates_hidden, gates_hidden, dx + m0 * input,
                           input, accumulate);
  };
  run_on_threads(fast_threads(rows_per_step * gates_hidden * input), loop);
  return true;
}

namespace {

// b_ih += the column sums of dgi [rows, G*H], and b_hh's first `shared` columns += the same
// sums: one pass over dgi (from memory: T*B*G*H floats) where each bias took one. Summed into
// zeros first, so both get the same values (as each did from its own pass when it started at
// zero).
void add_bias_gradients(int64_t rows, int64_t gates_hidden, int64_t shared, const float* dgi,
                        float* g_b_ih, float* g_b_hh) {
  if (!g_b_ih || !g_b_hh) {
    if (g_b_ih) fast::add_column_sums(rows, gates_hidden, dgi, gates_hidden, g_b_ih);
    if (g_b_hh) fast::add_column_sums(rows, shared, dgi, gates_hidden, g_b_hh);
    return;
  }
  static thread_local std::vector<float> sums;
  sums.assign(static_cast<size_t>(gates_hidden), 0.0f);
  fast::add_column_sums(rows, gates_hidden, dgi, gates_hidden, sums.data());
  for (int64_t j = 0; j < gates_hidden; ++j) g_b_ih[j] += sums[static_cast<size_t>(j)];
  for (int64_t j = 0; j < shared; ++j) g_b_hh[j] += sums[static_cast<size_t>(j)];
}

}  // namespace

void fast_backward_direction(const FastBackwardArgs& a) {
  const int64_t T = a.steps, B = a.batch, H = a.hidden;
  const int64_t G = gate_count(a.mode), GH = G * H;
  const bool lstm = a.mode == CellMode::LSTM, gru = a.mode == CellMode::GRU;
  const fast::Cell cell = to_cell(a.mode);
  // dh_prev = dgh W_hh over W_hh packed once: 6 x 16 tiles for many rows, 3 x 32 for few.
  static thread_local fast::PackedMatrix packed_tls;
  fast::PackedMatrix& packed = packed_tls;
  fast::pack_matrix(packed, GH, H, a.w_hh, B >= kPanelRows ? 16 : 32);
  const bool with_dx = a.dx != nullptr;
  static thread_local fast::PackedMatrix packed_x_tls;
  fast::PackedMatrix& packed_x = packed_x_tls;
  if (with_dx) fast::pack_matrix(packed_x, GH, a.input, a.w_ih, 16);
  const int64_t dh_blocks = packed.blocks, all_blocks = dh_blocks + (with_dx ? packed_x.blocks : 0);
  const std::vector<unsigned char> active = active_flags(T, B, a.reverse, a.lengths);

  // dgh, the gradient of a step's recurrent pre-activations (multiplied by W_hh for dh), is
  // dgi_t itself but for GRU's n gate (r times dgi's). GRU's is kept for the step only, its n
  // gate also for every step by time index (dgh_n, [T, B, H]) for dW_hh; the r and z gates'
  // are dgi's. (All of dgh for all steps would be G times as large.)
  // On the panel path (W_hh packed 16 wide) the step's product reads GRU's dgh in two parts,
  // r and z from dgi and n from dgh_n, so dgh_step is not written at all.
  const bool split_gru_dgh = gru && packed.width == 16;
  static thread_local fast::AlignedBuffer gru_buffer;  // grow-only, like the packed weights
  const int64_t step_floats = gru && !split_gru_dgh ? B * GH : 0;
  if (gru) gru_buffer.resize(static_cast<size_t>(step_floats + T * B * H));
  float* dgh_step = step_floats > 0 ? gru_buffer.data() : nullptr;
  float* dgh_n = gru ? gru_buffer.data() + step_floats : nullptr;
  // [B, H] buffers: the running dh (two, swapped), the product, dc (two, swapped).
  fast::AlignedBuffer work(static_cast<size_t>(5 * B * H));
  float* dh_cur = work.data();
  float* dh_last = dh_cur + B * H;
  float* prod = dh_last + B * H;
  float* dc_cur = prod + B * H;
  float* dc_next = dc_cur + B * H;
  std::copy(a.dh, a.dh + B * H, dh_cur);
  if (lstm) std::copy(a.dc, a.dc + B * H, dc_cur);
  const int threads = fast_threads(B * GH * H);
  const bool alternate = alternates_block_order(
      B >= kPanelRows, static_cast<int64_t>(packed.w.size() + (with_dx ? packed_x.w.size() : 0)) * 4);

  // dh entering step s (as h_new's gradient, before dy): from step s+1's product.
  auto finish_row = [&](int64_t s_next, int64_t b, const float* product, const float* dh_next,
                        float* out) {
    const float* src = product + b * H;
    const float* dn = dh_next + b * H;
    float* o = out + b * H;
    if (!active[static_cast<size_t>(s_next * B + b)]) {
      std::copy(dn, dn + H, o);
    } else if (gru) {
      const float* z = a.gates + (s_next * B + b) * GH + H;
      for (int64_t j = 0; j < H; ++j) o[j] = src[j] + dn[j] * z[j];
    } else {
      std::copy(src, src + H, o);
    }
  };

  const int64_t packed_floats = static_cast<int64_t>(packed.w.size() + (with_dx ? packed_x.w.size() : 0));
  const bool by_rows = threads > 1 && splits_rows(B, packed_floats * 4);

  auto loop = [&] {
    fast::ScopedFlushDenormals ftz;
    const auto [b0, b1] = share(B);
    // W_hh's panels, then W_ih's: all of them for this thread's rows, or a share for all rows.
    const auto [nb0, nb1] = by_rows ? std::pair<int64_t, int64_t>{0, all_blocks} : share(all_blocks);
    const int64_t p0 = by_rows ? b0 : 0, pm = by_rows ? b1 - b0 : B;  // the products' rows
    float* cur = dh_cur;
    float* last = dh_last;
    float* dcc = dc_cur;
    float* dcn = dc_next;
    for (int64_t s = T - 1; s >= 0; --s) {
      const int64_t t = a.reverse ? T - 1 - s : s;
      // Rows: finish dh from the step after, add this step's output gradient, pointwise.
      for (int64_t b = b0; b < b1; ++b) {
        if (s < T - 1) finish_row(s + 1, b, prod, last, cur);
        if (active[static_cast<size_t>(s * B + b)]) {
          const float* dyr = a.dy + (t * B + b) * a.ldy;
          float* d = cur + b * H;
          for (int64_t j = 0; j < H; ++j) d[j] += dyr[j];
        }
        if (a.dh_sq) a.dh_sq[s * B + b] = row_sum_squares(cur + b * H, H);
      }
      fast::PointwiseBackwardArgs pw;
      pw.cell = cell;
      pw.rows = B;
      pw.hidden = H;
      pw.active = active.data() + s * B;
      pw.gates = a.gates + s * B * GH;
      pw.hn = gru ? a.hn + s * B * H : nullptr;
      pw.h_prev = a.states + s * B * H;
      pw.c_prev = lstm ? a.cells + s * B * H : nullptr;
      pw.c_new = lstm ? a.cells + (s + 1) * B * H : nullptr;
      pw.dh = cur;
      pw.dc = dcc;
      pw.dgi = a.dgi + t * B * GH;
      pw.dgh = gru ? dgh_step : pw.dgi;  // null where split_gru_dgh
      pw.dgh_n = gru ? dgh_n + t * B * H : nullptr;
      pw.dc_prev = dcn;
      fast::pointwise_backward(pw, b0, b1);
      if (!by_rows) {
#pragma omp barrier
      }
      // Columns: prod = dgh W_hh, and dx_t = dgi W_ih; every other step from the last
      // panel to the first (as the forward's steps, for L2).
      const bool last_first = alternate && (s & 1) != 0;
      // This thread's panels of each product (plain copies: lambdas cannot capture structured
      // bindings before C++20).
      const int64_t dh0 = std::min(nb0, dh_blocks), dh1 = std::min(nb1, dh_blocks);
      const int64_t dx0 = std::max(nb0, dh_blocks) - dh_blocks, dx1 = std::max(nb1, dh_blocks) - dh_blocks;
      auto dh_product = [&] {
        if (split_gru_dgh) {
          fast::packed_gemm_two_part(packed, pm, a.dgi + (t * B + p0) * GH, GH, 2 * H,
                                     dgh_n + (t * B + p0) * H, H, prod + p0 * H, H, dh0, dh1,
                                     last_first);
          return;
        }
        const float* dgh = gru ? dgh_step : a.dgi + t * B * GH;
        fast::packed_gemm(packed, pm, dgh + p0 * GH, GH, prod + p0 * H, H, dh0, dh1, false, last_first);
      };
      auto dx_product = [&] {
        if (!with_dx) return;
        fast::packed_gemm(packed_x, pm, a.dgi + (t * B + p0) * GH, GH, a.dx + (t * B + p0) * a.input,
                          a.input, dx0, dx1, a.dx_accumulate, last_first);
      };
      if (last_first) {
        dx_product();
        dh_product();
      } else {
        dh_product();
        dx_product();
      }
      if (!by_rows) {
#pragma omp barrier
      }
      std::swap(cur, last);
      std::swap(dcc, dcn);
    }
    // dh0 from step 0's product.
    for (int64_t b = b0; b < b1; ++b) finish_row(0, b, prod, last, a.dh);
    if (lstm) {
      for (int64_t b = b0; b < b1; ++b) std::copy(dcc + b * H, dcc + (b + 1) * H, a.dc + b * H);
    }
  };
  run_on_threads(threads, loop);

  // dW_hh += sum_t dgh_t^T h_prev(t): products over all steps by time index; b_hh gets the
  // column sums. h_prev(t) is states[s(t)], in reverse a copy in time order (1/G of dgh's size).
  const float* h_by_time = a.states;
  if (a.reverse) {
    static thread_local fast::AlignedBuffer h_reversed;
    h_reversed.resize(static_cast<size_t>(T * B * H));
    for (int64_t t = 0; t < T; ++t) {
      const float* src = a.states + (T - 1 - t) * B * H;
      std::copy(src, src + B * H, h_reversed.data() + t * B * H);
    }
    h_by_time = h_reversed.data();
  }
  const int64_t from_dgi = gru ? 2 * H : GH;  // dgh's gates equal to dgi's
  kernels::gemm<float>(kernels::Trans::Yes, kernels::Trans::No, from_dgi, H, T * B, 1.0f, a.dgi, GH,
                       h_by_time, H, 1.0f, a.g_w_hh, H);
  add_bias_gradients(T * B, GH, from_dgi, a.dgi, a.g_b_ih, a.g_b_hh);
  if (gru) {
    kernels::matmul_tn<float>(H, H, T * B, dgh_n, h_by_time, a.g_w_hh + from_dgi * H, true);
    if (a.g_b_hh) fast::add_column_sums(T * B, H, dgh_n, H, a.g_b_hh + from_dgi);
  }
}

}  // namespace rnn::detail
