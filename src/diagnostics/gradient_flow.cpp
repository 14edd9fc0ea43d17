#include "rnn/diagnostics/gradient_flow.h"

#include <cmath>

#include "rnn/core/error.h"

namespace rnn::diagnostics {

namespace {

template <class T>
Tensor<T> slice_step(const Tensor<T>& seq, int64_t t) {
  const int64_t per = seq.numel() / seq.dim(0);
  Shape shape = seq.shape();
  shape[0] = 1;
  return Tensor<T>(shape, std::vector<T>(seq.data() + t * per, seq.data() + (t + 1) * per));
}

}  // namespace

template <class T>
GradientFlow dh_norms_by_steps(const Recurrent<T>& module, const Tensor<T>& x, const Tensor<T>& dy,
                               const Tensor<T>& dh_n, const Tensor<T>& dc_n) {
  const RecurrentConfig& c = module.config();
  check(c.num_layers == 1 && !c.bidirectional && !c.batch_first,
        "dh_norms_by_steps: single-layer, unidirectional, time-major modules only");
  check(x.rank() == 3, "dh_norms_by_steps: x must be [T,B,I], got ", shape_str(x.shape()));
  const int64_t steps = x.dim(0), batch = x.dim(1), Hout = c.output_hidden();
  check_shape(dy, {steps, batch, Hout}, "dh_norms_by_steps: dy");
  const bool lstm = c.mode == CellMode::LSTM;

  std::vector<RecurrentCachePtr<T>> caches(static_cast<size_t>(steps));
  RecurrentState<T> state = module.initial_state(batch);
  for (int64_t t = 0; t < steps; ++t) {
    RecurrentInput<T> in;
    in.x = slice_step(x, t);
    in.h0 = state.h;
    if (lstm) in.c0 = state.c;
    RecurrentOutput<T> out = module.forward(in, Mode::Train, nullptr, &caches[static_cast<size_t>(t)]);
    state.h = std::move(out.h_n);
    if (lstm) state.c = std::move(out.c_n);
  }

  GradientFlow norms(1, std::vector<double>(static_cast<size_t>(steps), 0.0));
  Tensor<T> dh = dh_n.empty() ? Tensor<T>({1, batch, Hout}) : dh_n;
  Tensor<T> dc = lstm ? (dc_n.empty() ? Tensor<T>({1, batch, c.hidden_size}) : dc_n) : Tensor<T>();
  check_shape(dh, {1, batch, Hout}, "dh_norms_by_steps: dh_n");
  for (int64_t t = steps - 1; t >= 0; --t) {
    RecurrentGradOutput<T> g;
    g.dy = slice_step(dy, t);
    double s = 0.0;
    for (int64_t i = 0; i < dh.numel(); ++i) {
      const double v = static_cast<double>(dh[i]) + static_cast<double>(g.dy[i]);
      s += v * v;
    }
    norms[0][static_cast<size_t>(t)] = std::sqrt(s);
    g.dh_n = dh;
    if (lstm) g.dc_n = dc;
    RecurrentGradInput<T> back = module.backward(*caches[static_cast<size_t>(t)], g);
    dh = std::move(back.dh0);
    if (lstm) dc = std::move(back.dc0);
  }
  return norms;
}

template GradientFlow dh_norms_by_steps<float>(const Recurrent<float>&, const Tensor<float>&,
                                               const Tensor<float>&, const Tensor<float>&,
                                               const Tensor<float>&);
template GradientFlow dh_norms_by_steps<double>(const Recurrent<double>&, const Tensor<double>&,
                                                const Tensor<double>&, const Tensor<double>&,
                                                const Tensor<double>&);

}  // namespace rnn::diagnostics
