// Portable parts of the fast kernels: CPU detection, buffers, packing, denormal control.
// The AVX2 arithmetic lives in fast_recurrent_avx2.cpp.
#include "rnn/kernels/fast_recurrent.h"

#include <immintrin.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

namespace rnn::kernels::fast {

bool available() {
  static const bool ok = [] {
    const char* off = std::getenv("RNN_DISABLE_AVX2");
    if (off != nullptr && off[0] != '\0' && off[0] != '0') return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return ok;
}

bool avx512_available() {
  static const bool ok = [] {
    const char* off = std::getenv("RNN_DISABLE_AVX512");
    if (off != nullptr && off[0] != '\0' && off[0] != '0') return false;
    __builtin_cpu_init();
    return available() && __builtin_cpu_supports("avx512f");
  }();
  return ok;
}

namespace {
std::atomic<bool> avx512_on{true};
std::atomic<int64_t> l2_override{0};
}  // namespace

bool avx512_enabled() { return avx512_on.load(std::memory_order_relaxed) && avx512_available(); }
void enable_avx512(bool on) { avx512_on.store(on, std::memory_order_relaxed); }

int64_t l2_cache_bytes() {
  static const int64_t system = [] {
    const long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return v > 0 ? static_cast<int64_t>(v) : int64_t{1} << 20;
  }();
  const int64_t forced = l2_override.load(std::memory_order_relaxed);
  return forced > 0 ? forced : system;
}

void set_l2_cache_bytes(int64_t bytes) {
  l2_override.store(bytes > 0 ? bytes : 0, std::memory_order_relaxed);
}

void AlignedBuffer::Free::operator()(float* p) const { std::free(p); }

void AlignedBuffer::resize(size_t n) {
  if (n > capacity_) {
    const size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    void* p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
    if (p == nullptr) throw std::bad_alloc();
    ptr_.reset(static_cast<float*>(p));
    capacity_ = n;
    std::memset(p, 0, bytes == 0 ? 64 : bytes);
  }
  size_ = n;
}

namespace {

// Column `col` of a panel of `width` floats per row, rows [0, n) from the n contiguous floats
// at src (one weight row), or zeros where src is null (padding past H). Reading the source
// row by row and writing down the column (the panel is L1-sized) keeps the loop free of
// branches; gathering k by k across rows ran at a third of the speed.
void put_column(float* panel, int64_t width, int64_t col, const float* src, int64_t n) {
  float* dst = panel + col;
  if (src == nullptr) {
    for (int64_t k = 0; k < n; ++k) dst[k * width] = 0.0f;
    return;
  }
  for (int64_t k = 0; k < n; ++k) dst[k * width] = src[k];
}

// Columns col..col+7 of a panel from 8 consecutive source rows (row l at src + l*ld, n floats
// each): 8 x 8 blocks transposed in registers, so that both sides move 32 bytes at a time;
// the column-at-a-time put_column took 5% of a batch-1 training step. The packings run only
// where available() found AVX2.
__attribute__((target("avx2"))) void put_columns8(float* panel, int64_t width, int64_t col,
                                                  const float* src, int64_t ld, int64_t n) {
  float* dst = panel + col;
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    __m256 r[8];
    for (int l = 0; l < 8; ++l) r[l] = _mm256_loadu_ps(src + l * ld + k);
    // Pairs, then quads, then halves: t[i] ends as column k + i of the 8 rows.
    __m256 a[8], b[8];
    for (int l = 0; l < 8; l += 2) {
      a[l] = _mm256_unpacklo_ps(r[l], r[l + 1]);
      a[l + 1] = _mm256_unpackhi_ps(r[l], r[l + 1]);
    }
    for (int l = 0; l < 8; l += 4) {
      b[l] = _mm256_shuffle_ps(a[l], a[l + 2], 0x44);
      b[l + 1] = _mm256_shuffle_ps(a[l], a[l + 2], 0xEE);
      b[l + 2] = _mm256_shuffle_ps(a[l + 1], a[l + 3], 0x44);
      b[l + 3] = _mm256_shuffle_ps(a[l + 1], a[l + 3], 0xEE);
    }
    for (int l = 0; l < 4; ++l) {
      _mm256_storeu_ps(dst + (k + l) * width, _mm256_permute2f128_ps(b[l], b[l + 4], 0x20));
      _mm256_storeu_ps(dst + (k + l + 4) * width, _mm256_permute2f128_ps(b[l], b[l + 4], 0x31));
    }
  }
  for (; k < n; ++k) {
    for (int l = 0; l < 8; ++l) dst[k * width + l] = src[l * ld + k];
  }
}

// The shape fields common to both layouts.
void set_shape(PackedGates& p, Cell cell, int64_t hidden, int64_t kx, int64_t kh, bool wide = false) {
  const int64_t G = gate_count(cell);
  p.cell = cell;
  p.hidden = hidden;
  p.kx = kx;
  p.kh = kh;
  p.units = G == 1 ? 32 : wide ? 16 : 8;
  p.vecs = G * p.units / 8;
  p.blocks = (hidden + p.units - 1) / p.units;
  p.vector_runs = false;  // pack_gates decides; a PackedGates may be packed either way in turn
}

// Weight row (gate * H + unit) of column `col` of block jb in the block layout, or -1 for
// padding past H.
int64_t block_column_row(const PackedGates& p, int64_t jb, int64_t col) {
  const int64_t per_gate = p.units / 8, v = col / 8;
  const int64_t unit = jb * p.units + (v % per_gate) * 8 + col % 8;
  return unit < p.hidden ? (v / per_gate) * p.hidden + unit : -1;
}

// p.bias and p.bias_xn in the block layout (both packings' epilogues read them so).
// GRU keeps b_hn apart (it is multiplied by r) and b_in apart from it.
void pack_biases(PackedGates& p, const float* b_x, const float* b_h) {
  const int64_t VW = p.vecs * 8, U = p.units;
  p.bias.resize(static_cast<size_t>(p.blocks * VW));
  p.bias_xn.resize(static_cast<size_t>(p.blocks * U));
  for (int64_t jb = 0; jb < p.blocks; ++jb) {
    for (int64_t col = 0; col < VW; ++col) {
      const int64_t row = block_column_row(p, jb, col);
      const bool gru_n = p.cell == Cell::GRU && col / U == 2;
      float bias = row >= 0 && b_h ? b_h[row] : 0.0f;
      if (!gru_n && row >= 0 && b_x) bias += b_x[row];
      p.bias.data()[jb * VW + col] = bias;
      if (gru_n) p.bias_xn.data()[jb * U + col % U] = row >= 0 && b_x ? b_x[row] : 0.0f;
    }
    if (p.cell != Cell::GRU) {
      for (int64_t l = 0; l < U; ++l) p.bias_xn.data()[jb * U + l] = 0.0f;
    }
  }
}

// Column `col` of a panel: kx rows of W_x's row `row`, then kh rows of W_h's (zeros for -1).
void put_weight_column(float* panel, int64_t width, int64_t col, int64_t row, int64_t kx,
                       const float* w_x, int64_t kh, const float* w_h) {
  put_column(panel, width, col, row < 0 || kx == 0 ? nullptr : w_x + row * kx, kx);
  put_column(panel + kx * width, width, col, row < 0 ? nullptr : w_h + row * kh, kh);
}

// put_weight_column for columns col..col+7, or false (nothing written) unless they hold 8
// consecutive weight rows from `row` on.
bool put_weight_columns8(float* panel, int64_t width, int64_t col, int64_t row, int64_t row7,
                         int64_t kx, const float* w_x, int64_t kh, const float* w_h) {
  if (row < 0 || row7 != row + 7) return false;
  if (kx > 0) put_columns8(panel, width, col, w_x + row * kx, kx, kx);
  put_columns8(panel + kx * width, width, col, w_h + row * kh, kh, kh);
  return true;
}

}  // namespace

void pack_gates(PackedGates& p, Cell cell, int64_t hidden, int64_t kx, const float* w_x,
                const float* b_x, int64_t kh, const float* w_h, const float* b_h, bool wide) {
  set_shape(p, cell, hidden, kx, kh, wide && gate_count(cell) > 1 && hidden >= kWideMinHidden);
  p.group_blocks = 0;
  const int64_t K = kx + kh, VW = p.vecs * 8;
  // Only the AVX2 tiles read vector runs (RNN's 32-unit blocks are the AVX-512 tiles' too).
  p.vector_runs =
      p.units == 8 && gate_count(cell) > 1 && p.blocks * K * VW * int64_t{4} > l2_cache_bytes();
  p.w.resize(static_cast<size_t>(p.blocks * K * VW));
  pack_biases(p, b_x, b_h);
  for (int64_t jb = 0; jb < p.blocks; ++jb) {
    float* panel = p.w.data() + jb * K * VW;
    for (int64_t col = 0; col < VW; col += 8) {
      // Vector col / 8 of the block: a run of its own, or columns of the shared rows.
      float* dst = p.vector_runs ? panel + (col / 8) * p.vector_stride() : panel;
      const int64_t width = p.k_stride(), c0 = p.vector_runs ? 0 : col;
      if (put_weight_columns8(dst, width, c0, block_column_row(p, jb, col),
                              block_column_row(p, jb, col + 7), kx, w_x, kh, w_h)) {
        continue;
      }
      for (int64_t c = 0; c < 8; ++c) {
        put_weight_column(dst, width, c0 + c, block_column_row(p, jb, col + c), kx, w_x, kh, w_h);
      }
    }
  }
}

namespace {

// The panels of a PackedMatrix of B [k, n]: copy_row(kk, c0, cols, dst) writes B[kk][c0 ..
// c0 + cols) to dst; the columns past n are zeros.
template <class CopyRow>
void pack_panels(PackedMatrix& p, int64_t k, int64_t n, int64_t width, CopyRow copy_row) {
  const int64_t W = width;
  p.k = k;
  p.n = n;
  p.width = W;
  p.blocks = (n + W - 1) / W;
  // Only the AVX2 tiles read 32-wide panels, so only those are kept in vector runs, from 8
  // times the L2 on. One Zen 3 core (512 KiB L2), batch-1 training, T = 100, interleaved
  // medians: LSTM H = 1024 (16 MiB of W_hh) 1.15x, GRU H = 1024 (12 MiB) 1.07x, 3-4 MiB
  // (LSTM/GRU H = 512) 1.00-1.03x, but RNN H = 512 / 1024 (1 / 4 MiB) 0.92x.
  p.vector_runs = W == 32 && p.blocks * k * W * int64_t{4} > 8 * l2_cache_bytes();
  p.w.resize(static_cast<size_t>(p.blocks * k * W));
  float row[32];
  for (int64_t nb = 0; nb < p.blocks; ++nb) {
    float* panel = p.w.data() + nb * k * W;
    const int64_t c0 = nb * W, cols = std::min<int64_t>(W, n - c0);
    for (int64_t kk = 0; kk < k; ++kk) {
      float* dst = p.vector_runs ? row : panel + kk * W;
      copy_row(kk, c0, cols, dst);
      std::fill(dst + cols, dst + W, 0.0f);
      if (p.vector_runs) {
        for (int64_t v = 0; v < W / 8; ++v)
          std::memcpy(panel + v * k * 8 + kk * 8, row + v * 8, 8 * sizeof(float));
      }
    }
  }
}

}  // namespace

void pack_matrix(PackedMatrix& p, int64_t k, int64_t n, const float* b, int64_t width) {
  pack_panels(p, k, n, width, [&](int64_t kk, int64_t c0, int64_t cols, float* dst) {
    std::memcpy(dst, b + kk * n + c0, static_cast<size_t>(cols) * sizeof(float));
  });
}

void pack_matrix_transposed(PackedMatrix& p, int64_t k, int64_t n, const float* bt, int64_t width) {
  // A panel reads its W rows of bt side by side (one stream each) and writes [k][W] in order.
  pack_panels(p, k, n, width, [&](int64_t kk, int64_t c0, int64_t cols, float* dst) {
    for (int64_t c = 0; c < cols; ++c) dst[c] = bt[(c0 + c) * k + kk];
  });
}

void packed_gemm_rows(const PackedMatrix& p, int64_t m, const float* a, int64_t lda, float* c,
                      int64_t ldc, bool accumulate) {
  // Rows per block: 256 rows of K <= 1024 (up to 1 MiB) stay in a 2 MiB L2 while the panels,
  // 3 at a time, pass over them. Measured (one core; M = 1600-6400 of x W_ih^T and dgi W_ih
  // at H = 256-1024): 64-256 rows within a few percent of each other, 1.0-1.2x OpenBLAS.
  constexpr int64_t kRowBlockBytes = int64_t{1} << 20;
  const int64_t block =
      std::max<int64_t>(64, kRowBlockBytes / (std::max<int64_t>(p.k, 1) * 4)) / 8 * 8;
  for (int64_t r = 0; r < m; r += block) {
    packed_gemm(p, std::min(block, m - r), a + r * lda, lda, c + r * ldc, ldc, 0, p.blocks,
                accumulate);
  }
}

void pack_gate_panels(PackedGates& p, Cell cell, int64_t hidden, int64_t kx, const float* w_x,
                      const float* b_x, int64_t kh, const float* w_h, const float* b_h) {
  set_shape(p, cell, hidden, kx, kh);
  p.group_blocks = 2;
  const int64_t K = kx + kh, GU = p.group_blocks * p.units;
  const int64_t groups = gate_groups(p), GC = group_cols(p);
  p.w.resize(static_cast<size_t>(groups * K * GC));
  pack_biases(p, b_x, b_h);
  auto row_of = [&](int64_t ug, int64_t gc) {
    const int64_t gate = gc / GU, unit = ug * GU + gc % GU;
    return unit < hidden ? gate * hidden + unit : -1;
  };
  for (int64_t ug = 0; ug < groups; ++ug) {
    for (int64_t gc = 0; gc < GC; gc += 8) {  // GU is a multiple of 16
      float* panel = p.w.data() + (ug * GC + (gc / 16) * 16) * K;
      if (put_weight_columns8(panel, 16, gc % 16, row_of(ug, gc), row_of(ug, gc + 7), kx, w_x, kh, w_h)) {
        continue;
      }
      for (int64_t c = gc; c < gc + 8; ++c) put_weight_column(panel, 16, c % 16, row_of(ug, c), kx, w_x, kh, w_h);
    }
  }
}

ScopedFlushDenormals::ScopedFlushDenormals() : saved_(_mm_getcsr()) {
  _mm_setcsr(saved_ | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
}
ScopedFlushDenormals::~ScopedFlushDenormals() { _mm_setcsr(saved_); }

}  // namespace rnn::kernels::fast
