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

  // Fast path (float, AVX2): per layer two buffers of rows [x | h] used in turn. A step
  // reads [x_t | h_{t-1}] from one; its epilogue writes h_t to `out` and, as its "y", into
  // the other buffer's h columns, where the next step reads it: no state is copied between
  // steps, and each step's arguments are set once, at construction.
  struct FastLayer {
    int64_t in = 0;  // the layer's input size
    fast::PackedGates packed;
    fast::AlignedBuffer concat[2];  // [B, in + H] each
    fast::AlignedBuffer cell;       // [B, H] LSTM: c, updated in place
    fast::AlignedBuffer out;        // [B, H]: h_t (the next layer's x, or the output)
    fast::StepArgs args[2];         // args[p] reads concat[p], writes concat[1 - p]
  };
  std::vector<FastLayer> fast_layers;
  int current = 0;  // the buffer that holds h_{t-1}

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
        fast::PackedGates& p = fast_layers[static_cast<size_t>(l)].packed;
        fast::pack_gates(p, to_cell(module->config().mode), H, in(l), w.w_ih, w.b_ih, H, w.w_hh,
                         w.b_hh, fast::avx512_enabled());
        for (fast::AlignedBuffer* b : {&p.w, &p.bias, &p.bias_xn})
          flush_denormals(b->data(), b->size());
      }
    }
  }

  void allocate_fast() {
    fast_layers.resize(static_cast<size_t>(L));
    for (int64_t l = 0; l < L; ++l) {
      FastLayer& f = fast_layers[static_cast<size_t>(l)];
      f.in = in(l);
      const int64_t K = f.in + H;
      for (auto& buffer : f.concat) buffer.resize(static_cast<size_t>(B * K));
      f.cell.resize(static_cast<size_t>(B * H));
      f.out.resize(static_cast<size_t>(B * H));
      for (int p = 0; p < 2; ++p) {
        fast::StepArgs& s = f.args[p];
        s.rows = B;
        s.a = f.concat[p].data();
        s.lda = K;
        s.h_prev = f.concat[p].data() + f.in;
        s.ldh = K;
        float* cl = lstm ? f.cell.data() : nullptr;
        s.c_prev = cl;
        s.c_new = cl;  // elementwise in place: each unit reads its own c before writing it
        s.h_new = f.out.data();
        s.y = f.concat[1 - p].data() + f.in;
        s.ldy = K;
        // Every other step visits the blocks last to first: the weights read last by one step
        // are read first by the next, while still in L1 (H = 32: 32 KiB) or L2. One Zen 3
        // core, interleaved, best of 15 runs: LSTM H = 32-256 1.05-1.15x, GRU H = 64-256
        // 1.04-1.08x (one or two blocks: no change beyond the runs' spread). Each block's
        // outputs are computed by the same operations in either order.
        s.last_first = p == 1;
        s.flush_denormals = true;  // see step_fast
      }
    }
  }

  // Row b's h columns in the buffer that holds the current state.
  int64_t state_offset(int64_t layer, int64_t b) const {
    return b * (fast_layers[static_cast<size_t>(layer)].in + H) +
           fast_layers[static_cast<size_t>(layer)].in;
  }
  float* state_h(int64_t layer, int64_t b) {
    return fast_layers[static_cast<size_t>(layer)].concat[current].data() + state_offset(layer, b);
  }
  const float* state_h(int64_t layer, int64_t b) const {
    return fast_layers[static_cast<size_t>(layer)].concat[current].data() + state_offset(layer, b);
  }

  static void flush_denormals(float* p, size_t n) {
    fast::copy_flush_denormals(p, p, static_cast<int64_t>(n));
  }

  // Denormals are kept out of what a step reads (the packed weights, x, h and c) rather
  // than flushed by FTZ/DAZ: reading the MXCSR (to restore it after) waits for every
  // floating-point operation in flight, whose exception flags it holds, so no step could
  // start before the previous one had finished. On one Zen 3 core H = 8 steps ran 1.04-1.24x
  // faster without it, and 1.45-1.87x with the other vCPU busy. Denormals can then arise only
  // inside a step, from an underflowing product, and never persist in the state (as a
  // decaying state would on silent input): the step's epilogue stores h and c flushed
  // (StepArgs::flush_denormals). Passes of their own over h and c after the step put a
  // store, a reload and three calls on the path from one step's h to the next's; one Zen 3
  // core, interleaved, best of 15 runs, against those passes: LSTM H = 8/16 1.04/1.13x, GRU
  // 1.06/1.02x, RNN 1.22/1.31x, 0.98-1.06x from H = 32 on.
  const T* step_fast(const T* x) {
    if constexpr (std::is_same_v<T, float>) {
      const float* layer_x = x;
      int64_t layer_in_size = I;
      for (FastLayer& f : fast_layers) {
        const int64_t K = f.in + H;
        float* cat = f.concat[current].data();
        for (int64_t b = 0; b < B; ++b) {
          fast::copy_flush_denormals(layer_x + b * layer_in_size, cat + b * K, layer_in_size);
        }
        fast::fused_step(f.packed, f.args[current], 0, f.packed.blocks);
        layer_x = f.out.data();
        layer_in_size = H;
      }
      current = 1 - current;
      return fast_layers.back().out.data();
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
    m.allocate_fast();
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
    for (auto& f : m.fast_layers) {
      for (auto& buffer : f.concat) std::fill(buffer.data(), buffer.data() + buffer.size(), 0.0f);
      std::fill(f.cell.data(), f.cell.data() + f.cell.size(), 0.0f);
    }
    m.current = 0;
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
        for (int64_t b = 0; b < m.B; ++b) {
          fast::copy_flush_denormals(state.h.data() + (l * m.B + b) * m.H, m.state_h(l, b), m.H);
        }
        if (m.lstm) {
          fast::copy_flush_denormals(state.c.data() + l * m.B * m.H,
                                     m.fast_layers[static_cast<size_t>(l)].cell.data(), m.B * m.H);
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
        for (int64_t b = 0; b < m.B; ++b) {
          const float* h = m.state_h(l, b);
          std::copy(h, h + m.H, s.h.data() + (l * m.B + b) * m.H);
        }
        if (m.lstm) {
          const float* cl = m.fast_layers[static_cast<size_t>(l)].cell.data();
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
