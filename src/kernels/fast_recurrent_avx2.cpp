// AVX2 + FMA bodies of the fast recurrent kernels (see rnn/kernels/fast_recurrent.h).
//
// Only the code after the target pragma is compiled for AVX2; the library as a whole stays
// baseline x86-64, and callers check fast::available() first. No standard-library template
// is instantiated inside the AVX2 region (that could hand an AVX2 copy of a shared inline
// function to the rest of the program).
#include <immintrin.h>

#include <algorithm>
#include <cfloat>
#include <cstdint>

#include "fast_tiles_avx512.h"
#include "rnn/kernels/fast_recurrent.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace rnn::kernels::fast {

namespace {

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

// ---- elementwise math ---------------------------------------------------------------------
// exp: x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial for e^r (Cephes' expf coefficients),
// 2^n by building the exponent. Inputs are clamped to [-88, 88] (e^88 = 1.65e38 is finite;
// e^-88 is a denormal and flushes to 0, which only matters below 1e-38). The clamps take the
// bound first: max and min return their second operand when one is NaN, so a NaN (a diverged
// model's) comes out of exp, sigmoid and tanh as NaN, not as a finite value.
//
// Each function works on N independent vectors, operation by operation across them (the
// batched step's epilogues: one unit's chain of dependent operations leaves the vector units
// idle, and the out-of-order window does not reach far into the next one's); the one-vector
// forms (v_exp, v_sigmoid, v_tanh) are N = 1. The single step is one such chain: an LSTM
// unit's h waits on sigmoid -> cell -> tanh(c), so the functions keep as few operations on
// the path from x to the result as they can (the forms below are written for that).
#define RNN_EACH _Pragma("GCC unroll 16") for (int q = 0; q < N; ++q)

// These, the LSTM epilogues and GRU's n-block one are always inlined: called, they pass the
// sums and results through the stack, on the path from one step's h to the next's. One Zen 3
// core, interleaved runs (best of 21 each): the single LSTM step at H = 8 / 16 / 32
// 1.07-1.10x / 1.12-1.15x / 1.03-1.11x (four runs), GRU H = 16 / 32 1.13-1.18x / 1.12-1.16x
// (two), batched inference LSTM H = 128 B = 16 1.04-1.07x; elsewhere within the runs' spread
// (-5% to +5%). GRU's one-block epilogue inlined into the many-block loops cost 11-14% (batch
// 1, H = 128 / 256, and the single step from H = 64 on), so it stays a call.

// 2^fx e^r + c from the reduced argument: the polynomial by Estrin's scheme, 1 + r +
// r^2 (c0 + c1 r) and r^4 (c2 + c3 r + r^2 (c4 + c5 r)) apart, so that 3 FMAs follow r^2
// instead of Horner's 6, and + c in the last FMA.
template <int N>
__attribute__((always_inline)) inline void v_exp_reduced_n(const __m256 (&r)[N],
                                                           const __m256 (&fx)[N], __m256 c,
                                                           __m256 (&out)[N]) {
  RNN_EACH {
    const __m256 r2 = _mm256_mul_ps(r[q], r[q]);
    const __m256 r4 = _mm256_mul_ps(r2, r2);
    const __m256 p54 =
        _mm256_fmadd_ps(_mm256_set1_ps(1.9875691500e-4f), r[q], _mm256_set1_ps(1.3981999507e-3f));
    const __m256 p32 =
        _mm256_fmadd_ps(_mm256_set1_ps(8.3334519073e-3f), r[q], _mm256_set1_ps(4.1665795894e-2f));
    const __m256 p10 =
        _mm256_fmadd_ps(_mm256_set1_ps(1.6666665459e-1f), r[q], _mm256_set1_ps(5.0000001201e-1f));
    const __m256 lo = _mm256_fmadd_ps(p10, r2, _mm256_add_ps(r[q], _mm256_set1_ps(1.0f)));
    const __m256 y = _mm256_fmadd_ps(_mm256_fmadd_ps(p54, r2, p32), r4, lo);
    __m256i n = _mm256_cvttps_epi32(fx[q]);
    n = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
    out[q] = _mm256_fmadd_ps(y, _mm256_castsi256_ps(n), c);
  }
}

// e^{K x} + c for K = 1 or -1 (sigmoid takes e^{-x} + 1). x * (K log2 e) is (K x) * log2 e
// bit for bit, so the reduction is that of e^{K x}, while -x is computed beside it rather
// than before it.
template <int N, int K>
__attribute__((always_inline)) inline void v_exp_k_n(__m256 (&x)[N], __m256 c) {
  static_assert(K == 1 || K == -1, "exact multiples of log2 e only");
  __m256 kx[N], fx[N], r[N];
  RNN_EACH x[q] = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-88.0f), x[q]));
  RNN_EACH kx[q] = K == 1 ? x[q] : _mm256_sub_ps(_mm256_setzero_ps(), x[q]);
  RNN_EACH fx[q] = _mm256_floor_ps(_mm256_fmadd_ps(
      x[q], _mm256_set1_ps(static_cast<float>(K) * 1.44269504088896341f), _mm256_set1_ps(0.5f)));
  // ln 2 in two parts (Cody-Waite): n ln2_hi is exact for |n| <= 127.
  RNN_EACH r[q] = _mm256_fnmadd_ps(fx[q], _mm256_set1_ps(0.693359375f), kx[q]);
  RNN_EACH r[q] = _mm256_fnmadd_ps(fx[q], _mm256_set1_ps(-2.12194440e-4f), r[q]);
  v_exp_reduced_n<N>(r, fx, c, x);
}

template <int N>
__attribute__((always_inline)) inline void v_recip_n(__m256 (&d)[N]) {
  RNN_EACH {
    const __m256 r = _mm256_rcp_ps(d[q]);
    d[q] = _mm256_fmadd_ps(r, _mm256_fnmadd_ps(d[q], r, _mm256_set1_ps(1.0f)), r);
  }
}

// sigmoid(x) = 1 / (e^-x + 1), 1/d by the 12-bit hardware estimate and one Newton step
// (~1 ulp; cheaper than a division).
template <int N>
__attribute__((always_inline)) inline void v_sigmoid_n(__m256 (&x)[N]) {
  v_exp_k_n<N, -1>(x, _mm256_set1_ps(1.0f));
  v_recip_n<N>(x);
}

