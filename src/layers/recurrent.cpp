#include "rnn/layers/recurrent.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <type_traits>

#include "recurrent_cell.h"
#include "recurrent_fast.h"
#include "rnn/kernels/fast_recurrent.h"
#include "rnn/kernels/gemm.h"

namespace rnn {

// Activations of one direction of one layer, indexed by processing step s
// (s = t forward, s = T-1-t reverse).
template <class T>
struct DirectionCache {
  Tensor<T> states;  // [T+1, B, Hout]: state before step s at index s
  Tensor<T> cells;   // [T+1, B, H]   LSTM
  Tensor<T> gates;   // [T, B, G*H]
  Tensor<T> hn;      // [T, B, H]     GRU
  Tensor<T> raw;     // [T, B, H]     LSTM with projection
};

template <class T>
struct RecurrentCache {
  int64_t steps = 0;
  int64_t batch = 0;
  std::vector<int64_t> lengths;       // [B], all T when none were given
  std::vector<Tensor<T>> inputs;      // [L] layer inputs, time-major, after dropout
  std::vector<Tensor<T>> masks;       // [L] dropout masks (scaled), empty when unused
  std::vector<DirectionCache<T>> dirs;  // [L * D]
};

namespace {

// Recycles the activation buffers of training caches between calls. A training step
// allocates and frees tens of MiB of activations; fresh from the system they cost a page
// fault and a zero-fill per 4 KiB on every call (~15% of an LSTM training step at B = 64).
// Small ones too: below glibc's trim threshold they are still returned to the system when
// they sit at the top of the heap (a fifth of a training step at RNN H = 128, B = 16).
// A buffer taken from here keeps the stale values of its last use: the forward loops write
// every element of the buffers they take before anything reads them.
template <class T>
class ActivationPool {
 public:
  std::vector<T> take(size_t n) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      size_t best = free_.size();
      for (size_t i = 0; i < free_.size(); ++i) {
        const size_t cap = free_[i].capacity();
        if (cap >= n && cap <= 2 * n + 1024 && (best == free_.size() || cap < free_[best].capacity())) best = i;
      }
      if (best < free_.size()) {
        std::vector<T> v = std::move(free_[best]);
        free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(best));
        bytes_ -= v.capacity() * sizeof(T);
        v.resize(n);
        return v;
      }
    }
    return std::vector<T>(n);
  }
  void give(std::vector<T>&& v) {
    const size_t b = v.capacity() * sizeof(T);
    if (b == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    while (!free_.empty() && (free_.size() >= kMaxBuffers || bytes_ + b > kMaxBytes)) {
      bytes_ -= free_.front().capacity() * sizeof(T);
      free_.erase(free_.begin());
    }
    if (b > kMaxBytes) return;
    bytes_ += b;
    free_.push_back(std::move(v));
  }

 private:
  static constexpr size_t kMaxBuffers = 64;
  static constexpr size_t kMaxBytes = size_t{768} << 20;
  std::mutex mutex_;
  std::vector<std::vector<T>> free_;
  size_t bytes_ = 0;
};

template <class T>
ActivationPool<T>& activation_pool() {
  static auto* pool = new ActivationPool<T>();  // never destroyed: caches may outlive statics
  return *pool;
}

// A tensor for the cache whose every element the caller overwrites.
template <class T>
Tensor<T> pooled_tensor(const Shape& shape) {
  return Tensor<T>(shape, activation_pool<T>().take(static_cast<size_t>(shape_numel(shape))));
}

}  // namespace

template <class T>
void RecurrentCacheDeleter<T>::operator()(RecurrentCache<T>* cache) const {
  if (cache == nullptr) return;
  for (auto& d : cache->dirs) {
    for (Tensor<T>* t : {&d.states, &d.cells, &d.gates, &d.hn}) {
      activation_pool<T>().give(std::move(t->values()));
    }
  }
  for (Tensor<T>& t : cache->inputs) activation_pool<T>().give(std::move(t.values()));
  delete cache;
}

