// AVX-512 bodies of the fast kernels: the panel products and the gate epilogue of the batched
// step, and the few-row step's tiles (see fast_tiles_avx512.h). Compiled for AVX-512F after the
// target pragma only; callers check fast::avx512_enabled() first (or hold weights packed
// while it was on).
#include <algorithm>
#include <cfloat>
#include <cstdint>

// GCC 12's unmasked AVX-512 intrinsics pass a self-initialised _mm512_undefined_*() as the
// merge source, which -Wmaybe-uninitialized reports at every use (GCC bug 105593, fixed in 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include "fast_tiles_avx512.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")

namespace rnn::kernels::fast::avx512 {

namespace {

// Lines that a tile brings into L2 while it sweeps (one per k step, from `next` on, `lines`
// of them): the panels that the passes after it will read, where the weights are larger
// than L2 and would otherwise come from L3 at the speed of demand misses, or what the next
// step reads first.
struct Prefetch {
  const char* next = nullptr;
  int64_t lines = 0;
};

// The lines that hold floats [p, p + n).
Prefetch lines_holding(const float* p, int64_t n) {
  if (p == nullptr || n <= 0) return Prefetch{};
  const auto begin = reinterpret_cast<uintptr_t>(p) & ~uintptr_t{63};
  const auto end = reinterpret_cast<uintptr_t>(p + n);
  return Prefetch{reinterpret_cast<const char*>(begin),
                  static_cast<int64_t>((end - begin + 63) / 64)};
}

// acc[r][q] += sum_{k < K} a[r*lda + k] * panel[q*stride + k*16 + 0..15]: P panels side by
// side, so that one broadcast of a row's value feeds P FMAs. On Zen 4 a zmm FMA takes both
// 256-bit pipes, so the peak is the same as AVX2's, but a k step is P loads + R broadcasts +
// R*P FMAs instead of the AVX2 tile's 2 loads + R broadcasts + 2R FMAs per 16 columns: fewer
// instructions per FMA, which is what the AVX2 tile was short of. The first pf.lines k steps
// each also prefetch a line of `pf` (pf is advanced past them).
template <int R, int P, bool Fetch>
__attribute__((always_inline)) inline void sweep_panels(const float* a, int64_t lda,
                                                        const float* panel, int64_t stride,
                                                        int64_t K, __m512 (&acc)[R][P],
                                                        Prefetch& pf) {
  auto step = [&](int64_t k) __attribute__((always_inline)) {
    __m512 w[P];
    #pragma GCC unroll 4
    for (int q = 0; q < P; ++q) w[q] = _mm512_load_ps(panel + q * stride + k * 16);
    #pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * lda + k]);
      #pragma GCC unroll 4
      for (int q = 0; q < P; ++q) acc[r][q] = _mm512_fmadd_ps(x, w[q], acc[r][q]);
    }
  };
  int64_t k = 0;
  if constexpr (Fetch) {
    // One line a k step: two (where there are more lines than steps) took too many of the
    // fill buffers that the tile's own loads from L2 need.
    const int64_t kp = std::min(K, pf.lines);
    pf.lines -= kp;
#pragma GCC unroll 2
    for (; k < kp; ++k) {
      step(k);
      _mm_prefetch(pf.next, _MM_HINT_T1);
      pf.next += 64;
    }
  }
#pragma GCC unroll 2
  for (; k < K; ++k) step(k);
}

// Where a tile's sums go: c[r*ldc + col[q] + 0..15], lanes `last` of its last panel (the
// panel past the matrix's last column is partial), added to c's values when `accumulate`.
// Panels whose bit is set in `resume` start from the sums already at their place in c and
// go on adding FMAs to them (the second half of a sweep split in two: the same operations
// as one sweep), the others from zero.
struct TileOut {
  float* c;
  int64_t ldc;
  __mmask16 last;
  bool accumulate;
  int64_t col[4];
  unsigned resume;
};

template <int R, int P, bool Fetch>
void tile_panels(const TileRows& s, const float* panel, int64_t stride, const TileOut& o,
                 Prefetch pf) {
  __m512 acc[R][P];
  #pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
    #pragma GCC unroll 4
    for (int q = 0; q < P; ++q) {
      const __mmask16 m = q == P - 1 ? o.last : static_cast<__mmask16>(0xFFFF);
      acc[r][q] = (o.resume >> q) & 1u ? _mm512_maskz_loadu_ps(m, o.c + r * o.ldc + o.col[q])
                                       : _mm512_setzero_ps();
    }
  }
  if (s.kx > 0) sweep_panels<R, P, Fetch>(s.x, s.ldx, panel, stride, s.kx, acc, pf);
  if (s.ka > 0) sweep_panels<R, P, Fetch>(s.a, s.lda, panel + s.kx * 16, stride, s.ka, acc, pf);
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
    #pragma GCC unroll 4
    for (int q = 0; q < P; ++q) {
      const __mmask16 m = q == P - 1 ? o.last : static_cast<__mmask16>(0xFFFF);
      float* c = o.c + r * o.ldc + o.col[q];
      // c + sum, as the AVX2 path adds its finished tile.
      const __m512 v = o.accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(m, c), acc[r][q]) : acc[r][q];
      _mm512_mask_storeu_ps(c, m, v);
    }
  }
}