// tanh: odd polynomial for |x| < 0.625 (Cephes' tanhf coefficients), else
// sign(x) * (1 - 2 / (e^{2|x|} + 1)), on the chain's shortest path:
// - |x| is clamped to 10 only (tanh is 1.0f from 9.01 on, and so is 1 - 2 / (e^20 + 1));
// - 2|x| - n ln 2 in one FMA with ln 2 rounded to float: n <= 29 here, so the error,
//   n (ln 2 - float(ln 2)) < 6e-8 in r, moves the result by < 2e-8;
// - with r0 the estimate of 1/d and e0 = 1 - d r0, the Newton step's 1/d = r0 + r0 e0, so
//   1 - 2/d = (1 - 2 r0) - 2 r0 e0: the two terms side by side, one FMA after them.
template <int N>
__attribute__((always_inline)) inline void v_tanh_n(__m256 (&x)[N]) {
  const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
  __m256 ax[N], small[N], fx[N], r[N], d[N];
  RNN_EACH {
    ax[q] = _mm256_andnot_ps(sign, x[q]);
    const __m256 z = _mm256_mul_ps(x[q], x[q]);
    __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
    small[q] = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x[q], x[q]);
  }
  RNN_EACH {
    const __m256 a = _mm256_min_ps(_mm256_set1_ps(10.0f), ax[q]);
    fx[q] = _mm256_floor_ps(
        _mm256_fmadd_ps(a, _mm256_set1_ps(2.0f * 1.44269504088896341f), _mm256_set1_ps(0.5f)));
    r[q] = _mm256_fnmadd_ps(fx[q], _mm256_set1_ps(0.693147182464599609375f), _mm256_add_ps(a, a));
  }
  v_exp_reduced_n<N>(r, fx, one, d);
  RNN_EACH {
    const __m256 r0 = _mm256_rcp_ps(d[q]);
    const __m256 e0 = _mm256_fnmadd_ps(d[q], r0, one);
    __m256 large = _mm256_fnmadd_ps(_mm256_add_ps(r0, r0), e0,
                                    _mm256_fnmadd_ps(_mm256_set1_ps(2.0f), r0, one));
    large = _mm256_or_ps(large, _mm256_and_ps(x[q], sign));
    const __m256 is_small = _mm256_cmp_ps(ax[q], _mm256_set1_ps(0.625f), _CMP_LT_OQ);
    x[q] = _mm256_blendv_ps(large, small[q], is_small);
  }
}

inline __m256 v_exp(__m256 x) {
  __m256 v[1] = {x};
  v_exp_k_n<1, 1>(v, _mm256_setzero_ps());
  return v[0];
}

inline __m256 v_sigmoid(__m256 x) {
  __m256 v[1] = {x};
  v_sigmoid_n<1>(v);
  return v[0];
}

inline __m256 v_tanh(__m256 x) {
  __m256 v[1] = {x};
  v_tanh_n<1>(v);
  return v[0];
}

#undef RNN_EACH

// ---- loads and stores of n <= 8 floats -----------------------------------------------------
alignas(32) const int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
inline __m256i tail_mask(int64_t n) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskTable + 8 - n));
}
inline __m256 load_n(const float* p, int64_t n) {
  return n == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tail_mask(n));
}
inline void store_n(float* p, __m256 v, int64_t n) {
  if (n == 8) {
    _mm256_storeu_ps(p, v);
  } else {
    _mm256_maskstore_ps(p, tail_mask(n), v);
  }
}

// v with denormals replaced by zeros of their sign (|v| >= FLT_MIN and NaN kept), as FTZ
// makes of them.
inline __m256 flush_denormal_lanes(__m256 v) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 keep =
      _mm256_cmp_ps(_mm256_andnot_ps(sign, v), _mm256_set1_ps(FLT_MIN), _CMP_NLT_UQ);
  return _mm256_or_ps(_mm256_and_ps(v, keep), _mm256_and_ps(v, sign));
}
// A state value (h, c) as the step stores it: flushed where StepArgs::flush_denormals asks.
inline __m256 state_value(const StepArgs& s, __m256 v) {
  return s.flush_denormals ? flush_denormal_lanes(v) : v;
}

// ---- register tiles ---------------------------------------------------------------------
// acc[r][v] += sum_{k in [k0,k1)} a[r*lda + k] * (gate vector v of the panel at k)
// The panel's vectors sit side by side per k ([K][V*8]), or with Runs each in a run of its
// own ([V][K][8], `run` floats apart: PackedGates::vector_runs); the sums are the same.
// The sums live in locals that are never address-taken, so they stay in registers (an
// accumulator array that escapes to the epilogue would be stored back on every k).
template <int V, int R, bool Runs>
inline void accumulate(const float* a, int64_t lda, const float* panel, int64_t run, int64_t k0,
                       int64_t k1, __m256 (&acc_out)[R][V]) {
  constexpr int64_t KS = Runs ? 8 : V * 8;  // floats from one k to the next
  const int64_t vs = Runs ? run : 8;        // floats from one gate vector to the next
  __m256 acc[R][V];
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[r][v] = acc_out[r][v];
  if constexpr (R == 1) {
    // One row: two interleaved chains over k hide the FMA latency.
    __m256 acc2[V];
    #pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc2[v] = _mm256_setzero_ps();
    int64_t k = k0;
    for (; k + 1 < k1; k += 2) {
      const __m256 a0 = _mm256_broadcast_ss(a + k);
      const __m256 a1 = _mm256_broadcast_ss(a + k + 1);
      const float* w0 = panel + k * KS;
      #pragma GCC unroll 8
      for (int v = 0; v < V; ++v) {
        acc[0][v] = _mm256_fmadd_ps(a0, _mm256_load_ps(w0 + v * vs), acc[0][v]);
        acc2[v] = _mm256_fmadd_ps(a1, _mm256_load_ps(w0 + KS + v * vs), acc2[v]);
      }
    }
    if (k < k1) {
      const __m256 a0 = _mm256_broadcast_ss(a + k);
      #pragma GCC unroll 8
      for (int v = 0; v < V; ++v)
        acc[0][v] = _mm256_fmadd_ps(a0, _mm256_load_ps(panel + k * KS + v * vs), acc[0][v]);
    }
    #pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[0][v] = _mm256_add_ps(acc[0][v], acc2[v]);
  } else {
    for (int64_t k = k0; k < k1; ++k) {
      __m256 w[V];
      #pragma GCC unroll 8
      for (int v = 0; v < V; ++v) w[v] = _mm256_load_ps(panel + k * KS + v * vs);
      #pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m256 ar = _mm256_broadcast_ss(a + r * lda + k);
        #pragma GCC unroll 8
        for (int v = 0; v < V; ++v) acc[r][v] = _mm256_fmadd_ps(ar, w[v], acc[r][v]);
      }
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc_out[r][v] = acc[r][v];
}

// accumulate's one-row sums for two blocks' panels at once (the same row of a): each block's
// sums by the same FMAs in the same order as accumulate<V, 1>, but the two blocks' chains
// interleaved in one loop, so that a GRU block's 6 chains (latency-bound: 4-cycle FMAs,
// one per chain an iteration) are not left alone. 12 accumulators: V = 3 only.
template <int V, bool Runs>
inline void accumulate_two(const float* a, const float* panel0, const float* panel1, int64_t run,
                           int64_t k0, int64_t k1, __m256 (&acc_out)[2][V]) {
  static_assert(V == 3, "two blocks of LSTM's 4 vectors need 16 accumulators: they would spill");
  constexpr int64_t KS = Runs ? 8 : V * 8;
  const int64_t vs = Runs ? run : 8;
  const float* panel[2] = {panel0, panel1};
  __m256 acc[2][V], acc2[2][V];
  #pragma GCC unroll 8
  for (int q = 0; q < 2; ++q)
    #pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      acc[q][v] = acc_out[q][v];
      acc2[q][v] = _mm256_setzero_ps();
    }
  int64_t k = k0;
  for (; k + 1 < k1; k += 2) {
    const __m256 a0 = _mm256_broadcast_ss(a + k);
    const __m256 a1 = _mm256_broadcast_ss(a + k + 1);
    #pragma GCC unroll 8
    for (int q = 0; q < 2; ++q) {
      const float* w0 = panel[q] + k * KS;
      #pragma GCC unroll 8
      for (int v = 0; v < V; ++v) {
        acc[q][v] = _mm256_fmadd_ps(a0, _mm256_load_ps(w0 + v * vs), acc[q][v]);
        acc2[q][v] = _mm256_fmadd_ps(a1, _mm256_load_ps(w0 + KS + v * vs), acc2[q][v]);
      }
    }
  }
  if (k < k1) {
    const __m256 a0 = _mm256_broadcast_ss(a + k);
    #pragma GCC unroll 8
    for (int q = 0; q < 2; ++q)
      #pragma GCC unroll 8
      for (int v = 0; v < V; ++v)
        acc[q][v] = _mm256_fmadd_ps(a0, _mm256_load_ps(panel[q] + k * KS + v * vs), acc[q][v]);
  }
  #pragma GCC unroll 8
  for (int q = 0; q < 2; ++q)
    #pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc_out[q][v] = _mm256_add_ps(acc[q][v], acc2[q][v]);
}

