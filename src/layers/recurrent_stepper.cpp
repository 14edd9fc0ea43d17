// RecurrentStepper: the streaming single-step path (see recurrent.h).
#include <algorithm>
#include <type_traits>
#include <vector>

#include "recurrent_cell.h"
#include "recurrent_fast.h"
#include "rnn/kernels/fast_recurrent.h"
#include "rnn/kernels/gemm.h"
#include "rnn/layers/recurrent.h"

namespace rnn {

namespace fast = kernels::fast;

template <class T>
struct RecurrentStepper<T>::Impl {
  const Recurrent<T>* module = nullptr;
  int64_t B = 0, I = 0, H = 0, Hout = 0, L = 0, G = 0;
  bool lstm = false;
  bool use_fast = false;

  // Fast path (float, AVX2): per layer [B, in_l + H] rows of [x | h], packed weights.
  std::vector<fast::PackedGates> packed;
  std::vector<fast::AlignedBuffer> concat;  // [L] [B, in_l + H]
  std::vector<fast::AlignedBuffer> cell;    // [L] [B, H]
  fast::AlignedBuffer h_new;                // [B, H]
  fast::AlignedBuffer out;                  // [B, Hout]

  // Plain path: state and scratch of the reference cell.
  std::vector<T> h, c;                       // [L, B, Hout], [L, B, H]
  std::vector<T> gi, work, gates, hn, raw, hnew, cnew, layer_in;

  int64_t in(int64_t layer) const { return module->config().layer_input_size(layer); }

  detail::CellWeights<T> weights(int64_t layer) const {
    const auto& p = module->params(layer, 0);
    const Parameters<T>& store = *module->store_;
    auto ptr = [&](ParamId id) -> const T* { return id.valid() ? store.value(id) : nullptr; };
    return {ptr(p.w_ih), ptr(p.w_hh), ptr(p.b_ih), ptr(p.b_hh), ptr(p.w_hr)};
  }

  static fast::Cell to_cell(CellMode m) {
    switch (m) {
      case CellMode::LSTM: return fast::Cell::LSTM;
      case CellMode::GRU: return fast::Cell::GRU;
      case CellMode::RNN_TANH: return fast::Cell::RNN_TANH;
      case CellMode::RNN_RELU: return fast::Cell::RNN_RELU;
    }
    return fast::Cell::LSTM;
  }

  void pack() {
    if (!use_fast) return;
    if constexpr (std::is_same_v<T, float>) {
      for (int64_t l = 0; l < L; ++l) {
        const auto w = weights(l);
        fast::pack_gates(packed[static_cast<size_t>(l)], to_cell(module->config().mode), H, in(l),
                         w.w_ih, w.b_ih, H, w.w_hh, w.b_hh, fast::avx512_enabled());
      }
    }
  }

  const T* step_fast(const T* x) {
    if constexpr (std::is_same_v<T, float>) {
      fast::ScopedFlushDenormals ftz;
      const float* layer_x = x;
      int64_t layer_in_size = I;
      for (int64_t l = 0; l < L; ++l) {
        const int64_t K = in(l) + H;
        float* cat = concat[static_cast<size_t>(l)].data();
        for (int64_t b = 0; b < B; ++b) {
          std::copy(layer_x + b * layer_in_size, layer_x + (b + 1) * layer_in_size, cat + b * K);
        }
        fast::StepArgs s;
        s.rows = B;
        s.a = cat;
        s.lda = K;
        s.h_prev = cat + in(l);
        s.ldh = K;
        float* cl = lstm ? cell[static_cast<size_t>(l)].data() : nullptr;
        s.c_prev = cl;
        s.c_new = cl;  // elementwise in place: each unit reads its own c before writing it
        s.h_new = h_new.data();
        const fast::PackedGates& p = packed[static_cast<size_t>(l)];
        fast::fused_step(p, s, 0, p.blocks);
        for (int64_t b = 0; b < B; ++b) {
          std::copy(h_new.data() + b * H, h_new.data() + (b + 1) * H, cat + b * K + in(l));
        }
        layer_x = h_new.data();
        layer_in_size = H;
      }
      std::copy(h_new.data(), h_new.data() + B * H, out.data());
      return out.data();
    } else {
      return x;
    }
  }