// The same tile `rows` rows on.
TileOut rows_on(const TileOut& o, int64_t rows) {
  TileOut r = o;
  r.c += rows * o.ldc;
  return r;
}

// The last n < R rows.
template <int R, int P, bool Fetch>
void tile_panels_tail(const TileRows& s, const float* panel, int64_t stride, const TileOut& o,
                      int64_t n, Prefetch pf) {
  if constexpr (R > 0) {
    if (n == R) {
      tile_panels<R, P, Fetch>(s, panel, stride, o, pf);
    } else {
      tile_panels_tail<R - 1, P, Fetch>(s, panel, stride, o, n, pf);
    }
  }
}

// The tiles of m rows; `pf` is shared out evenly over them (Fetch: there is some; the tiles
// without it are compiled apart, so that they run exactly as before prefetching existed).
template <int R, int P, bool Fetch>
void rows_of_panels_fetching(const TileRows& rows, const float* panel, int64_t stride,
                             const TileOut& o, int64_t m, Prefetch pf) {
  const int64_t tiles = (m + R - 1) / R;
  const int64_t share = tiles > 0 ? (pf.lines + tiles - 1) / tiles : 0;
  auto part = [&] {
    Prefetch mine{pf.next, share < pf.lines ? share : pf.lines};
    pf.next += mine.lines * 64;
    pf.lines -= mine.lines;
    return mine;
  };
  int64_t b = 0;
  for (; b + R <= m; b += R)
    tile_panels<R, P, Fetch>(rows.from_row(b), panel, stride, rows_on(o, b), part());
  if (b < m)
    tile_panels_tail<R - 1, P, Fetch>(rows.from_row(b), panel, stride, rows_on(o, b), m - b,
                                      part());
}

template <int R, int P>
void rows_of_panels(const TileRows& rows, const float* panel, int64_t stride, const TileOut& o,
                    int64_t m, Prefetch pf = {}) {
  if (pf.lines > 0) {
    rows_of_panels_fetching<R, P, true>(rows, panel, stride, o, m, pf);
  } else {
    rows_of_panels_fetching<R, P, false>(rows, panel, stride, o, m, pf);
  }
}

}  // namespace

// The passes over `count` panels for `rows` rows: each pass takes up to 4 panels side by
// side, on tiles of 6 rows for 4 panels and of 8 rows otherwise. Measured on AVX-512 (one
// core, weights from L2): 8 x 48 tiles run 3-5% above 6 x 64 at 64 rows and 7-13% above at
// 16, so long products go 3 panels a pass; 4 panels (an LSTM group, or the last 4 of a long
// product) run as two 8 x 32 passes at <= 16 rows, where 6-row tiles would leave a 4-row tail.
int64_t panels_per_pass(int64_t count, int64_t rows) {
  if (count <= 3) return count;
  if (count == 4) return rows <= 16 ? 2 : 4;
  return 3;
}

int64_t panels_tile_rows(int64_t count, int64_t rows) {
  return panels_per_pass(count, rows) == 4 ? 6 : 8;
}