// accumulate over the layout the block's panel has.
template <int V, int R>
inline void accumulate_panel(const PackedGates& p, const float* a, int64_t lda, const float* panel,
                             int64_t k0, int64_t k1, __m256 (&acc)[R][V]) {
  if (p.vector_runs) {
    accumulate<V, R, true>(a, lda, panel, p.vector_stride(), k0, k1, acc);
  } else {
    accumulate<V, R, false>(a, lda, panel, 0, k0, k1, acc);
  }
}

// ---- fused step epilogues ---------------------------------------------------------------
__attribute__((always_inline)) inline void lstm_epilogue(const PackedGates& p, const StepArgs& s,
                                                         int64_t b, int64_t jb, const __m256* acc) {
  const int64_t H = p.hidden, j = jb * 8, n = imin(8, H - j);
  const float* bias = p.bias.data() + jb * 32;
  __m256 pre[4];
  for (int g = 0; g < 4; ++g) {
    pre[g] = _mm256_add_ps(acc[g], _mm256_load_ps(bias + g * 8));
    if (s.gi) pre[g] = _mm256_add_ps(load_n(s.gi + b * s.ldgi + g * H + j, n), pre[g]);
  }
  const __m256 i = v_sigmoid(pre[0]), f = v_sigmoid(pre[1]), g = v_tanh(pre[2]),
               o = v_sigmoid(pre[3]);
  const __m256 cp = load_n(s.c_prev + b * H + j, n);
  const __m256 c = _mm256_fmadd_ps(f, cp, _mm256_mul_ps(i, g));
  const __m256 h = _mm256_mul_ps(o, v_tanh(c));
  if (s.gates) {
    float* a = s.gates + b * 4 * H + j;
    store_n(a, i, n);
    store_n(a + H, f, n);
    store_n(a + 2 * H, g, n);
    store_n(a + 3 * H, o, n);
  }
  if (!s.active || s.active[b]) {
    const __m256 hs = state_value(s, h);
    store_n(s.h_new + b * H + j, hs, n);
    store_n(s.c_new + b * H + j, state_value(s, c), n);
    if (s.y) store_n(s.y + b * s.ldy + j, hs, n);
  } else {
    store_n(s.h_new + b * H + j, state_value(s, load_n(s.h_prev + b * s.ldh + j, n)), n);
    store_n(s.c_new + b * H + j, state_value(s, cp), n);
  }
}

// lstm_epilogue on N (row, block) pairs at once: first every gate's activation (three
// sigmoids and a tanh a pair, independent of each other, so that the vector units work on
// several at once), then the cells and their tanh together. The same operations as
// lstm_epilogue, lane for lane. It spills (six sigmoids at once on 16 ymm registers at
// N = 2), but the spills are independent loads and stores.
template <int N>
__attribute__((always_inline)) inline void lstm_epilogue_n(const PackedGates& p, const StepArgs& s,
                                                           const int64_t (&b)[N],
                                                           const int64_t (&jb)[N],
                                                           const __m256 (&acc)[N][4]) {
  const int64_t H = p.hidden;
  int64_t j[N], n[N];
  __m256 sig[3 * N], g[N];
#pragma GCC unroll 8
  for (int q = 0; q < N; ++q) {
    j[q] = jb[q] * 8;
    n[q] = imin(8, H - j[q]);
    const float* bias = p.bias.data() + jb[q] * 32;
    __m256 pre[4];
    for (int v = 0; v < 4; ++v) {
      pre[v] = _mm256_add_ps(acc[q][v], _mm256_load_ps(bias + v * 8));
      if (s.gi) pre[v] = _mm256_add_ps(load_n(s.gi + b[q] * s.ldgi + v * H + j[q], n[q]), pre[v]);
    }
    sig[3 * q] = pre[0];
    sig[3 * q + 1] = pre[1];
    sig[3 * q + 2] = pre[3];
    g[q] = pre[2];
  }
  v_sigmoid_n<3 * N>(sig);
  v_tanh_n<N>(g);
  __m256 c[N], cp[N], tc[N];
#pragma GCC unroll 8
  for (int q = 0; q < N; ++q) {
    cp[q] = load_n(s.c_prev + b[q] * H + j[q], n[q]);
    c[q] = _mm256_fmadd_ps(sig[3 * q + 1], cp[q], _mm256_mul_ps(sig[3 * q], g[q]));
    tc[q] = c[q];
  }
  v_tanh_n<N>(tc);
#pragma GCC unroll 8
  for (int q = 0; q < N; ++q) {
    const __m256 i = sig[3 * q], f = sig[3 * q + 1], o = sig[3 * q + 2];
    const int64_t r = b[q], jq = j[q], nq = n[q];
    if (s.gates) {
      float* a = s.gates + r * 4 * H + jq;
      store_n(a, i, nq);
      store_n(a + H, f, nq);
      store_n(a + 2 * H, g[q], nq);
      store_n(a + 3 * H, o, nq);
    }
    if (!s.active || s.active[r]) {
      const __m256 h = state_value(s, _mm256_mul_ps(o, tc[q]));
      store_n(s.h_new + r * H + jq, h, nq);
      store_n(s.c_new + r * H + jq, state_value(s, c[q]), nq);
      if (s.y) store_n(s.y + r * s.ldy + jq, h, nq);
    } else {
      store_n(s.h_new + r * H + jq, state_value(s, load_n(s.h_prev + r * s.ldh + jq, nq)), nq);
      store_n(s.c_new + r * H + jq, state_value(s, cp[q]), nq);
    }
  }
}

inline void gru_epilogue(const PackedGates& p, const StepArgs& s, int64_t b, int64_t jb,
                         const __m256* acc, __m256 acc_xn) {
  const int64_t H = p.hidden, j = jb * 8, n = imin(8, H - j);
  const float* bias = p.bias.data() + jb * 24;
  __m256 pr = _mm256_add_ps(acc[0], _mm256_load_ps(bias));
  __m256 pz = _mm256_add_ps(acc[1], _mm256_load_ps(bias + 8));
  const __m256 hn = _mm256_add_ps(acc[2], _mm256_load_ps(bias + 16));
  __m256 xn;
  if (s.gi) {
    const float* gi = s.gi + b * s.ldgi + j;
    pr = _mm256_add_ps(load_n(gi, n), pr);
    pz = _mm256_add_ps(load_n(gi + H, n), pz);
    xn = _mm256_add_ps(load_n(gi + 2 * H, n), _mm256_load_ps(p.bias_xn.data() + jb * 8));
  } else {
    xn = _mm256_add_ps(acc_xn, _mm256_load_ps(p.bias_xn.data() + jb * 8));
  }
  const __m256 r = v_sigmoid(pr), z = v_sigmoid(pz);
  const __m256 nn = v_tanh(_mm256_fmadd_ps(r, hn, xn));
  const __m256 hp = load_n(s.h_prev + b * s.ldh + j, n);
  const __m256 h = _mm256_fmadd_ps(_mm256_sub_ps(hp, nn), z, nn);
  if (s.gates) {
    float* a = s.gates + b * 3 * H + j;
    store_n(a, r, n);
    store_n(a + H, z, n);
    store_n(a + 2 * H, nn, n);
  }
  if (s.hn) store_n(s.hn + b * H + j, hn, n);
  if (!s.active || s.active[b]) {
    const __m256 hs = state_value(s, h);
    store_n(s.h_new + b * H + j, hs, n);
    if (s.y) store_n(s.y + b * s.ldy + j, hs, n);
  } else {
    store_n(s.h_new + b * H + j, state_value(s, hp), n);
  }
}