namespace {

using detail::CellGrads;
using detail::CellShape;
using detail::CellStepCache;
using detail::CellWeights;

// [B, T, F] <-> [T, B, F]
template <class T>
Tensor<T> swap_first_two_axes(const Tensor<T>& x) {
  const int64_t a = x.dim(0), b = x.dim(1), f = x.dim(2);
  Tensor<T> out({b, a, f});
  for (int64_t i = 0; i < a; ++i) {
    for (int64_t j = 0; j < b; ++j) {
      std::copy(x.data() + (i * b + j) * f, x.data() + (i * b + j + 1) * f,
                out.data() + (j * a + i) * f);
    }
  }
  return out;
}

// Per-thread grow-only scratch buffers (slot 0: the forward's input projections, then the
// backward's gradients of them; 1 and 2: the two state / cell slots of the fast inference
// loop).
template <class T>
T* scratch(int slot, int64_t n) {
  static thread_local std::vector<T> buffers[3];
  std::vector<T>& b = buffers[slot];
  if (static_cast<int64_t>(b.size()) < n) {
    b.clear();
    b.shrink_to_fit();
    b.resize(static_cast<size_t>(n));
  }
  return b.data();
}

template <class T>
double row_sum_squares(const T* v, int64_t n) {
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) sum += static_cast<double>(v[j]) * static_cast<double>(v[j]);
  return sum;
}

// Processing step s of direction d runs time index t.
inline int64_t time_index(int64_t s, int64_t steps, bool reverse) {
  return reverse ? steps - 1 - s : s;
}

}  // namespace

template <class T>
Recurrent<T>::Recurrent(const RecurrentConfig& config, Parameters<T>& store, Rng& rng,
                        const std::string& prefix)
    : config_(config), store_(&store), prefix_(prefix) {
  config_.validate();
  const int64_t G = config_.gates(), H = config_.hidden_size, P = config_.proj_size;
  const int64_t Hout = config_.output_hidden();
  const T bound = T(1) / std::sqrt(static_cast<T>(H));
  for (int64_t layer = 0; layer < config_.num_layers; ++layer) {
    for (int64_t d = 0; d < config_.directions(); ++d) {
      const std::string suffix = std::to_string(layer) + (d == 1 ? "_reverse" : "");
      LayerParams p;
      p.w_ih = store.add(prefix + "weight_ih_l" + suffix, {G * H, config_.layer_input_size(layer)});
      p.w_hh = store.add(prefix + "weight_hh_l" + suffix, {G * H, Hout});
      if (config_.bias) {
        p.b_ih = store.add(prefix + "bias_ih_l" + suffix, {G * H});
        p.b_hh = store.add(prefix + "bias_hh_l" + suffix, {G * H});
      }
      if (P > 0) p.w_hr = store.add(prefix + "weight_hr_l" + suffix, {P, H});
      params_.push_back(p);
    }
  }
  // PyTorch default: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)).
  for (const auto& p : params_) {
    for (ParamId id : {p.w_ih, p.w_hh, p.b_ih, p.b_hh, p.w_hr}) {
      if (!id.valid()) continue;
      T* v = store.value(id);
      for (size_t i = 0; i < store.info(id).numel; ++i) {
        v[i] = static_cast<T>(rng.uniform(-static_cast<double>(bound), static_cast<double>(bound)));
      }
    }
  }
}

template <class T>
std::vector<std::string> Recurrent<T>::parameter_names() const {
  std::vector<std::string> names;
  for (const auto& p : params_) {
    for (ParamId id : {p.w_ih, p.w_hh, p.b_ih, p.b_hh, p.w_hr}) {
      if (id.valid()) names.push_back(store_->info(id).name.substr(prefix_.size()));
    }
  }
  return names;
}

namespace {

template <class T, class Params>
CellWeights<T> weights_of(const Parameters<T>& store, const Params& p) {
  auto ptr = [&](ParamId id) -> const T* { return id.valid() ? store.value(id) : nullptr; };
  return {ptr(p.w_ih), ptr(p.w_hh), ptr(p.b_ih), ptr(p.b_hh), ptr(p.w_hr)};
}

template <class T, class Params>
CellGrads<T> grads_of(Parameters<T>& store, const Params& p) {
  auto ptr = [&](ParamId id) -> T* { return id.valid() ? store.grad(id) : nullptr; };
  return {ptr(p.w_ih), ptr(p.w_hh), ptr(p.b_ih), ptr(p.b_hh), ptr(p.w_hr)};
}

}  // namespace