void panels(const TileRows& rows, const float* panel, int64_t stride, int64_t count, float* c,
            int64_t ldc, int64_t m, const PanelOptions& opt) {
  if (count <= 0) return;
  const int64_t plan_m = opt.plan_rows > 0 ? opt.plan_rows : m;
  // The K rows of `n` panels from q on, as lines to prefetch (panels are contiguous when
  // stride is K * 16).
  const int64_t K = rows.kx + rows.ka;
  auto lines_of = [&](int64_t q, int64_t n) {
    if (!opt.stream || n <= 0 || stride != K * 16) return Prefetch{};
    return Prefetch{reinterpret_cast<const char*>(panel + q * stride), n * K};  // a line a k
  };
  const Prefetch after = lines_holding(opt.prefetch, opt.prefetch_floats);
  auto pass = [&](int64_t q, int64_t n, Prefetch pf) {
    TileOut o{c + q * 16, ldc, static_cast<__mmask16>(0xFFFF), opt.accumulate, {0, 16, 32, 48}, 0u};
    if (q + n == count) o.last = static_cast<__mmask16>((1u << opt.last_cols) - 1u);
    const float* pq = panel + q * stride;
    switch (n) {
      case 1:
        rows_of_panels<8, 1>(rows, pq, stride, o, m, pf);
        break;
      case 2:
        rows_of_panels<8, 2>(rows, pq, stride, o, m, pf);
        break;
      case 3:
        rows_of_panels<8, 3>(rows, pq, stride, o, m, pf);
        break;
      default:
        rows_of_panels<6, 4>(rows, pq, stride, o, m, pf);
        break;
    }
  };
  // The passes: 3 panels each while more than 4 remain, then the rest as panels_per_pass
  // says (one pass, or two of 2); in either order.
  const int64_t threes = count > 4 ? (count - 2) / 3 : 0;
  const int64_t q_tail = 3 * threes, tail = count - q_tail;
  const int64_t tail_n = panels_per_pass(tail, plan_m);
  // Each pass prefetches the panels of the pass after it; the last, opt.prefetch.
  if (!opt.last_first) {
    for (int64_t i = 0; i < threes; ++i) {
      const int64_t nq = 3 * i + 3;
      pass(3 * i, 3, lines_of(nq, nq < q_tail ? 3 : std::min(tail_n, count - nq)));
    }
    for (int64_t q = q_tail; q < count; q += tail_n) {
      pass(q, tail_n,
           q + tail_n < count ? lines_of(q + tail_n, std::min(tail_n, count - q - tail_n)) : after);
    }
    return;
  }
  for (int64_t q = count - tail_n; q >= q_tail; q -= tail_n) {
    pass(q, tail_n,
         q - tail_n >= q_tail ? lines_of(q - tail_n, tail_n)
         : threes > 0         ? lines_of(q_tail - 3, 3)
                              : after);
  }
  for (int64_t i = threes - 1; i >= 0; --i) pass(3 * i, 3, i > 0 ? lines_of(3 * i - 3, 3) : after);
}

void panel16(const TileRows& rows, const float* panel, float* c, int64_t ldc, int64_t m) {
  panels(rows, panel, 0, 1, c, ldc, m);
}

void gru_split_panels(const TileRows& rows, const float* group, int64_t stride, float* c,
                      int64_t ldc, int64_t m, const PanelOptions& opt) {
  TileRows x_part = rows, h_part = rows;
  x_part.ka = 0;
  h_part.kx = 0;
  const __mmask16 all = static_cast<__mmask16>(0xFFFF);
  const int64_t gc = 3 * 16;
  // The prefetch shared by the two passes in proportion to their k steps.
  const Prefetch pf = lines_holding(opt.prefetch, opt.prefetch_floats);
  const int64_t x_lines = pf.lines * rows.kx / std::max<int64_t>(rows.kx + rows.ka, 1);
  rows_of_panels<8, 3>(x_part, group, stride, TileOut{c, ldc, all, false, {0, 16, gc, 0}, 0u}, m,
                       Prefetch{pf.next, x_lines});
  rows_of_panels<8, 3>(h_part, group + rows.kx * 16, stride,
                       TileOut{c, ldc, all, false, {0, 16, 32, 0}, 3u}, m,
                       Prefetch{pf.next + x_lines * 64, pf.lines - x_lines});
}