  const T* step_plain(const T* x) {
    const RecurrentConfig& cfg = module->config();
    const detail::CellShape shape{cfg.mode, B, H, Hout, cfg.proj_size > 0};
    const T* layer_x = x;
    for (int64_t l = 0; l < L; ++l) {
      const auto w = weights(l);
      const int64_t GH = G * H;
      kernels::matmul_nt<T>(B, GH, in(l), layer_x, w.w_ih, gi.data(), false);
      if (w.b_ih) {
        for (int64_t b = 0; b < B; ++b)
          for (int64_t j = 0; j < GH; ++j) gi[static_cast<size_t>(b * GH + j)] += w.b_ih[j];
      }
      T* hl = h.data() + l * B * Hout;
      T* cl = lstm ? c.data() + l * B * H : nullptr;
      detail::cell_forward(shape, w, gi.data(), hl, cl, work.data(),
                           detail::CellStepCache<T>{gates.data(), hn.data(), raw.data()},
                           hnew.data(), lstm ? cnew.data() : nullptr);
      std::copy(hnew.begin(), hnew.begin() + B * Hout, hl);
      if (lstm) std::copy(cnew.begin(), cnew.begin() + B * H, cl);
      layer_x = hl;
    }
    return h.data() + (L - 1) * B * Hout;
  }
};

template <class T>
RecurrentStepper<T>::RecurrentStepper(const Recurrent<T>& module, int64_t batch)
    : impl_(std::make_unique<Impl>()) {
  const RecurrentConfig& cfg = module.config();
  const std::string name = to_string(cfg.mode);
  check(!cfg.bidirectional, name, ": RecurrentStepper needs a unidirectional module");
  check(batch > 0, name, ": RecurrentStepper batch must be positive, got ", batch);
  Impl& m = *impl_;
  m.module = &module;
  m.B = batch;
  m.I = cfg.input_size;
  m.H = cfg.hidden_size;
  m.Hout = cfg.output_hidden();
  m.L = cfg.num_layers;
  m.G = cfg.gates();
  m.lstm = cfg.mode == CellMode::LSTM;
  m.use_fast = std::is_same_v<T, float> && detail::fast_path_usable(cfg);
  if (m.use_fast) {
    m.packed.resize(static_cast<size_t>(m.L));
    m.concat.resize(static_cast<size_t>(m.L));
    m.cell.resize(static_cast<size_t>(m.L));
    for (int64_t l = 0; l < m.L; ++l) {
      m.concat[static_cast<size_t>(l)].resize(static_cast<size_t>(m.B * (m.in(l) + m.H)));
      m.cell[static_cast<size_t>(l)].resize(static_cast<size_t>(m.B * m.H));
    }
    m.h_new.resize(static_cast<size_t>(m.B * m.H));
    m.out.resize(static_cast<size_t>(m.B * m.H));
  } else {
    const size_t BH = static_cast<size_t>(m.B * m.H), BGH = BH * static_cast<size_t>(m.G);
    m.h.assign(static_cast<size_t>(m.L * m.B * m.Hout), T(0));
    if (m.lstm) m.c.assign(static_cast<size_t>(m.L) * BH, T(0));
    m.gi.resize(BGH);
    m.work.resize(BGH);
    m.gates.resize(BGH);
    m.hn.resize(BH);
    m.raw.resize(BH);
    m.hnew.resize(static_cast<size_t>(m.B * m.Hout));
    m.cnew.resize(BH);
  }
  m.pack();
  reset();
}

template <class T>
RecurrentStepper<T>::~RecurrentStepper() = default;
template <class T>
RecurrentStepper<T>::RecurrentStepper(RecurrentStepper&&) noexcept = default;
template <class T>
RecurrentStepper<T>& RecurrentStepper<T>::operator=(RecurrentStepper&&) noexcept = default;

template <class T>
int64_t RecurrentStepper<T>::batch() const {
  return impl_->B;
}

template <class T>
void RecurrentStepper<T>::refresh() {
  impl_->pack();
}

template <class T>
void RecurrentStepper<T>::reset() {
  Impl& m = *impl_;
  if (m.use_fast) {
    for (auto& b : m.concat) std::fill(b.data(), b.data() + b.size(), 0.0f);
    for (auto& b : m.cell) std::fill(b.data(), b.data() + b.size(), 0.0f);
  } else {
    std::fill(m.h.begin(), m.h.end(), T(0));
    std::fill(m.c.begin(), m.c.end(), T(0));
  }
}

template <class T>
void RecurrentStepper<T>::set_state(const RecurrentState<T>& state) {
  Impl& m = *impl_;
  const std::string name = to_string(m.module->config().mode);
  check_shape(state.h, {m.L, m.B, m.Hout}, name + " stepper state h");
  if (m.lstm) check_shape(state.c, {m.L, m.B, m.H}, name + " stepper state c");
  if (m.use_fast) {
    if constexpr (std::is_same_v<T, float>) {
      for (int64_t l = 0; l < m.L; ++l) {
        const int64_t K = m.in(l) + m.H;
        float* cat = m.concat[static_cast<size_t>(l)].data();
        for (int64_t b = 0; b < m.B; ++b) {
          const float* src = state.h.data() + (l * m.B + b) * m.H;
          std::copy(src, src + m.H, cat + b * K + m.in(l));
        }
        if (m.lstm) {
          std::copy(state.c.data() + l * m.B * m.H, state.c.data() + (l + 1) * m.B * m.H,
                    m.cell[static_cast<size_t>(l)].data());
        }
      }
    }
  } else {
    std::copy(state.h.data(), state.h.data() + state.h.numel(), m.h.data());
    if (m.lstm) std::copy(state.c.data(), state.c.data() + state.c.numel(), m.c.data());
  }
}

template <class T>
RecurrentState<T> RecurrentStepper<T>::state() const {
  const Impl& m = *impl_;
  RecurrentState<T> s = m.module->initial_state(m.B);
  if (m.use_fast) {
    if constexpr (std::is_same_v<T, float>) {
      for (int64_t l = 0; l < m.L; ++l) {
        const int64_t K = m.in(l) + m.H;
        const float* cat = m.concat[static_cast<size_t>(l)].data();
        for (int64_t b = 0; b < m.B; ++b) {
          std::copy(cat + b * K + m.in(l), cat + b * K + K, s.h.data() + (l * m.B + b) * m.H);
        }
        if (m.lstm) {
          const float* cl = m.cell[static_cast<size_t>(l)].data();
          std::copy(cl, cl + m.B * m.H, s.c.data() + l * m.B * m.H);
        }
      }
    }
  } else {
    std::copy(m.h.begin(), m.h.end(), s.h.data());
    if (m.lstm) std::copy(m.c.begin(), m.c.end(), s.c.data());
  }
  return s;
}

template <class T>
std::span<const T> RecurrentStepper<T>::step(std::span<const T> x) {
  const Impl& m = *impl_;
  check(static_cast<int64_t>(x.size()) == m.B * m.I, to_string(m.module->config().mode),
        ": stepper input must hold B*I = ", m.B * m.I, " values, got ", x.size());
  return {step(x.data()), static_cast<size_t>(m.B * m.Hout)};
}

template <class T>
const T* RecurrentStepper<T>::step(const T* x) {
  return impl_->use_fast ? impl_->step_fast(x) : impl_->step_plain(x);
}

template class RecurrentStepper<float>;
template class RecurrentStepper<double>;

}  // namespace rnn