template <class T>
RecurrentOutput<T> Recurrent<T>::forward(const RecurrentInput<T>& input, Mode mode, Rng* rng,
                                         RecurrentCachePtr<T>* cache_out) const {
  const RecurrentConfig& c = config_;
  const std::string name = to_string(c.mode);
  const int64_t L = c.num_layers, D = c.directions(), H = c.hidden_size;
  const int64_t Hout = c.output_hidden(), G = c.gates();
  const bool lstm = c.mode == CellMode::LSTM;

  // ---- argument checks -------------------------------------------------------------
  check(input.x.rank() == 3, name, ": input x must have 3 dimensions (",
        c.batch_first ? "[B,T,I]" : "[T,B,I]", "), got shape ", shape_str(input.x.shape()));
  const int64_t steps = c.batch_first ? input.x.dim(1) : input.x.dim(0);
  const int64_t batch = c.batch_first ? input.x.dim(0) : input.x.dim(1);
  check(input.x.dim(2) == c.input_size, name, ": input x has ", input.x.dim(2),
        " features, expected input_size ", c.input_size, " (shape ", shape_str(input.x.shape()),
        ")");
  check(steps > 0 && batch > 0, name, ": input x has no time steps or no batch rows (shape ",
        shape_str(input.x.shape()), ")");
  // Where layer 0 takes the fast path with its input product inside the steps, the steps
  // check x's rows as they read them (one pass over x from memory fewer: 1-2% of inference
  // at H <= 256); the error names the same value and index.
  bool x_checked_in_steps = false;
  if constexpr (std::is_same_v<T, float>) {
    x_checked_in_steps =
        detail::fast_path_usable(c) &&
        detail::fast_input_product(c.mode, batch, c.input_size, H, cache_out == nullptr) ==
            detail::InputProduct::Fused;
  }
  if (!x_checked_in_steps) check_finite<T>(input.x.span(), name + " input x");
  if (!input.h0.empty()) {
    check_shape(input.h0, {D * L, batch, Hout}, name + " h0");
    check_finite<T>(input.h0.span(), name + " h0");
  }
  if (!input.c0.empty()) {
    check(lstm, name, ": c0 is only used by LSTM");
    check_shape(input.c0, {D * L, batch, H}, name + " c0");
    check_finite<T>(input.c0.span(), name + " c0");
  }
  std::vector<int64_t> lengths = input.lengths;
  if (lengths.empty()) {
    lengths.assign(static_cast<size_t>(batch), steps);
  } else {
    check(static_cast<int64_t>(lengths.size()) == batch, name, ": lengths has ", lengths.size(),
          " entries for a batch of ", batch);
    for (size_t b = 0; b < lengths.size(); ++b) {
      check(lengths[b] >= 1 && lengths[b] <= steps, name, ": lengths[", b, "] = ", lengths[b],
            " is outside 1..", steps);
    }
  }
  const bool use_dropout = mode == Mode::Train && c.dropout > 0.0 && L > 1;
  check(!use_dropout || rng != nullptr, name, ": training with dropout needs a random generator");

  auto cache = RecurrentCachePtr<T>(new RecurrentCache<T>());
  cache->steps = steps;
  cache->batch = batch;
  cache->lengths = lengths;
  cache->dirs.resize(static_cast<size_t>(L * D));

  RecurrentOutput<T> out;
  out.h_n = Tensor<T>({D * L, batch, Hout});
  if (lstm) out.c_n = Tensor<T>({D * L, batch, H});

  // The input of the current layer: x itself (no copy) for layer 0 unless batch_first,
  // then the previous layer's output, moved (and masked in place by dropout).
  Tensor<T> owned_input = c.batch_first ? swap_first_two_axes(input.x) : Tensor<T>();
  const Tensor<T>* layer_in = c.batch_first ? &owned_input : &input.x;
  Tensor<T> layer_output;
  const Tensor<T> zeros_h({batch, Hout});
  const Tensor<T> zeros_c({batch, H});
  for (int64_t layer = 0; layer < L; ++layer) {
    const int64_t in = c.layer_input_size(layer);
    if (layer > 0) {
      owned_input = std::move(layer_output);
      layer_in = &owned_input;
    }
    if (layer > 0 && use_dropout) {
      // Inverted dropout on the previous layer's output: keep with prob 1-p, scale 1/(1-p).
      Tensor<T> mask(owned_input.shape());
      const double keep = 1.0 - c.dropout;
      for (int64_t i = 0; i < mask.numel(); ++i) {
        mask[i] = keep > 0.0 && rng->bernoulli(keep) ? static_cast<T>(1.0 / keep) : T(0);
        owned_input[i] *= mask[i];
      }
      cache->masks.push_back(std::move(mask));
    } else {
      cache->masks.emplace_back();
    }
    layer_output = Tensor<T>({steps, batch, D * Hout});
    for (int64_t d = 0; d < D; ++d) {
      const bool reverse = d == 1;
      const int64_t slot = layer * D + d;
      const CellWeights<T> w = weights_of(*store_, params(layer, d));
      const CellShape shape{c.mode, batch, H, Hout, c.proj_size > 0};
      DirectionCache<T>& dc = cache->dirs[static_cast<size_t>(slot)];

      bool fast = false;
      if constexpr (std::is_same_v<T, float>) fast = detail::fast_path_usable(c);
      // Input projections of all time steps in one product: gi = x W_ih^T + b_ih.
      // Reused between calls (grow-only, per thread): a fresh zero-filled buffer of this size
      // costs page faults and a memset on every call.
      // The plain path puts the bias rows in first and the product accumulates onto them; the
      // fast path adds b_ih in its step with b_hh (one pass over gi fewer: 3% of a step).
      // In the fast path's batched loop the input product is part of every step instead, or
      // the fast forward computes gi itself (detail::InputProduct).
      const detail::InputProduct input_product =
          fast ? detail::fast_input_product(c.mode, batch, in, H,
                                            /*packing_kept=*/cache_out == nullptr)
               : detail::InputProduct::Caller;
      T* gi = input_product == detail::InputProduct::Fused ? nullptr
                                                           : scratch<T>(0, steps * batch * G * H);
      const bool bias_in_gi = w.b_ih != nullptr && !fast;
      if (bias_in_gi) {
        for (int64_t r = 0; r < steps * batch; ++r) std::copy(w.b_ih, w.b_ih + G * H, gi + r * G * H);
      }
      if (input_product == detail::InputProduct::Caller) {
        kernels::matmul_nt<T>(steps * batch, G * H, in, layer_in->data(), w.w_ih, gi, bias_in_gi);
      }

      if constexpr (std::is_same_v<T, float>) {
        if (fast) {
          // Fused AVX2 loop: gates kept only when backward will need them; in inference the
          // states live in two per-thread slots used in turn.
          T* states = nullptr;
          T* cells = nullptr;
          if (cache_out) {
            dc.states = pooled_tensor<T>({steps + 1, batch, Hout});
            if (lstm) dc.cells = pooled_tensor<T>({steps + 1, batch, H});
            dc.gates = pooled_tensor<T>({steps, batch, G * H});
            if (c.mode == CellMode::GRU) dc.hn = pooled_tensor<T>({steps, batch, H});
            states = dc.states.data();
            cells = lstm ? dc.cells.data() : nullptr;
          } else {
            states = scratch<T>(1, 2 * batch * Hout);
            cells = lstm ? scratch<T>(2, 2 * batch * H) : nullptr;
          }
          const int64_t last = cache_out ? steps : (steps & 1);
          const T* h0 = input.h0.empty() ? zeros_h.data() : input.h0.data() + slot * batch * Hout;
          std::copy(h0, h0 + batch * Hout, states);
          if (lstm) {
            const T* c0 = input.c0.empty() ? zeros_c.data() : input.c0.data() + slot * batch * H;
            std::copy(c0, c0 + batch * H, cells);
          }
          detail::FastForwardArgs fa;
          fa.mode = c.mode;
          fa.steps = steps;
          fa.batch = batch;
          fa.hidden = H;
          fa.reverse = reverse;
          fa.w_hh = w.w_hh;
          fa.b_hh = w.b_hh;
          fa.b_ih = w.b_ih;
          fa.gi = gi;
          fa.x = layer_in->data();
          fa.input = in;
          fa.w_ih = w.w_ih;
          fa.lengths = lengths.data();
          fa.states = states;
          fa.cells = cells;
          fa.state_slots = cache_out ? 0 : 2;
          fa.gates = dc.gates.empty() ? nullptr : dc.gates.data();
          fa.hn = dc.hn.empty() ? nullptr : dc.hn.data();
          fa.y = layer_output.data() + d * Hout;
          fa.ldy = D * Hout;
          bool x_non_finite = false;
          if (x_checked_in_steps && layer == 0 && d == 0) fa.x_non_finite = &x_non_finite;
          detail::fast_forward_direction(fa);
          if (x_non_finite) check_finite<T>(input.x.span(), name + " input x");
          std::copy(states + last * batch * Hout, states + (last + 1) * batch * Hout,
                    out.h_n.data() + slot * batch * Hout);
          if (lstm) {
            std::copy(cells + last * batch * H, cells + (last + 1) * batch * H,
                      out.c_n.data() + slot * batch * H);
          }
          continue;
        }
      }

      dc.states = Tensor<T>({steps + 1, batch, Hout});
      dc.gates = Tensor<T>({steps, batch, G * H});
      if (lstm) dc.cells = Tensor<T>({steps + 1, batch, H});
      if (c.mode == CellMode::GRU) dc.hn = Tensor<T>({steps, batch, H});
      if (c.proj_size > 0) dc.raw = Tensor<T>({steps, batch, H});
      const T* h0 = input.h0.empty() ? zeros_h.data() : input.h0.data() + slot * batch * Hout;
      std::copy(h0, h0 + batch * Hout, dc.states.data());
      if (lstm) {
        const T* c0 = input.c0.empty() ? zeros_c.data() : input.c0.data() + slot * batch * H;
        std::copy(c0, c0 + batch * H, dc.cells.data());
      }

      Tensor<T> work({batch, G * H});
      for (int64_t s = 0; s < steps; ++s) {
        const int64_t t = time_index(s, steps, reverse);
        T* h_prev = dc.states.data() + s * batch * Hout;
        T* h_new = h_prev + batch * Hout;
        T* c_prev = lstm ? dc.cells.data() + s * batch * H : nullptr;
        T* c_new = lstm ? c_prev + batch * H : nullptr;
        const CellStepCache<T> step_cache{
            dc.gates.data() + s * batch * G * H,
            dc.hn.empty() ? nullptr : dc.hn.data() + s * batch * H,
            dc.raw.empty() ? nullptr : dc.raw.data() + s * batch * H};
        detail::cell_forward(shape, w, gi + t * batch * G * H, h_prev, c_prev, work.data(),
                             step_cache, h_new, c_new);
        for (int64_t b = 0; b < batch; ++b) {
          T* y = layer_output.data() + (t * batch + b) * D * Hout + d * Hout;
          if (t < lengths[static_cast<size_t>(b)]) {
            std::copy(h_new + b * Hout, h_new + (b + 1) * Hout, y);
          } else {
            // Past this row's length: the state is carried unchanged, the output is zero.
            std::copy(h_prev + b * Hout, h_prev + (b + 1) * Hout, h_new + b * Hout);
            if (lstm) std::copy(c_prev + b * H, c_prev + (b + 1) * H, c_new + b * H);
          }
        }
      }
      std::copy(dc.states.data() + steps * batch * Hout,
                dc.states.data() + (steps + 1) * batch * Hout,
                out.h_n.data() + slot * batch * Hout);
      if (lstm) {
        std::copy(dc.cells.data() + steps * batch * H, dc.cells.data() + (steps + 1) * batch * H,
                  out.c_n.data() + slot * batch * H);
      }
    }
    if (cache_out) {
      if (layer_in == &input.x) {
        Tensor<T> copy = pooled_tensor<T>(input.x.shape());
        std::copy(input.x.data(), input.x.data() + input.x.numel(), copy.data());
        cache->inputs.push_back(std::move(copy));
      } else {
        cache->inputs.push_back(std::move(owned_input));
      }
    }
  }
  out.y = c.batch_first ? swap_first_two_axes(layer_output) : std::move(layer_output);
  if (cache_out) *cache_out = std::move(cache);
  return out;
}