// ---- gate epilogues on 16 units ----------------------------------------------------------
// The math of the AVX2 file's v_exp_reduced_n .. v_tanh_n, lane for lane: the same
// constants and operations. 1/d uses the AVX2 12-bit estimate on each half (AVX-512's 14-bit
// rcp14 would give other bits after the Newton step).
namespace {

inline __m512 ps(__m512i v) { return _mm512_castsi512_ps(v); }
inline __m512i si(__m512 v) { return _mm512_castps_si512(v); }
// [lo | hi] as one register.
inline __m512 join(__m256 lo, __m256 hi) {
  return _mm512_castpd_ps(
      _mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
}

// Each function works on N independent vectors, operation by operation across them: one
// vector's chain of dependent operations (an LSTM unit's tanh(c) waits on four others) leaves
// the vector units idle, and the out-of-order window does not reach far enough into the next
// row's (an LSTM group's epilogue: 12% faster on 4 rows at a time). Lane for lane the same
// operations as one vector at a time.
#define RNN_EACH _Pragma("GCC unroll 16") for (int q = 0; q < N; ++q)

template <int N>
inline void z_exp_reduced_n(const __m512 (&r)[N], const __m512 (&fx)[N], __m512 c,
                            __m512 (&out)[N]) {
  RNN_EACH {
    const __m512 r2 = _mm512_mul_ps(r[q], r[q]);
    const __m512 r4 = _mm512_mul_ps(r2, r2);
    const __m512 p54 =
        _mm512_fmadd_ps(_mm512_set1_ps(1.9875691500e-4f), r[q], _mm512_set1_ps(1.3981999507e-3f));
    const __m512 p32 =
        _mm512_fmadd_ps(_mm512_set1_ps(8.3334519073e-3f), r[q], _mm512_set1_ps(4.1665795894e-2f));
    const __m512 p10 =
        _mm512_fmadd_ps(_mm512_set1_ps(1.6666665459e-1f), r[q], _mm512_set1_ps(5.0000001201e-1f));
    const __m512 lo = _mm512_fmadd_ps(p10, r2, _mm512_add_ps(r[q], _mm512_set1_ps(1.0f)));
    const __m512 y = _mm512_fmadd_ps(_mm512_fmadd_ps(p54, r2, p32), r4, lo);
    __m512i n = _mm512_cvttps_epi32(fx[q]);
    n = _mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23);
    out[q] = _mm512_fmadd_ps(y, ps(n), c);
  }
}

template <int N, int K>
inline void z_exp_k_n(__m512 (&x)[N], __m512 c) {
  static_assert(K == 1 || K == -1, "exact multiples of log2 e only");
  __m512 kx[N], fx[N], r[N];
  RNN_EACH x[q] = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_max_ps(_mm512_set1_ps(-88.0f), x[q]));
  RNN_EACH kx[q] = K == 1 ? x[q] : _mm512_sub_ps(_mm512_setzero_ps(), x[q]);
  RNN_EACH fx[q] = _mm512_roundscale_ps(
      _mm512_fmadd_ps(x[q], _mm512_set1_ps(static_cast<float>(K) * 1.44269504088896341f),
                      _mm512_set1_ps(0.5f)),
      _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  RNN_EACH r[q] = _mm512_fnmadd_ps(fx[q], _mm512_set1_ps(0.693359375f), kx[q]);
  RNN_EACH r[q] = _mm512_fnmadd_ps(fx[q], _mm512_set1_ps(-2.12194440e-4f), r[q]);
  z_exp_reduced_n<N>(r, fx, c, x);
}

// The AVX2 estimate of 1/d on each half.
inline __m512 z_rcp(__m512 d) {
  const __m256 lo = _mm512_castps512_ps256(d);
  const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1));
  return join(_mm256_rcp_ps(lo), _mm256_rcp_ps(hi));
}

template <int N>
inline void z_recip_n(__m512 (&d)[N]) {
  RNN_EACH {
    const __m512 r = z_rcp(d[q]);
    d[q] = _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d[q], r, _mm512_set1_ps(1.0f)), r);
  }
}

template <int N>
inline void z_sigmoid_n(__m512 (&x)[N]) {
  z_exp_k_n<N, -1>(x, _mm512_set1_ps(1.0f));
  z_recip_n<N>(x);
}

template <int N>
inline void z_tanh_n(__m512 (&x)[N]) {
  const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512 ax[N], small[N], fx[N], r[N], d[N];
  RNN_EACH {
    ax[q] = ps(_mm512_andnot_si512(sign, si(x[q])));
    const __m512 z = _mm512_mul_ps(x[q], x[q]);
    __m512 p = _mm512_set1_ps(-5.70498872745e-3f);
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.06390887954e-2f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-5.37397155531e-2f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.33314422036e-1f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-3.33332819422e-1f));
    small[q] = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x[q], x[q]);
  }
  RNN_EACH {
    const __m512 a = _mm512_min_ps(_mm512_set1_ps(10.0f), ax[q]);
    fx[q] = _mm512_roundscale_ps(
        _mm512_fmadd_ps(a, _mm512_set1_ps(2.0f * 1.44269504088896341f), _mm512_set1_ps(0.5f)),
        _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    r[q] = _mm512_fnmadd_ps(fx[q], _mm512_set1_ps(0.693147182464599609375f), _mm512_add_ps(a, a));
  }
  z_exp_reduced_n<N>(r, fx, one, d);
  RNN_EACH {
    const __m512 r0 = z_rcp(d[q]);
    const __m512 e0 = _mm512_fnmadd_ps(d[q], r0, one);
    __m512 large = _mm512_fnmadd_ps(_mm512_add_ps(r0, r0), e0,
                                    _mm512_fnmadd_ps(_mm512_set1_ps(2.0f), r0, one));
    large = ps(_mm512_or_si512(si(large), _mm512_and_si512(si(x[q]), sign)));
    const __mmask16 is_small = _mm512_cmp_ps_mask(ax[q], _mm512_set1_ps(0.625f), _CMP_LT_OQ);
    x[q] = _mm512_mask_blend_ps(is_small, large, small[q]);
  }
}