// gru_epilogue for N (row, block) pairs at once, interleaved operation by operation
// (v_sigmoid_n): the same operations for every unit. acc[q] = r, z, W_hn h sums; acc_xn[q] =
// the n gate's x part (unused where it is in s.gi).
template <int N>
__attribute__((always_inline)) inline void gru_epilogue_n(const PackedGates& p, const StepArgs& s,
                                                          const int64_t (&b)[N],
                                                          const int64_t (&jb)[N],
                                                          const __m256 (&acc)[N][3],
                                                          const __m256 (&acc_xn)[N]) {
  const int64_t H = p.hidden;
  __m256 rz[2 * N], hn[N], nn[N];
  int64_t j[N], n[N];
#pragma GCC unroll 8
  for (int q = 0; q < N; ++q) {
    j[q] = jb[q] * 8;
    n[q] = imin(8, H - j[q]);
    const float* bias = p.bias.data() + jb[q] * 24;
    __m256 pr = _mm256_add_ps(acc[q][0], _mm256_load_ps(bias));
    __m256 pz = _mm256_add_ps(acc[q][1], _mm256_load_ps(bias + 8));
    hn[q] = _mm256_add_ps(acc[q][2], _mm256_load_ps(bias + 16));
    __m256 xn;
    if (s.gi) {
      const float* gi = s.gi + b[q] * s.ldgi + j[q];
      pr = _mm256_add_ps(load_n(gi, n[q]), pr);
      pz = _mm256_add_ps(load_n(gi + H, n[q]), pz);
      xn = _mm256_add_ps(load_n(gi + 2 * H, n[q]), _mm256_load_ps(p.bias_xn.data() + jb[q] * 8));
    } else {
      xn = _mm256_add_ps(acc_xn[q], _mm256_load_ps(p.bias_xn.data() + jb[q] * 8));
    }
    rz[2 * q] = pr;
    rz[2 * q + 1] = pz;
    nn[q] = xn;
  }
  v_sigmoid_n<2 * N>(rz);
#pragma GCC unroll 8
  for (int q = 0; q < N; ++q) nn[q] = _mm256_fmadd_ps(rz[2 * q], hn[q], nn[q]);
  v_tanh_n<N>(nn);
#pragma GCC unroll 8
  for (int q = 0; q < N; ++q) {
    const int64_t r = b[q], jq = j[q], nq = n[q];
    const __m256 hp = load_n(s.h_prev + r * s.ldh + jq, nq);
    const __m256 h = _mm256_fmadd_ps(_mm256_sub_ps(hp, nn[q]), rz[2 * q + 1], nn[q]);
    if (s.gates) {
      float* a = s.gates + r * 3 * H + jq;
      store_n(a, rz[2 * q], nq);
      store_n(a + H, rz[2 * q + 1], nq);
      store_n(a + 2 * H, nn[q], nq);
    }
    if (s.hn) store_n(s.hn + r * H + jq, hn[q], nq);
    if (!s.active || s.active[r]) {
      const __m256 hs = state_value(s, h);
      store_n(s.h_new + r * H + jq, hs, nq);
      if (s.y) store_n(s.y + r * s.ldy + jq, hs, nq);
    } else {
      store_n(s.h_new + r * H + jq, state_value(s, hp), nq);
    }
  }
}

inline void rnn_epilogue(const PackedGates& p, const StepArgs& s, int64_t b, int64_t jb,
                         const __m256* acc) {
  const int64_t H = p.hidden;
  const bool relu = p.cell == Cell::RNN_RELU;
  const bool on = !s.active || s.active[b];
  const float* bias = p.bias.data() + jb * 32;
  for (int v = 0; v < 4; ++v) {
    const int64_t j = jb * 32 + v * 8;
    if (j >= H) break;
    const int64_t n = imin(8, H - j);
    __m256 pre = _mm256_add_ps(acc[v], _mm256_load_ps(bias + v * 8));
    if (s.gi) pre = _mm256_add_ps(load_n(s.gi + b * s.ldgi + j, n), pre);
    // max(0, pre) with the zero first: a NaN passes (max returns its second operand then).
    const __m256 h = relu ? _mm256_max_ps(_mm256_setzero_ps(), pre) : v_tanh(pre);
    if (s.gates) store_n(s.gates + b * H + j, h, n);
    if (on) {
      const __m256 hs = state_value(s, h);
      store_n(s.h_new + b * H + j, hs, n);
      if (s.y) store_n(s.y + b * s.ldy + j, hs, n);
    } else {
      store_n(s.h_new + b * H + j, state_value(s, load_n(s.h_prev + b * s.ldh + j, n)), n);
    }
  }
}

// The sums of block jb for rows [b0, b0 + R); with GRU's input in the block, the n gate's
// x part apart in acc_xn (r multiplies only the h part).
template <int V, int R>
inline void block_sums(const PackedGates& p, const StepArgs& s, int64_t b0, int64_t jb,
                       __m256 (&acc)[R][V], __m256 (&acc_xn)[R]) {
  const int64_t K = p.k();
  const float* panel = p.w.data() + jb * K * V * 8;
  for (int r = 0; r < R; ++r) {
    acc_xn[r] = _mm256_setzero_ps();
    for (int v = 0; v < V; ++v) acc[r][v] = _mm256_setzero_ps();
  }
  const float* a = s.a + b0 * s.lda;
  if (p.cell == Cell::GRU && p.kx > 0) {
    accumulate_panel<V, R>(p, a, s.lda, panel, 0, p.kx, acc);
    for (int r = 0; r < R; ++r) {
      acc_xn[r] = acc[r][2];
      acc[r][2] = _mm256_setzero_ps();
    }
    accumulate_panel<V, R>(p, a, s.lda, panel, p.kx, K, acc);
  } else {
    accumulate_panel<V, R>(p, a, s.lda, panel, 0, K, acc);
  }
}

// block_sums of one row for two blocks together (accumulate_two): GRU.
inline void gru_pair_sums(const PackedGates& p, const StepArgs& s, const int64_t (&jb)[2],
                          __m256 (&acc)[2][3], __m256 (&acc_xn)[2]) {
  const int64_t K = p.k();
  const float* panel0 = p.w.data() + jb[0] * K * 24;
  const float* panel1 = p.w.data() + jb[1] * K * 24;
  for (int q = 0; q < 2; ++q) {
    acc_xn[q] = _mm256_setzero_ps();
    for (int v = 0; v < 3; ++v) acc[q][v] = _mm256_setzero_ps();
  }
  auto sums = [&](int64_t k0, int64_t k1) {
    if (p.vector_runs) {
      accumulate_two<3, true>(s.a, panel0, panel1, p.vector_stride(), k0, k1, acc);
    } else {
      accumulate_two<3, false>(s.a, panel0, panel1, 0, k0, k1, acc);
    }
  };
  if (p.kx > 0) {
    sums(0, p.kx);
    for (int q = 0; q < 2; ++q) {
      acc_xn[q] = acc[q][2];
      acc[q][2] = _mm256_setzero_ps();
    }
    sums(p.kx, K);
  } else {
    sums(0, K);
  }
}

