#include "recurrent_cell.h"

#include <algorithm>
#include <cmath>

#include "rnn/kernels/gemm.h"

namespace rnn::detail {

namespace {

template <class T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// rows[b, :] += bias for every row b of a [B, N] matrix.
template <class T>
void add_row_bias(int64_t rows, int64_t n, const T* bias, T* m) {
  if (!bias) return;
  for (int64_t b = 0; b < rows; ++b) {
    for (int64_t j = 0; j < n; ++j) m[b * n + j] += bias[j];
  }
}

}  // namespace

template <class T>
void cell_forward(const CellShape& s, const CellWeights<T>& w, const T* gi, const T* h_prev,
                  const T* c_prev, T* work, const CellStepCache<T>& cache, T* h_new, T* c_new) {
  const int64_t B = s.batch, H = s.hidden, GH = s.gates() * H;
  // work = h W_hh^T + b_hh
  kernels::matmul_nt<T>(B, GH, s.out, h_prev, w.w_hh, work, false);
  add_row_bias(B, GH, w.b_hh, work);

  switch (s.mode) {
    case CellMode::LSTM: {
      // i,f,o = sigmoid, g = tanh; c' = f*c + i*g; h' = o*tanh(c') (then W_hr if P > 0)
      T* h_out = s.projects ? cache.raw : h_new;
      for (int64_t b = 0; b < B; ++b) {
        const T* x = gi + b * GH;
        const T* r = work + b * GH;
        T* a = cache.gates + b * GH;
        for (int64_t j = 0; j < H; ++j) {
          const T i = sigmoid(x[j] + r[j]);
          const T f = sigmoid(x[H + j] + r[H + j]);
          const T g = std::tanh(x[2 * H + j] + r[2 * H + j]);
          const T o = sigmoid(x[3 * H + j] + r[3 * H + j]);
          a[j] = i;
          a[H + j] = f;
          a[2 * H + j] = g;
          a[3 * H + j] = o;
          const T c = f * c_prev[b * H + j] + i * g;
          c_new[b * H + j] = c;
          h_out[b * H + j] = o * std::tanh(c);
        }
      }
      if (s.projects) kernels::matmul_nt<T>(B, s.out, H, cache.raw, w.w_hr, h_new, false);
      break;
    }
    case CellMode::GRU: {
      // r = sig(gi_r + gh_r), z = sig(gi_z + gh_z), n = tanh(gi_n + r * gh_n),
      // h' = (1 - z) * n + z * h = (h - n) * z + n
      for (int64_t b = 0; b < B; ++b) {
        const T* x = gi + b * GH;
        const T* r_ = work + b * GH;
        T* a = cache.gates + b * GH;
        for (int64_t j = 0; j < H; ++j) {
          const T r = sigmoid(x[j] + r_[j]);
          const T z = sigmoid(x[H + j] + r_[H + j]);
          const T hn = r_[2 * H + j];
          const T n = std::tanh(x[2 * H + j] + r * hn);
          a[j] = r;
          a[H + j] = z;
          a[2 * H + j] = n;
          cache.hn[b * H + j] = hn;
          h_new[b * H + j] = (h_prev[b * H + j] - n) * z + n;
        }
      }
      break;
    }
    case CellMode::RNN_TANH:
    case CellMode::RNN_RELU: {
      // h' = act(gi + h W_hh^T + b_hh)
      const bool relu = s.mode == CellMode::RNN_RELU;
      for (int64_t k = 0; k < B * H; ++k) {
        const T pre = gi[k] + work[k];
        const T h = relu ? std::max(pre, T(0)) : std::tanh(pre);
        cache.gates[k] = h;
        h_new[k] = h;
      }
      break;
    }
  }
}

template <class T>
void cell_backward(const CellShape& s, const CellWeights<T>& w, const CellGrads<T>& g,
                   const unsigned char* active, const T* dh, const T* dc,
                   const CellStepCache<T>& cache, const T* h_prev, const T* c_prev,
                   const T* c_new, T* dgi, T* dh_prev, T* dc_prev, T* work_gh, T* work_h) {
  const int64_t B = s.batch, H = s.hidden, GH = s.gates() * H, Hout = s.out;
  // dgh: gradient wrt h W_hh^T + b_hh; the same as dgi except for GRU's n gate.
  T* dgh = dgi;

  switch (s.mode) {
    case CellMode::LSTM: {
      const T* dh_raw = dh;
      if (s.projects) {
        // h' = raw W_hr^T: dW_hr += dh^T raw (active rows), draw = dh W_hr.
        for (int64_t b = 0; b < B; ++b) {
          for (int64_t j = 0; j < Hout; ++j) dh_prev[b * Hout + j] = active[b] ? dh[b * Hout + j] : T(0);
        }
        kernels::matmul_tn<T>(Hout, H, B, dh_prev, cache.raw, g.w_hr, true);
        kernels::matmul_nn<T>(B, H, Hout, dh, w.w_hr, work_h, false);
        dh_raw = work_h;
      }
      for (int64_t b = 0; b < B; ++b) {
        T* d = dgi + b * GH;
        if (!active[b]) {
          std::fill(d, d + GH, T(0));
          std::copy(dc + b * H, dc + (b + 1) * H, dc_prev + b * H);
          continue;
        }
        const T* a = cache.gates + b * GH;
        for (int64_t j = 0; j < H; ++j) {
          const T i = a[j], f = a[H + j], gg = a[2 * H + j], o = a[3 * H + j];
          const T tc = std::tanh(c_new[b * H + j]);
          const T dhr = dh_raw[b * H + j];
          const T dct = dc[b * H + j] + dhr * o * (T(1) - tc * tc);
          d[j] = dct * gg * i * (T(1) - i);
          d[H + j] = dct * c_prev[b * H + j] * f * (T(1) - f);
          d[2 * H + j] = dct * i * (T(1) - gg * gg);
          d[3 * H + j] = dhr * tc * o * (T(1) - o);
          dc_prev[b * H + j] = dct * f;
        }
      }
      break;
    }
    case CellMode::GRU: {
      dgh = work_gh;
      for (int64_t b = 0; b < B; ++b) {
        T* di = dgi + b * GH;
        T* dr_ = dgh + b * GH;
        if (!active[b]) {
          std::fill(di, di + GH, T(0));
          std::fill(dr_, dr_ + GH, T(0));
          continue;
        }
        const T* a = cache.gates + b * GH;
        for (int64_t j = 0; j < H; ++j) {
          const T r = a[j], z = a[H + j], n = a[2 * H + j], hn = cache.hn[b * H + j];
          const T d = dh[b * H + j];
          const T dz = d * (h_prev[b * H + j] - n);
          const T dan = d * (T(1) - z) * (T(1) - n * n);
          const T dar = dan * hn * r * (T(1) - r);
          const T daz = dz * z * (T(1) - z);
          di[j] = dar;
          di[H + j] = daz;
          di[2 * H + j] = dan;
          dr_[j] = dar;
          dr_[H + j] = daz;
          dr_[2 * H + j] = dan * r;
        }
      }
      break;
    }
    case CellMode::RNN_TANH:
    case CellMode::RNN_RELU: {
      const bool relu = s.mode == CellMode::RNN_RELU;
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t j = 0; j < H; ++j) {
          const int64_t k = b * H + j;
          const T h = cache.gates[k];
          const T slope = relu ? (h > T(0) ? T(1) : T(0)) : T(1) - h * h;
          dgi[k] = active[b] ? dh[k] * slope : T(0);
        }
      }
      break;
    }
  }

  // dh_prev = dgh W_hh (+ z * dh for GRU); rows that did not run pass dh through.
  kernels::matmul_nn<T>(B, Hout, GH, dgh, w.w_hh, dh_prev, false);
  for (int64_t b = 0; b < B; ++b) {
    if (!active[b]) {
      std::copy(dh + b * Hout, dh + (b + 1) * Hout, dh_prev + b * Hout);
    } else if (s.mode == CellMode::GRU) {
      const T* a = cache.gates + b * GH;
      for (int64_t j = 0; j < H; ++j) dh_prev[b * H + j] += dh[b * H + j] * a[H + j];
    }
  }
  kernels::matmul_tn<T>(GH, Hout, B, dgh, h_prev, g.w_hh, true);
  add_column_sums(B, GH, dgh, g.b_hh);
}

template void cell_forward<float>(const CellShape&, const CellWeights<float>&, const float*,
                                  const float*, const float*, float*,
                                  const CellStepCache<float>&, float*, float*);
template void cell_forward<double>(const CellShape&, const CellWeights<double>&, const double*,
                                   const double*, const double*, double*,
                                   const CellStepCache<double>&, double*, double*);
template void cell_backward<float>(const CellShape&, const CellWeights<float>&,
                                   const CellGrads<float>&, const unsigned char*, const float*,
                                   const float*, const CellStepCache<float>&, const float*,
                                   const float*, const float*, float*, float*, float*, float*,
                                   float*);
template void cell_backward<double>(const CellShape&, const CellWeights<double>&,
                                    const CellGrads<double>&, const unsigned char*,
                                    const double*, const double*, const CellStepCache<double>&,
                                    const double*, const double*, const double*, double*,
                                    double*, double*, double*, double*);

}  // namespace rnn::detail