inline __m512 z_tanh(__m512 x) {
  __m512 v[1] = {x};
  z_tanh_n<1>(v);
  return v[0];
}

#undef RNN_EACH

// Lanes [0, n) of 16.
inline __mmask16 lanes(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}
inline __m512 load(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
inline void store(float* p, __m512 v, __mmask16 m) { _mm512_mask_storeu_ps(p, m, v); }

// The AVX2 file's flush_denormal_lanes and state_value on 16 lanes: denormals replaced by
// zeros of their sign (|v| >= FLT_MIN and NaN kept) where StepArgs::flush_denormals asks.
inline __m512 state_value(const StepArgs& s, __m512 v) {
  if (!s.flush_denormals) return v;
  const __mmask16 keep = _mm512_cmp_ps_mask(_mm512_abs_ps(v), _mm512_set1_ps(FLT_MIN), _CMP_NLT_UQ);
  return _mm512_mask_mov_ps(
      ps(_mm512_and_si512(si(v), _mm512_set1_epi32(static_cast<int>(0x80000000u)))), keep, v);
}

// A bias of 16 units in the block layout of PackedGates::bias (8 units a block, `width` floats
// a block): lanes 0-7 from block jb, 8-15 from block jb + 1 (zero past the last block).
inline __m512 block_pair(const float* bias, int64_t width, int64_t jb, int64_t blocks, int64_t off) {
  const __m256 lo = _mm256_load_ps(bias + jb * width + off);
  const __m256 hi = jb + 1 < blocks ? _mm256_load_ps(bias + (jb + 1) * width + off) : _mm256_setzero_ps();
  return join(lo, hi);
}

// Where an LSTM row's results go: the gates when kept, the new state, or the old one carried
// over for a row past its sequence's end.
inline void lstm_store(const StepArgs& s, int64_t H, int64_t b, int64_t j, __mmask16 m, __m512 i,
                       __m512 f, __m512 g, __m512 o, __m512 cp, __m512 c, __m512 h) {
  if (s.gates) {
    float* a = s.gates + b * 4 * H + j;
    store(a, i, m);
    store(a + H, f, m);
    store(a + 2 * H, g, m);
    store(a + 3 * H, o, m);
  }
  if (!s.active || s.active[b]) {
    const __m512 hs = state_value(s, h);
    store(s.h_new + b * H + j, hs, m);
    store(s.c_new + b * H + j, state_value(s, c), m);
    if (s.y) store(s.y + b * s.ldy + j, hs, m);
  } else {
    store(s.h_new + b * H + j, state_value(s, load(s.h_prev + b * s.ldh + j, m)), m);
    store(s.c_new + b * H + j, state_value(s, cp), m);
  }
}

// The LSTM epilogue of R rows from b on for 16 units from j on (lanes m), from the products'
// sums of row b + r at sums[r][0..3] and the biases in registers: the AVX2 epilogues'
// operations, lane for lane, interleaved across the rows (z_exp_k_n).
template <int R>
inline void lstm_rows(const StepArgs& s, int64_t H, int64_t b, int64_t j, __mmask16 m,
                      const __m512 (&sums)[R][4], const __m512 (&bias)[4]) {
  __m512 sig[3 * R], g[R], c[R], tc[R], cp[R];  // sig: i, f, o of each row
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    __m512 pre[4];
    for (int k = 0; k < 4; ++k) {
      pre[k] = _mm512_add_ps(sums[r][k], bias[k]);
      if (s.gi) pre[k] = _mm512_add_ps(load(s.gi + (b + r) * s.ldgi + k * H + j, m), pre[k]);
    }
    sig[3 * r] = pre[0];
    sig[3 * r + 1] = pre[1];
    g[r] = pre[2];
    sig[3 * r + 2] = pre[3];
  }
  z_sigmoid_n<3 * R>(sig);
  z_tanh_n<R>(g);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    cp[r] = load(s.c_prev + (b + r) * H + j, m);
    c[r] = _mm512_fmadd_ps(sig[3 * r + 1], cp[r], _mm512_mul_ps(sig[3 * r], g[r]));
    tc[r] = c[r];
  }
  z_tanh_n<R>(tc);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const __m512 h = _mm512_mul_ps(sig[3 * r + 2], tc[r]);
    lstm_store(s, H, b + r, j, m, sig[3 * r], sig[3 * r + 1], g[r], sig[3 * r + 2], cp[r], c[r], h);
  }
}

inline void lstm_row(const StepArgs& s, int64_t H, int64_t b, int64_t j, __mmask16 m,
                     const __m512 (&acc)[4], const __m512 (&bias)[4]) {
  const __m512 sums[1][4] = {{acc[0], acc[1], acc[2], acc[3]}};
  lstm_rows<1>(s, H, b, j, m, sums, bias);
}