template <class T>
RecurrentGradInput<T> Recurrent<T>::backward(const RecurrentCache<T>& cache,
                                             const RecurrentGradOutput<T>& grad) const {
  const RecurrentConfig& c = config_;
  const std::string name = to_string(c.mode);
  const int64_t L = c.num_layers, D = c.directions(), H = c.hidden_size;
  const int64_t Hout = c.output_hidden(), G = c.gates(), GH = G * H;
  const int64_t steps = cache.steps, batch = cache.batch;
  const bool lstm = c.mode == CellMode::LSTM;
  check(static_cast<int64_t>(cache.dirs.size()) == L * D, name,
        ": backward got a cache from a different module");

  const Shape y_shape = c.batch_first ? Shape{batch, steps, D * Hout} : Shape{steps, batch, D * Hout};
  Tensor<T> dy;
  if (grad.dy.empty()) {
    dy = Tensor<T>({steps, batch, D * Hout});
  } else {
    check_shape(grad.dy, y_shape, name + " dy");
    check_finite<T>(grad.dy.span(), name + " dy");
    if (c.batch_first) dy = swap_first_two_axes(grad.dy);
  }
  if (!grad.dh_n.empty()) {
    check_shape(grad.dh_n, {D * L, batch, Hout}, name + " dh_n");
    check_finite<T>(grad.dh_n.span(), name + " dh_n");
  }
  if (!grad.dc_n.empty()) {
    check(lstm, name, ": dc_n is only used by LSTM");
    check_shape(grad.dc_n, {D * L, batch, H}, name + " dc_n");
    check_finite<T>(grad.dc_n.span(), name + " dc_n");
  }

  RecurrentGradInput<T> result;
  result.dh0 = Tensor<T>({D * L, batch, Hout});
  const bool record = grad.record_dh_norms;
  if (record) result.dh_norms = Tensor<T>({L * D, steps});
  std::vector<double> dh_sq(record ? static_cast<size_t>(steps * batch) : 0);  // [s, b]
  if (lstm) result.dc0 = Tensor<T>({D * L, batch, H});

  Tensor<T> dh({batch, Hout}), dh_prev({batch, Hout});
  Tensor<T> dcell, dcell_prev;
  if (lstm) {
    dcell = Tensor<T>({batch, H});
    dcell_prev = Tensor<T>({batch, H});
  }
  Tensor<T> work_gh({batch, GH}), work_h({batch, H});
  std::vector<unsigned char> active(static_cast<size_t>(batch));

  // [T, B, D*Hout] gradient of the current layer's output: the caller's dy itself (no copy)
  // for the top layer unless it had to be transposed or made up.
  Tensor<T> d_layer_output = std::move(dy);
  const T* dlo = d_layer_output.empty() ? grad.dy.data() : d_layer_output.data();
  for (int64_t layer = L - 1; layer >= 0; --layer) {
    const int64_t in = c.layer_input_size(layer);
    const Tensor<T>& x = cache.inputs[static_cast<size_t>(layer)];
    Tensor<T> dx({steps, batch, in});
    for (int64_t d = 0; d < D; ++d) {
      const bool reverse = d == 1;
      const int64_t slot = layer * D + d;
      const CellWeights<T> w = weights_of(*store_, params(layer, d));
      const CellGrads<T> g = grads_of(*store_, params(layer, d));
      const CellShape shape{c.mode, batch, H, Hout, c.proj_size > 0};
      const DirectionCache<T>& dcache = cache.dirs[static_cast<size_t>(slot)];

      if (grad.dh_n.empty()) {
        dh.fill(T(0));
      } else {
        std::copy(grad.dh_n.data() + slot * batch * Hout,
                  grad.dh_n.data() + (slot + 1) * batch * Hout, dh.data());
      }
      if (lstm) {
        if (grad.dc_n.empty()) {
          dcell.fill(T(0));
        } else {
          std::copy(grad.dc_n.data() + slot * batch * H, grad.dc_n.data() + (slot + 1) * batch * H,
                    dcell.data());
        }
      }

      // Every step writes all its rows. The forward's gi buffer (slot 0) is dead once forward
      // returns: sharing it keeps one [T, B, G*H] buffer per thread, not two, where the input
      // product is not fused (LSTM H = 1024 B = 64: 105 MiB of a training step's peak).
      T* dgi = scratch<T>(0, steps * batch * GH);
      bool done = false, dx_done = false;
      if constexpr (std::is_same_v<T, float>) {
        if (detail::fast_path_usable(c) && !dcache.gates.empty()) {
          detail::FastBackwardArgs ba;
          ba.mode = c.mode;
          ba.steps = steps;
          ba.batch = batch;
          ba.hidden = H;
          ba.reverse = reverse;
          ba.w_hh = w.w_hh;
          ba.lengths = cache.lengths.data();
          ba.states = dcache.states.data();
          ba.cells = lstm ? dcache.cells.data() : nullptr;
          ba.gates = dcache.gates.data();
          ba.hn = dcache.hn.empty() ? nullptr : dcache.hn.data();
          ba.dy = dlo + d * Hout;
          ba.ldy = D * Hout;
          ba.dh = dh.data();
          ba.dc = lstm ? dcell.data() : nullptr;
          ba.dgi = dgi;
          ba.g_w_hh = g.w_hh;
          ba.g_b_hh = g.b_hh;
          ba.g_b_ih = g.b_ih;
          ba.dh_sq = record ? dh_sq.data() : nullptr;
          if (detail::fast_backward_computes_dx(c.mode, batch, in, H)) {
            ba.w_ih = w.w_ih;
            ba.input = in;
            ba.dx = dx.data();
            ba.dx_accumulate = d > 0;
            dx_done = true;
          }
          detail::fast_backward_direction(ba);
          done = true;
        }
      }
      for (int64_t s = steps - 1; s >= 0 && !done; --s) {
        const int64_t t = time_index(s, steps, reverse);
        for (int64_t b = 0; b < batch; ++b) {
          const bool on = t < cache.lengths[static_cast<size_t>(b)];
          active[static_cast<size_t>(b)] = on ? 1 : 0;
          if (!on) continue;
          const T* dyr = dlo + (t * batch + b) * D * Hout + d * Hout;
          for (int64_t j = 0; j < Hout; ++j) dh[b * Hout + j] += dyr[j];
        }
        if (record) {
          for (int64_t b = 0; b < batch; ++b) {
            dh_sq[static_cast<size_t>(s * batch + b)] = row_sum_squares(dh.data() + b * Hout, Hout);
          }
        }
        const CellStepCache<T> step_cache{
            const_cast<T*>(dcache.gates.data()) + s * batch * GH,
            dcache.hn.empty() ? nullptr : const_cast<T*>(dcache.hn.data()) + s * batch * H,
            dcache.raw.empty() ? nullptr : const_cast<T*>(dcache.raw.data()) + s * batch * H};
        const T* h_prev = dcache.states.data() + s * batch * Hout;
        const T* c_prev = lstm ? dcache.cells.data() + s * batch * H : nullptr;
        const T* c_new = lstm ? c_prev + batch * H : nullptr;
        detail::cell_backward(shape, w, g, active.data(), dh.data(), lstm ? dcell.data() : nullptr,
                              step_cache, h_prev, c_prev, c_new, dgi + t * batch * GH,
                              dh_prev.data(), lstm ? dcell_prev.data() : nullptr, work_gh.data(),
                              work_h.data());
        std::swap(dh, dh_prev);
        if (lstm) std::swap(dcell, dcell_prev);
      }
      if (record) {
        for (int64_t s = 0; s < steps; ++s) {
          double sum = 0.0;
          for (int64_t b = 0; b < batch; ++b) sum += dh_sq[static_cast<size_t>(s * batch + b)];
          result.dh_norms[slot * steps + time_index(s, steps, reverse)] = static_cast<T>(std::sqrt(sum));
        }
      }
      std::copy(dh.data(), dh.data() + batch * Hout, result.dh0.data() + slot * batch * Hout);
      if (lstm) std::copy(dcell.data(), dcell.data() + batch * H, result.dc0.data() + slot * batch * H);

      // The input-projection gradients of all steps in three large products (dx inside the
      // fast loop's steps instead where fast_backward_computes_dx(), or on the fast path's
      // panel tiles where fast_input_gradient() takes it).
      if constexpr (std::is_same_v<T, float>) {
        if (!dx_done && done) {
          dx_done = detail::fast_input_gradient(batch, steps * batch, GH, in, dgi, w.w_ih,
                                                dx.data(), d > 0);
        }
      }
      if (!dx_done) kernels::matmul_nn<T>(steps * batch, in, GH, dgi, w.w_ih, dx.data(), true);
      kernels::matmul_tn<T>(GH, in, steps * batch, dgi, x.data(), g.w_ih, true);
      // The fast backward took b_ih's gradient with b_hh's.
      if (!done && g.b_ih) detail::add_column_sums(steps * batch, GH, dgi, g.b_ih);
    }
    const Tensor<T>& mask = cache.masks[static_cast<size_t>(layer)];
    if (!mask.empty()) {
      for (int64_t i = 0; i < dx.numel(); ++i) dx[i] *= mask[i];
    }
    d_layer_output = std::move(dx);
    dlo = d_layer_output.data();
  }
  result.dx = c.batch_first ? swap_first_two_axes(d_layer_output) : std::move(d_layer_output);
  return result;
}