template <int V, int R>
inline void step_tile(const PackedGates& p, const StepArgs& s, int64_t b0, int64_t jb) {
  __m256 acc[R][V];
  __m256 acc_xn[R];
  block_sums<V, R>(p, s, b0, jb, acc, acc_xn);
  for (int r = 0; r < R; ++r) {
    if constexpr (V == 3) {
      gru_epilogue(p, s, b0 + r, jb, acc[r], acc_xn[r]);
    } else if (p.cell == Cell::LSTM) {
      lstm_epilogue(p, s, b0 + r, jb, acc[r]);
    } else {
      rnn_epilogue(p, s, b0 + r, jb, acc[r]);
    }
  }
}

// One row (batch 1, the single step), LSTM or GRU: two blocks' sums, then their epilogues
// together (lstm_epilogue_n / gru_epilogue_n, the same operations as one at a time), so
// that the vector units are not left waiting on one block's sigmoid -> cell -> tanh chain.
// That pays only where the epilogues are most of the step: one Zen 3 core, the single step
// (interleaved medians of 7-11 runs), H = 16 LSTM 1.15-1.23x, GRU 1.03-1.06x; H = 32
// 0.95-1.09x; from H = 64 on, where the next block's sums overlap a block's epilogue anyway,
// 0.90-1.03x.
constexpr int64_t kMaxPairedBlocks = 4;
template <int V>
inline void step_pair(const PackedGates& p, const StepArgs& s, const int64_t (&jb)[2]) {
  const int64_t rows[2] = {0, 0};
  if constexpr (V == 3) {
    __m256 sums[2][3], xn[2];
    gru_pair_sums(p, s, jb, sums, xn);
    gru_epilogue_n<2>(p, s, rows, jb, sums, xn);
  } else {
    __m256 acc[2][1][V], acc_xn[2][1];
    for (int q = 0; q < 2; ++q) block_sums<V, 1>(p, s, 0, jb[q], acc[q], acc_xn[q]);
    __m256 sums[2][V];
    for (int q = 0; q < 2; ++q) {
      for (int v = 0; v < V; ++v) sums[q][v] = acc[q][0][v];
    }
    lstm_epilogue_n<2>(p, s, rows, jb, sums);
  }
}

template <int V, int R>
void step_blocks(const PackedGates& p, const StepArgs& s, int64_t jb0, int64_t jb1) {
  auto block_at = [&](int64_t i) { return s.last_first ? jb1 - 1 - (i - jb0) : i; };
  if (s.rows == 1 && jb1 - jb0 <= kMaxPairedBlocks &&
      (p.cell == Cell::LSTM || p.cell == Cell::GRU)) {
    int64_t i = jb0;
    for (; i + 1 < jb1; i += 2) {
      const int64_t jb[2] = {block_at(i), block_at(i + 1)};
      step_pair<V>(p, s, jb);
    }
    if (i < jb1) step_tile<V, 1>(p, s, 0, block_at(i));
    return;
  }
  for (int64_t i = jb0; i < jb1; ++i) {
    const int64_t jb = block_at(i);
    int64_t b = 0;
    for (; b + R <= s.rows; b += R) step_tile<V, R>(p, s, b, jb);
    switch (s.rows - b) {
      case 1: step_tile<V, 1>(p, s, b, jb); break;
      case 2: step_tile<V, 2>(p, s, b, jb); break;
      case 3: if constexpr (R > 3) step_tile<V, 3>(p, s, b, jb); break;
      default: break;
    }
  }
}

template <int R>
inline void gemm_tile(const PackedMatrix& p, const float* a, int64_t lda, float* c, int64_t ldc,
                      int64_t b0, int64_t nb, bool add) {
  __m256 acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < 4; ++v) acc[r][v] = _mm256_setzero_ps();
  const float* panel = p.w.data() + nb * p.k * 32;
  if (p.vector_runs) {
    accumulate<4, R, true>(a + b0 * lda, lda, panel, p.k * 8, 0, p.k, acc);
  } else {
    accumulate<4, R, false>(a + b0 * lda, lda, panel, 0, 0, p.k, acc);
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < 4; ++v) {
      const int64_t j = nb * 32 + v * 8;
      if (j >= p.n) break;
      float* out = c + (b0 + r) * ldc + j;
      const int64_t n = imin(8, p.n - j);
      store_n(out, add ? _mm256_add_ps(load_n(out, n), acc[r][v]) : acc[r][v], n);
    }
  }
}

// ---- 6 x 16 tiles (many rows) -------------------------------------------------------------
// c0/c1[r] += sum_{k < K} a[r*lda + k] * panel[k*16 .. k*16+15] for R rows: 12 accumulators,
// two panel vectors and one broadcast per k (the BLIS-style AVX2 shape, FMA-bound from L1/L2).
template <int R>
__attribute__((always_inline)) inline void sweep16(const float* a, int64_t lda, const float* w,
                                                  int64_t K, __m256 (&c0)[R], __m256 (&c1)[R]) {
  #pragma GCC unroll 4
  for (int64_t k = 0; k < K; ++k) {
    const __m256 w0 = _mm256_load_ps(w + k * 16), w1 = _mm256_load_ps(w + k * 16 + 8);
    #pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r * lda + k);
      c0[r] = _mm256_fmadd_ps(ar, w0, c0[r]);
      c1[r] = _mm256_fmadd_ps(ar, w1, c1[r]);
    }
  }
}

// c[r][0..15] = row_r . panel for R rows (x's columns first, then a's).
template <int R>
inline void tile16(const TileRows& s, const float* panel, float* c, int64_t ldc) {
  __m256 c0[R], c1[R];
  #pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    c0[r] = _mm256_setzero_ps();
    c1[r] = _mm256_setzero_ps();
  }
  if (s.kx > 0) sweep16<R>(s.x, s.ldx, panel, s.kx, c0, c1);
  if (s.ka > 0) sweep16<R>(s.a, s.lda, panel + s.kx * 16, s.ka, c0, c1);
  #pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(c + r * ldc, c0[r]);
    _mm256_storeu_ps(c + r * ldc + 8, c1[r]);
  }
}

// Asks for the cache lines of p[0, n) to be brought to L2.
inline void prefetch_span(const float* p, int64_t n) {
  for (int64_t x = 0; x < n; x += 16) _mm_prefetch(reinterpret_cast<const char*>(p + x), _MM_HINT_T1);
  _mm_prefetch(reinterpret_cast<const char*>(p + n - 1), _MM_HINT_T1);
}

// Rows [0, m) of one 16-column panel in tiles of 6 (the last tile 1..5 rows), or on the
// AVX-512 tiles where enabled (the same sums in the same order: identical results).
inline void panel16(const TileRows& rows, const float* panel, float* c, int64_t ldc, int64_t m) {
  if (avx512_enabled()) {
    avx512::panel16(rows, panel, c, ldc, m);
    return;
  }
  int64_t b = 0;
  for (; b + 6 <= m; b += 6) tile16<6>(rows.from_row(b), panel, c + b * ldc, ldc);
  const TileRows rest = rows.from_row(b);
  c += b * ldc;
  switch (m - b) {
    case 5: tile16<5>(rest, panel, c, ldc); break;
    case 4: tile16<4>(rest, panel, c, ldc); break;
    case 3: tile16<3>(rest, panel, c, ldc); break;
    case 2: tile16<2>(rest, panel, c, ldc); break;
    case 1: tile16<1>(rest, panel, c, ldc); break;
    default: break;
  }
}