// GRU: acc = r, z, W_hn h sums and the n gate's x part (zero where it comes in s.gi); bias =
// r, z, b_hn and b_in.
// The GRU epilogue of R rows from b on, as lstm_rows: acc = r, z, W_hn h sums and the n gate's
// x part (zero where it comes in s.gi); bias = r, z, b_hn and b_in.
template <int R>
inline void gru_rows(const StepArgs& s, int64_t H, int64_t b, int64_t j, __mmask16 m,
                     const __m512 (&sums)[R][4], const __m512 (&bias)[4]) {
  __m512 rz[2 * R], hn[R], n[R];
#pragma GCC unroll 8
  for (int q = 0; q < R; ++q) {
    const __m512(&acc)[4] = sums[q];
    __m512 pr = _mm512_add_ps(acc[0], bias[0]);
    __m512 pz = _mm512_add_ps(acc[1], bias[1]);
    hn[q] = _mm512_add_ps(acc[2], bias[2]);
    __m512 xn;
    if (s.gi) {
      const float* gi = s.gi + (b + q) * s.ldgi + j;
      pr = _mm512_add_ps(load(gi, m), pr);
      pz = _mm512_add_ps(load(gi + H, m), pz);
      xn = _mm512_add_ps(load(gi + 2 * H, m), bias[3]);
    } else {
      xn = _mm512_add_ps(acc[3], bias[3]);
    }
    rz[2 * q] = pr;
    rz[2 * q + 1] = pz;
    n[q] = xn;
  }
  z_sigmoid_n<2 * R>(rz);
#pragma GCC unroll 8
  for (int q = 0; q < R; ++q) n[q] = _mm512_fmadd_ps(rz[2 * q], hn[q], n[q]);
  z_tanh_n<R>(n);
#pragma GCC unroll 8
  for (int q = 0; q < R; ++q) {
    const int64_t row = b + q;
    const __m512 r = rz[2 * q], z = rz[2 * q + 1], nn = n[q];
    const __m512 hp = load(s.h_prev + row * s.ldh + j, m);
    const __m512 h = _mm512_fmadd_ps(_mm512_sub_ps(hp, nn), z, nn);
    if (s.gates) {
      float* a = s.gates + row * 3 * H + j;
      store(a, r, m);
      store(a + H, z, m);
      store(a + 2 * H, nn, m);
    }
    if (s.hn) store(s.hn + row * H + j, hn[q], m);
    if (!s.active || s.active[row]) {
      const __m512 hs = state_value(s, h);
      store(s.h_new + row * H + j, hs, m);
      if (s.y) store(s.y + row * s.ldy + j, hs, m);
    } else {
      store(s.h_new + row * H + j, state_value(s, hp), m);
    }
  }
}

inline void gru_row(const StepArgs& s, int64_t H, int64_t b, int64_t j, __mmask16 m,
                    const __m512 (&acc)[4], const __m512 (&bias)[4]) {
  const __m512 sums[1][4] = {{acc[0], acc[1], acc[2], acc[3]}};
  gru_rows<1>(s, H, b, j, m, sums, bias);
}

inline void rnn_vec(const StepArgs& s, int64_t H, int64_t b, int64_t j, __mmask16 m, __m512 acc, __m512 bias,
                    bool relu) {
  __m512 pre = _mm512_add_ps(acc, bias);
  if (s.gi) pre = _mm512_add_ps(load(s.gi + b * s.ldgi + j, m), pre);
  const __m512 h = relu ? _mm512_max_ps(_mm512_setzero_ps(), pre) : z_tanh(pre);
  if (s.gates) store(s.gates + b * H + j, h, m);
  if (!s.active || s.active[b]) {
    const __m512 hs = state_value(s, h);
    store(s.h_new + b * H + j, hs, m);
    if (s.y) store(s.y + b * s.ldy + j, hs, m);
  } else {
    store(s.h_new + b * H + j, state_value(s, load(s.h_prev + b * s.ldh + j, m)), m);
  }
}

}  // namespace