template <class T>
RecurrentState<T> Recurrent<T>::initial_state(int64_t batch) const {
  check(batch > 0, to_string(config_.mode), ": batch must be positive, got ", batch);
  const int64_t DL = config_.directions() * config_.num_layers;
  RecurrentState<T> state;
  state.h = Tensor<T>({DL, batch, config_.output_hidden()});
  if (config_.mode == CellMode::LSTM) state.c = Tensor<T>({DL, batch, config_.hidden_size});
  return state;
}

template <class T>
Tensor<T> Recurrent<T>::step(const Tensor<T>& x_t, RecurrentState<T>& state) const {
  const RecurrentConfig& c = config_;
  const std::string name = to_string(c.mode);
  check(!c.bidirectional, name, ": step() needs a unidirectional module (the reverse direction",
        " reads the future)");
  check(x_t.rank() == 2 && x_t.dim(1) == c.input_size, name, ": step input must be [B, ",
        c.input_size, "], got ", shape_str(x_t.shape()));
  const int64_t batch = x_t.dim(0), H = c.hidden_size, Hout = c.output_hidden();
  const int64_t GH = c.gates() * H;
  const bool lstm = c.mode == CellMode::LSTM;
  check_shape(state.h, {c.num_layers, batch, Hout}, name + " state h");
  if (lstm) check_shape(state.c, {c.num_layers, batch, H}, name + " state c");
  check_finite<T>(x_t.span(), name + " step input");

  Tensor<T> layer_input = x_t;
  Tensor<T> gi({batch, GH}), work({batch, GH}), gates({batch, GH}), hn({batch, H}), raw({batch, H});
  Tensor<T> h_new({batch, Hout}), c_new({batch, H});
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    const CellWeights<T> w = weights_of(*store_, params(layer, 0));
    const CellShape shape{c.mode, batch, H, Hout, c.proj_size > 0};
    kernels::matmul_nt<T>(batch, GH, c.layer_input_size(layer), layer_input.data(), w.w_ih,
                          gi.data(), false);
    if (w.b_ih) {
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t j = 0; j < GH; ++j) gi[b * GH + j] += w.b_ih[j];
      }
    }
    T* h = state.h.data() + layer * batch * Hout;
    T* cell = lstm ? state.c.data() + layer * batch * H : nullptr;
    detail::cell_forward(shape, w, gi.data(), h, cell, work.data(),
                         CellStepCache<T>{gates.data(), hn.data(), raw.data()}, h_new.data(),
                         lstm ? c_new.data() : nullptr);
    std::copy(h_new.data(), h_new.data() + batch * Hout, h);
    if (lstm) std::copy(c_new.data(), c_new.data() + batch * H, cell);
    layer_input = h_new;
  }
  return layer_input;
}

template struct RecurrentCacheDeleter<float>;
template struct RecurrentCacheDeleter<double>;
template class Recurrent<float>;
template class Recurrent<double>;

}  // namespace rnn