// Only the a part (no x columns): the backward's dh W_hh and packed_gemm.
inline TileRows plain_rows(const float* a, int64_t lda, int64_t K) {
  TileRows r;
  r.a = a;
  r.lda = lda;
  r.ka = K;
  return r;
}

// The AVX2 GRU epilogue of group ug on kEpiloguePairs (row, block) pairs at a time (a row's
// two blocks). One pair at a time left the vector units waiting on each pair's chain of
// sigmoid -> n -> tanh; two at a time, one Zen 3 core: GRU inference H = 128/256 B = 16/64
// 1.03-1.11x (medians of three runs), training 0.98-1.10x (LSTM: lstm_group_epilogue).
// False (nothing done) where the group has a block past the last or the pairs do not divide
// evenly; the one-pair loop takes those.
constexpr int kEpiloguePairs = 2;

bool gru_group_epilogue(const PackedGates& p, const StepArgs& s, int64_t ug, const float* scratch,
                        int64_t ldsc) {
  constexpr int N = kEpiloguePairs;
  const int64_t GB = p.group_blocks, units = GB * p.units, GC = group_cols(p);
  if ((ug + 1) * GB > p.blocks || (s.rows * GB) % N != 0) return false;
  const bool gru_x = p.kx > 0;
  for (int64_t i = 0; i < s.rows * GB; i += N) {
    int64_t b[N], jb[N];
    __m256 acc[N][3], acc_xn[N];
    for (int q = 0; q < N; ++q) {
      b[q] = (i + q) / GB;
      const int64_t l = (i + q) % GB;
      jb[q] = ug * GB + l;
      const float* row = scratch + b[q] * ldsc;
      for (int g = 0; g < 3; ++g) acc[q][g] = _mm256_loadu_ps(row + g * units + l * 8);
      acc_xn[q] = gru_x ? _mm256_loadu_ps(row + GC + l * 8) : _mm256_setzero_ps();
    }
    gru_epilogue_n<N>(p, s, b, jb, acc, acc_xn);
  }
  return true;
}

// The AVX2 LSTM epilogue of group ug, its two blocks together (lstm_epilogue_n). One block
// at a time left the vector units waiting on each block's sigmoid -> cell -> tanh chain. One
// Zen 3 core, interleaved medians of 7-9 runs: H = 128 B = 16/64 1.05-1.23x, H = 256
// 1.06-1.13x (inference and training), H = 512 0.98-1.02x (the products dominate there);
// three sigmoids at a time (no spills) gained about half as much. False (nothing done) where
// the group has a block past the last.
bool lstm_group_epilogue(const PackedGates& p, const StepArgs& s, int64_t ug, const float* scratch,
                         int64_t ldsc) {
  constexpr int GB = 2;  // blocks a group (pack_gate_panels)
  const int64_t units = GB * 8;
  if (p.group_blocks != GB || (ug + 1) * GB > p.blocks) return false;
  for (int64_t b = 0; b < s.rows; ++b) {
    const float* row = scratch + b * ldsc;
    const int64_t rows[GB] = {b, b}, jb[GB] = {ug * GB, ug * GB + 1};
    __m256 acc[GB][4];
    for (int l = 0; l < GB; ++l) {
      for (int g = 0; g < 4; ++g) acc[l][g] = _mm256_loadu_ps(row + g * units + l * 8);
    }
    lstm_epilogue_n<GB>(p, s, rows, jb, acc);
  }
  return true;
}

}  // namespace

void panel_step(const PackedGates& p, const StepArgs& s, int64_t group_begin, int64_t group_end,
                float* scratch) {
  const int64_t K = p.k(), GC = group_cols(p), H = p.hidden;
  const int64_t G = gate_count(p.cell);
  const int64_t group_units = p.group_blocks * p.units;
  const int64_t ldsc = panel_scratch_cols(p);
  // GRU with the input in the panels: the n gate's x and h parts are summed apart (r
  // multiplies only the h part); the x part goes to the scratch columns after the group's.
  const bool gru_x = p.cell == Cell::GRU && p.kx > 0;
  TileRows rows;
  rows.x = s.x;
  rows.ldx = s.ldx;
  rows.kx = p.kx;
  rows.a = s.a;
  rows.lda = s.lda;
  rows.ka = p.kh;
  const __m256 zero = _mm256_setzero_ps();
  // AVX-512: a group's panels side by side (GRU with the input in the panels: all three over
  // the x rows, then over the h rows), one broadcast feeding up to 4 FMAs, and the zmm epilogue.
  const bool wide = avx512_enabled();
  const int64_t wide_count = GC / 16;
  const int64_t chunk = wide ? avx512::panels_tile_rows(wide_count, s.rows) : 6;
  // Where this thread's groups are larger than L2, each group's row chunks bring the next
  // group's weights into L2 while they run (AVX-512), a share each.
  const int64_t group_floats = K * GC;
  const bool stream =
      wide && (group_end - group_begin) * group_floats * int64_t{4} > l2_cache_bytes();
  const int64_t chunks = (s.rows + chunk - 1) / chunk;
  const int64_t share = ((group_floats / 16 + chunks - 1) / chunks) * 16;
  // Otherwise the next step's first reads (s.prefetch), shared out over every group's chunks.
  const int64_t calls = (group_end - group_begin) * chunks;
  const int64_t ahead_share = stream || s.prefetch == nullptr || calls <= 0
                                  ? 0
                                  : ((s.prefetch_floats / 16 + calls - 1) / calls) * 16;
  auto group_of = [&](int64_t i) { return s.last_first ? group_end - 1 - (i - group_begin) : i; };
  for (int64_t i = group_begin; i < group_end; ++i) {
    const int64_t ug = group_of(i);
    const float* group = p.w.data() + ug * group_floats;
    const float* next =
        stream && i + 1 < group_end ? p.w.data() + group_of(i + 1) * group_floats : nullptr;
    auto product = [&](int64_t q, int64_t b, int64_t m) {
      const float* panel = group + q * K * 16;
      float* c = scratch + b * ldsc;
      if (gru_x && q == 2) {
        TileRows x_part = rows.from_row(b), h_part = rows.from_row(b);
        x_part.ka = 0;
        h_part.kx = 0;
        panel16(x_part, panel, c + GC, ldsc, m);
        panel16(h_part, panel + p.kx * 16, c + q * 16, ldsc, m);
      } else {
        panel16(rows.from_row(b), panel, c + q * 16, ldsc, m);
      }
    };
    // The epilogue reads gi and writes y at rows B apart: left to demand misses these
    // stall it (hundreds of streams, no hardware prefetch). The first panel's sweep asks for
    // the lines of its rows, and the other panels' time hides the latency.
    const int64_t j0 = ug * group_units;
    const int64_t nu = imin(group_units, H - j0);
    for (int64_t b = 0; b < s.rows; b += chunk) {
      const int64_t m = imin(chunk, s.rows - b);
      for (int64_t r = b; r < b + m; ++r) {
        if (s.gi) {
          for (int64_t g = 0; g < G; ++g) prefetch_span(s.gi + r * s.ldgi + g * H + j0, nu);
        }
        if (s.y) prefetch_span(s.y + r * s.ldy + j0, nu);
        if (s.gates) {
          for (int64_t g = 0; g < G; ++g) prefetch_span(s.gates + r * G * H + g * H + j0, nu);
        }
      }
      avx512::PanelOptions whole_step;
      whole_step.plan_rows = s.rows;
      const int64_t done = (b / chunk) * share;
      if (next != nullptr && done < group_floats) {
        whole_step.prefetch = next + done;
        whole_step.prefetch_floats = imin(share, group_floats - done);
      }
      const int64_t ahead = ((i - group_begin) * chunks + b / chunk) * ahead_share;
      if (ahead_share > 0 && ahead < s.prefetch_floats) {
        whole_step.prefetch = s.prefetch + ahead;
        whole_step.prefetch_floats = imin(ahead_share, s.prefetch_floats - ahead);
      }
      if (wide && gru_x) {
        avx512::gru_split_panels(rows.from_row(b), group, K * 16, scratch + b * ldsc, ldsc, m,
                                 whole_step);
      } else if (wide) {
        avx512::panels(rows.from_row(b), group, K * 16, wide_count, scratch + b * ldsc, ldsc, m, whole_step);
      } else {
        product(0, b, m);
      }
    }
    for (int64_t q = wide ? wide_count : 1; q < GC / 16; ++q) product(q, 0, s.rows);
    // Columns are gate-major within the group (gate g of its unit u at g * group_units + u);
    // the AVX2 epilogues take one block of 8 units at a time, the AVX-512 one 16.
    if (wide) {
      avx512::group_epilogue(p, s, ug, scratch, ldsc);
      continue;
    }
    if (p.cell == Cell::GRU && gru_group_epilogue(p, s, ug, scratch, ldsc)) continue;
    if (p.cell == Cell::LSTM && lstm_group_epilogue(p, s, ug, scratch, ldsc)) continue;
    for (int64_t b = 0; b < s.rows; ++b) {
      const float* row = scratch + b * ldsc;
      for (int64_t l = 0; l < p.group_blocks; ++l) {
        const int64_t jb = ug * p.group_blocks + l;
        if (jb >= p.blocks) break;
        __m256 acc[4];
        if (p.cell == Cell::LSTM) {
          for (int g = 0; g < 4; ++g) acc[g] = _mm256_loadu_ps(row + g * group_units + l * 8);
          lstm_epilogue(p, s, b, jb, acc);
        } else if (p.cell == Cell::GRU) {
          for (int g = 0; g < 3; ++g) acc[g] = _mm256_loadu_ps(row + g * group_units + l * 8);
          gru_epilogue(p, s, b, jb, acc, gru_x ? _mm256_loadu_ps(row + GC + l * 8) : zero);
        } else {
          for (int v = 0; v < 4; ++v) acc[v] = _mm256_loadu_ps(row + l * 32 + v * 8);
          rnn_epilogue(p, s, b, jb, acc);
        }
      }
    }
  }
}