void group_epilogue(const PackedGates& p, const StepArgs& s, int64_t ug, const float* scratch,
                    int64_t ldsc) {
  const int64_t H = p.hidden, GC = group_cols(p);
  if (gate_count(p.cell) == 1) {
    // GC units of one gate, 16 a vector (the bias's blocks of 32 units are contiguous, and
    // end with the last block: a group's vectors past H are neither loaded nor stored).
    constexpr int64_t kMaxVecs = 4;
    const int64_t j0 = ug * GC, vecs = GC / 16;
    __m512 bias_v[kMaxVecs];
    for (int64_t v = 0; v < vecs && v < kMaxVecs; ++v) {
      bias_v[v] = j0 + v * 16 < H ? _mm512_load_ps(p.bias.data() + j0 + v * 16) : _mm512_setzero_ps();
    }
    const bool relu = p.cell == Cell::RNN_RELU;
    for (int64_t b = 0; b < s.rows; ++b) {
      for (int64_t v = 0; v < vecs && v < kMaxVecs; ++v) {
        const int64_t j = j0 + v * 16;
        if (j >= H) break;
        rnn_vec(s, H, b, j, lanes(H - j), _mm512_loadu_ps(scratch + b * ldsc + v * 16), bias_v[v], relu);
      }
    }
    return;
  }
  const int64_t j = ug * 16, jb = ug * 2;
  const __mmask16 m = lanes(H - j);
  const float* bias = p.bias.data();
  if (p.cell == Cell::LSTM) {
    __m512 bg[4];
    for (int g = 0; g < 4; ++g) bg[g] = block_pair(bias, 32, jb, p.blocks, g * 8);
    constexpr int R = 4;
    int64_t b = 0;
    for (; b + R <= s.rows; b += R) {
      __m512 sums[R][4];
      for (int r = 0; r < R; ++r) {
        for (int g = 0; g < 4; ++g) sums[r][g] = _mm512_loadu_ps(scratch + (b + r) * ldsc + g * 16);
      }
      lstm_rows<R>(s, H, b, j, m, sums, bg);
    }
    for (; b < s.rows; ++b) {
      __m512 acc[4];
      for (int g = 0; g < 4; ++g) acc[g] = _mm512_loadu_ps(scratch + b * ldsc + g * 16);
      lstm_row(s, H, b, j, m, acc, bg);
    }
    return;
  }
  // GRU: r, z, then W_hn h + b_hn, with b_in added to the n gate's x part.
  const bool x_in_panels = p.kx > 0;
  const __m512 bg[4] = {block_pair(bias, 24, jb, p.blocks, 0), block_pair(bias, 24, jb, p.blocks, 8),
                        block_pair(bias, 24, jb, p.blocks, 16), block_pair(p.bias_xn.data(), 8, jb, p.blocks, 0)};
  auto sums_of = [&](int64_t b, __m512(&acc)[4]) {
    const float* row = scratch + b * ldsc;
    acc[0] = _mm512_loadu_ps(row);
    acc[1] = _mm512_loadu_ps(row + 16);
    acc[2] = _mm512_loadu_ps(row + 32);
    acc[3] = x_in_panels ? _mm512_loadu_ps(row + GC) : _mm512_setzero_ps();
  };
  constexpr int R = 4;
  int64_t b = 0;
  for (; b + R <= s.rows; b += R) {
    __m512 sums[R][4];
    for (int r = 0; r < R; ++r) sums_of(b + r, sums[r]);
    gru_rows<R>(s, H, b, j, m, sums, bg);
  }
  for (; b < s.rows; ++b) {
    __m512 acc[4];
    sums_of(b, acc);
    gru_row(s, H, b, j, m, acc, bg);
  }
}

// ---- fused_step on zmm: blocks of 16 units (LSTM/GRU, pack_gates(..., wide)) or 32 (RNN) ----
namespace {

// acc[r][v] += rows' a[k] * panel[k][v*16 + 0..15] for k in [k0, k1): the AVX2 tile's sums,
// lane for lane (one row: two chains, even and odd k, added at the end).
template <int Z, int R>
__attribute__((always_inline)) inline void wide_accumulate(const float* a, int64_t lda, const float* panel, int64_t k0,
                                                          int64_t k1, __m512 (&acc)[R][Z]) {
  constexpr int64_t W = Z * 16;
  if constexpr (R == 1) {
    __m512 acc2[Z];
    for (int v = 0; v < Z; ++v) acc2[v] = _mm512_setzero_ps();
    int64_t k = k0;
    for (; k + 1 < k1; k += 2) {
      const __m512 a0 = _mm512_set1_ps(a[k]), a1 = _mm512_set1_ps(a[k + 1]);
      const float* w0 = panel + k * W;
      #pragma GCC unroll 4
      for (int v = 0; v < Z; ++v) {
        acc[0][v] = _mm512_fmadd_ps(a0, _mm512_loadu_ps(w0 + v * 16), acc[0][v]);
        acc2[v] = _mm512_fmadd_ps(a1, _mm512_loadu_ps(w0 + W + v * 16), acc2[v]);
      }
    }
    if (k < k1) {
      const __m512 a0 = _mm512_set1_ps(a[k]);
      for (int v = 0; v < Z; ++v) acc[0][v] = _mm512_fmadd_ps(a0, _mm512_loadu_ps(panel + k * W + v * 16), acc[0][v]);
    }
    for (int v = 0; v < Z; ++v) acc[0][v] = _mm512_add_ps(acc[0][v], acc2[v]);
  } else {
    for (int64_t k = k0; k < k1; ++k) {
      __m512 w[Z];
      #pragma GCC unroll 4
      for (int v = 0; v < Z; ++v) w[v] = _mm512_loadu_ps(panel + k * W + v * 16);
      #pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m512 ar = _mm512_set1_ps(a[r * lda + k]);
        #pragma GCC unroll 4
        for (int v = 0; v < Z; ++v) acc[r][v] = _mm512_fmadd_ps(ar, w[v], acc[r][v]);
      }
    }
  }
}