void fused_step(const PackedGates& p, const StepArgs& s, int64_t block_begin, int64_t block_end) {
  // 16-unit blocks exist only where AVX-512 was on when packing; RNN's 32-unit blocks fit both.
  if (p.units == 16 || (gate_count(p.cell) == 1 && p.hidden >= kWideMinHidden && avx512_enabled())) {
    avx512::wide_step(p, s, block_begin, block_end);
    return;
  }
  if (p.vecs == 3) {
    step_blocks<3, 4>(p, s, block_begin, block_end);
  } else {
    step_blocks<4, 3>(p, s, block_begin, block_end);
  }
}

void fused_epilogue(const PackedGates& p, const float* pre, int64_t ldpre, int64_t gate_stride,
                    int64_t unit0, const StepArgs& s, int64_t block_begin, int64_t block_end) {
  const int64_t H = p.hidden;
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t b = 0; b < s.rows; ++b) {
    const float* row = pre + b * ldpre - unit0;
    for (int64_t jb = block_begin; jb < block_end; ++jb) {
      __m256 acc[4];
      if (p.vecs == 4 && p.cell != Cell::LSTM) {  // RNN: 4 vectors of 8 units, one gate
        for (int v = 0; v < 4; ++v) {
          const int64_t j = jb * 32 + v * 8;
          acc[v] = j < H ? load_n(row + j, imin(8, H - j)) : zero;
        }
        rnn_epilogue(p, s, b, jb, acc);
        continue;
      }
      const int64_t j = jb * 8, n = imin(8, H - j);
      for (int g = 0; g < p.vecs; ++g) acc[g] = load_n(row + g * gate_stride + j, n);
      if (p.cell == Cell::LSTM) {
        lstm_epilogue(p, s, b, jb, acc);
      } else {
        gru_epilogue(p, s, b, jb, acc, zero);
      }
    }
  }
}

namespace {

// packed_gemm's panel-width (16) products for A's rows as TileRows (one part or two).
void panel_gemm(const PackedMatrix& p, int64_t m, const TileRows& rows, float* c, int64_t ldc,
                int64_t block_begin, int64_t block_end, bool accumulate, bool last_first) {
  if (avx512_enabled()) {
    avx512::PanelOptions o;
    o.accumulate = accumulate;
    o.last_cols = block_end == p.blocks ? p.n - (p.blocks - 1) * 16 : 16;
    o.last_first = last_first;
    o.stream = (block_end - block_begin) * p.k * 16 * int64_t{4} > l2_cache_bytes();
    avx512::panels(rows, p.w.data() + block_begin * p.k * 16, p.k * 16, block_end - block_begin,
                   c + block_begin * 16, ldc, m, o);
    return;
  }
  alignas(32) float tail[6 * 16];
  for (int64_t i = block_begin; i < block_end; ++i) {
    const int64_t nb = last_first ? block_end - 1 - (i - block_begin) : i;
    const float* panel = p.w.data() + nb * p.k * 16;
    const int64_t j = nb * 16, n = imin(16, p.n - j);
    if (n == 16 && !accumulate) {
      panel16(rows, panel, c + j, ldc, m);
      continue;
    }
    for (int64_t b = 0; b < m; b += 6) {
      const int64_t r6 = imin(6, m - b);
      panel16(rows.from_row(b), panel, tail, 16, r6);
      for (int64_t r = 0; r < r6; ++r) {
        float* out = c + (b + r) * ldc + j;
        for (int64_t x = 0; x < n; ++x)
          out[x] = accumulate ? out[x] + tail[r * 16 + x] : tail[r * 16 + x];
      }
    }
  }
}

}  // namespace

void packed_gemm(const PackedMatrix& p, int64_t m, const float* a, int64_t lda, float* c,
                 int64_t ldc, int64_t block_begin, int64_t block_end, bool accumulate,
                 bool last_first) {
  if (block_begin >= block_end) return;
  if (p.width == 16) {
    panel_gemm(p, m, plain_rows(a, lda, p.k), c, ldc, block_begin, block_end, accumulate,
               last_first);
    return;
  }
  for (int64_t i = block_begin; i < block_end; ++i) {
    const int64_t nb = last_first ? block_end - 1 - (i - block_begin) : i;
    int64_t b = 0;
    for (; b + 3 <= m; b += 3) gemm_tile<3>(p, a, lda, c, ldc, b, nb, accumulate);
    if (m - b == 2) gemm_tile<2>(p, a, lda, c, ldc, b, nb, accumulate);
    if (m - b == 1) gemm_tile<1>(p, a, lda, c, ldc, b, nb, accumulate);
  }
}

void packed_gemm_two_part(const PackedMatrix& p, int64_t m, const float* x, int64_t ldx, int64_t kx,
                          const float* a, int64_t lda, float* c, int64_t ldc, int64_t block_begin,
                          int64_t block_end, bool last_first) {
  if (block_begin >= block_end) return;
  TileRows rows;
  rows.x = x;
  rows.ldx = ldx;
  rows.kx = kx;
  rows.a = a;
  rows.lda = lda;
  rows.ka = p.k - kx;
  panel_gemm(p, m, rows, c, ldc, block_begin, block_end, false, last_first);
}

void pointwise_backward(const PointwiseBackwardArgs& a, int64_t row_begin, int64_t row_end) {
  const int64_t H = a.hidden;
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  const int64_t G = gate_count(a.cell);
  const int64_t GH = G * H;
  for (int64_t b = row_begin; b < row_end; ++b) {
    float* di = a.dgi + b * GH;
    float* dh_ = a.dgh ? a.dgh + b * GH : nullptr;
    if (a.active && !a.active[b]) {
      for (int64_t j = 0; j < GH; ++j) {
        di[j] = 0.0f;
        if (dh_) dh_[j] = 0.0f;
      }
      if (a.cell == Cell::LSTM) {
        for (int64_t j = 0; j < H; ++j) a.dc_prev[b * H + j] = a.dc[b * H + j];
      }
      if (a.dgh_n) std::fill(a.dgh_n + b * H, a.dgh_n + (b + 1) * H, 0.0f);
      continue;
    }
    const float* gt = a.gates + b * GH;
    for (int64_t j = 0; j < H; j += 8) {
      const int64_t n = imin(8, H - j);
      const __m256 d = load_n(a.dh + b * H + j, n);
      switch (a.cell) {
        case Cell::LSTM: {
          const __m256 i = load_n(gt + j, n), f = load_n(gt + H + j, n),
                       g = load_n(gt + 2 * H + j, n), o = load_n(gt + 3 * H + j, n);
          const __m256 tc = v_tanh(load_n(a.c_new + b * H + j, n));
          const __m256 dct = _mm256_add_ps(
              load_n(a.dc + b * H + j, n),
              _mm256_mul_ps(_mm256_mul_ps(d, o), _mm256_fnmadd_ps(tc, tc, one)));
          const __m256 d_i = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dct, g), i), _mm256_sub_ps(one, i));
          const __m256 d_f = _mm256_mul_ps(
              _mm256_mul_ps(_mm256_mul_ps(dct, load_n(a.c_prev + b * H + j, n)), f),
              _mm256_sub_ps(one, f));
          const __m256 d_g = _mm256_mul_ps(_mm256_mul_ps(dct, i), _mm256_fnmadd_ps(g, g, one));
          const __m256 d_o = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(d, tc), o), _mm256_sub_ps(one, o));
          store_n(a.dc_prev + b * H + j, _mm256_mul_ps(dct, f), n);
          store_n(di + j, d_i, n);
          store_n(di + H + j, d_f, n);
          store_n(di + 2 * H + j, d_g, n);
          store_n(di + 3 * H + j, d_o, n);
          if (dh_ && dh_ != di) {
            store_n(dh_ + j, d_i, n);
            store_n(dh_ + H + j, d_f, n);
            store_n(dh_ + 2 * H + j, d_g, n);
            store_n(dh_ + 3 * H + j, d_o, n);
          }
          break;
        }
        case Cell::GRU: {
          const __m256 r = load_n(gt + j, n), z = load_n(gt + H + j, n),
                       nn = load_n(gt + 2 * H + j, n), hn = load_n(a.hn + b * H + j, n);
          const __m256 dz = _mm256_mul_ps(d, _mm256_sub_ps(load_n(a.h_prev + b * H + j, n), nn));
          const __m256 dan = _mm256_mul_ps(_mm256_mul_ps(d, _mm256_sub_ps(one, z)),
                                           _mm256_fnmadd_ps(nn, nn, one));
          const __m256 dar = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dan, hn), r), _mm256_sub_ps(one, r));
          const __m256 daz = _mm256_mul_ps(_mm256_mul_ps(dz, z), _mm256_sub_ps(one, z));
          store_n(di + j, dar, n);
          store_n(di + H + j, daz, n);
          store_n(di + 2 * H + j, dan, n);
          const __m256 dhn = _mm256_mul_ps(dan, r);
          if (dh_) {
            store_n(dh_ + j, dar, n);
            store_n(dh_ + H + j, daz, n);
            store_n(dh_ + 2 * H + j, dhn, n);
          }
          if (a.dgh_n) store_n(a.dgh_n + b * H + j, dhn, n);
          break;
        }
        case Cell::RNN_TANH:
        case Cell::RNN_RELU: {
          const __m256 h = load_n(gt + j, n);
          const __m256 slope = a.cell == Cell::RNN_RELU
                                   ? _mm256_and_ps(_mm256_cmp_ps(h, zero, _CMP_GT_OQ), one)
                                   : _mm256_fnmadd_ps(h, h, one);
          const __m256 dg = _mm256_mul_ps(d, slope);
          store_n(di + j, dg, n);
          if (dh_ && dh_ != di) store_n(dh_ + j, dg, n);
          break;
        }
      }
    }
  }
}

void add_column_sums(int64_t rows, int64_t cols, const float* a, int64_t lda, float* sum) {
  // Chunks of rows (in L1/L2 while every column block passes over them), each column block's
  // sums held in 8 registers through a chunk: the adds of the plain loop, in its row order.
  constexpr int64_t kChunk = 32, kBlock = 64;
  for (int64_t r0 = 0; r0 < rows; r0 += kChunk) {
    const int64_t r1 = std::min(rows, r0 + kChunk);
    for (int64_t j0 = 0; j0 < cols; j0 += kBlock) {
      const int64_t width = std::min(kBlock, cols - j0);
      const int64_t vecs = (width + 7) / 8;
      __m256 acc[8];
      for (int64_t v = 0; v < vecs; ++v) acc[v] = load_n(sum + j0 + v * 8, imin(8, width - v * 8));
      if (width == kBlock) {
        for (int64_t r = r0; r < r1; ++r) {
          const float* row = a + r * lda + j0;
          #pragma GCC unroll 8
          for (int v = 0; v < 8; ++v) acc[v] = _mm256_add_ps(acc[v], _mm256_loadu_ps(row + v * 8));
        }
      } else {
        for (int64_t r = r0; r < r1; ++r) {
          const float* row = a + r * lda + j0;
          for (int64_t v = 0; v < vecs; ++v) {
            acc[v] = _mm256_add_ps(acc[v], load_n(row + v * 8, imin(8, width - v * 8)));
          }
        }
      }
      for (int64_t v = 0; v < vecs; ++v) store_n(sum + j0 + v * 8, acc[v], imin(8, width - v * 8));
    }
  }
}

void exp_n(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t m = imin(8, n - i);
    store_n(y + i, v_exp(load_n(x + i, m)), m);
  }
}
void sigmoid_n(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t m = imin(8, n - i);
    store_n(y + i, v_sigmoid(load_n(x + i, m)), m);
  }
}
void tanh_n(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t m = imin(8, n - i);
    store_n(y + i, v_tanh(load_n(x + i, m)), m);
  }
}

void copy_flush_denormals(const float* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t m = imin(8, n - i);
    store_n(dst + i, flush_denormal_lanes(load_n(src + i, m)), m);
  }
}

}  // namespace rnn::kernels::fast

#pragma GCC pop_options