// Rows [b0, b0 + R) of block jb: Z zmm of sums per row (LSTM 4, GRU 3, RNN 2).
template <int Z, int R>
void wide_tile(const PackedGates& p, const StepArgs& s, int64_t b0, int64_t jb) {
  const int64_t K = p.k(), H = p.hidden, U = p.units;
  const float* panel = p.w.data() + jb * K * Z * 16;
  __m512 acc[R][Z];
  __m512 acc_xn[R];
  for (int r = 0; r < R; ++r) {
    acc_xn[r] = _mm512_setzero_ps();
    for (int v = 0; v < Z; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  const float* a = s.a + b0 * s.lda;
  if (p.cell == Cell::GRU && p.kx > 0) {
    // The x part of GRU's n gate stays apart from the h part (r multiplies only the latter).
    wide_accumulate<Z, R>(a, s.lda, panel, 0, p.kx, acc);
    for (int r = 0; r < R; ++r) {
      acc_xn[r] = acc[r][2 % Z];
      acc[r][2 % Z] = _mm512_setzero_ps();
    }
    wide_accumulate<Z, R>(a, s.lda, panel, p.kx, K, acc);
  } else {
    wide_accumulate<Z, R>(a, s.lda, panel, 0, K, acc);
  }
  const float* bias = p.bias.data() + jb * Z * 16;
  for (int r = 0; r < R; ++r) {
    const int64_t b = b0 + r;
    if constexpr (Z == 4) {
      const __m512 bg[4] = {_mm512_load_ps(bias), _mm512_load_ps(bias + 16), _mm512_load_ps(bias + 32),
                            _mm512_load_ps(bias + 48)};
      lstm_row(s, H, b, jb * U, lanes(H - jb * U), acc[r], bg);
    } else if constexpr (Z == 3) {
      const __m512 bg[4] = {_mm512_load_ps(bias), _mm512_load_ps(bias + 16), _mm512_load_ps(bias + 32),
                            _mm512_load_ps(p.bias_xn.data() + jb * U)};
      const __m512 sums[4] = {acc[r][0], acc[r][1], acc[r][2], acc_xn[r]};
      gru_row(s, H, b, jb * U, lanes(H - jb * U), sums, bg);
    } else {
      for (int v = 0; v < Z; ++v) {
        const int64_t j = jb * U + v * 16;
        if (j >= H) break;
        rnn_vec(s, H, b, j, lanes(H - j), acc[r][v], _mm512_load_ps(bias + v * 16), p.cell == Cell::RNN_RELU);
      }
    }
  }
}

// The AVX2 step_blocks' row tiling (R rows, then a tail of 1..R-1), so that every row's sums
// are formed the same way as there.
template <int Z, int R>
void wide_blocks(const PackedGates& p, const StepArgs& s, int64_t jb0, int64_t jb1) {
  for (int64_t i = jb0; i < jb1; ++i) {
    const int64_t jb = s.last_first ? jb1 - 1 - (i - jb0) : i;
    int64_t b = 0;
    for (; b + R <= s.rows; b += R) wide_tile<Z, R>(p, s, b, jb);
    switch (s.rows - b) {
      case 1: wide_tile<Z, 1>(p, s, b, jb); break;
      case 2: wide_tile<Z, 2>(p, s, b, jb); break;
      case 3: if constexpr (R > 3) wide_tile<Z, 3>(p, s, b, jb); break;
      default: break;
    }
  }
}

}  // namespace

void wide_step(const PackedGates& p, const StepArgs& s, int64_t block_begin, int64_t block_end) {
  switch (p.cell) {
    case Cell::LSTM: wide_blocks<4, 3>(p, s, block_begin, block_end); break;
    case Cell::GRU: wide_blocks<3, 4>(p, s, block_begin, block_end); break;
    default: wide_blocks<2, 3>(p, s, block_begin, block_end); break;
  }
}

}  // namespace rnn::kernels::fast::avx512

#pragma GCC pop_options
