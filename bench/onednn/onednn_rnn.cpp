// oneDNN side of bench/compare: times oneDNN's RNN primitive (Debian libdnnl-dev, 2.x API) on
// the shapes of the comparison and prints one JSON line {"ms": median milliseconds per call}.
//
//   onednn_rnn CELL H B T MODE MIN_TIME      CELL: LSTM | GRU | RNN_TANH, MODE: infer | train
//
// One layer, one direction, input = hidden, zero initial state. GRU is oneDNN's
// "linear before reset" GRU (PyTorch's formulation). Weights are created in the plain ldigo
// layout and reordered once, outside the timing, to the layouts the primitives choose
// (the forward's and, for training, the backward's). "infer" times forward_inference;
// "train" times forward_training + backward (workspace kept between the two).
// Threads: oneDNN's OpenMP runtime, set by OMP_NUM_THREADS (bench/compare sets and pins it).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

memory filled(const memory::desc& md, const engine& eng, std::mt19937& gen, float scale) {
  memory m(md, eng);
  float* p = static_cast<float*>(m.get_data_handle());
  std::uniform_real_distribution<float> u(-scale, scale);
  for (size_t i = 0; i < md.get_size() / sizeof(float); ++i) p[i] = u(gen);
  return m;
}

memory reordered(memory src, const memory::desc& md, const engine& eng, stream& s) {
  if (src.get_desc() == md) return src;
  memory dst(md, eng);
  reorder(src, dst).execute(s, src, dst);
  s.wait();
  return dst;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: onednn_rnn CELL H B T infer|train MIN_TIME\n");
    return 2;
  }
  const std::string cell = argv[1];
  const memory::dim H = std::atoi(argv[2]), B = std::atoi(argv[3]), T = std::atoi(argv[4]);
  const bool train = std::string(argv[5]) == "train";
  const double min_time = std::atof(argv[6]);
  const memory::dim G = cell == "LSTM" ? 4 : cell == "GRU" ? 3 : 1;
  const memory::dim GB = cell == "GRU" ? 4 : G;  // lbr GRU has a fourth bias (b_hn)

  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  std::mt19937 gen(1);
  const float scale = 1.0f / std::sqrt(static_cast<float>(H));
  const auto dir = rnn_direction::unidirectional_left2right;
  const memory::desc none;
  const memory::desc src_md({T, B, H}, dt::f32, tag::tnc), dst_md({T, B, H}, dt::f32, tag::tnc);
  const memory::desc w_any({1, 1, H, G, H}, dt::f32, tag::any);
  const memory::desc w_user({1, 1, H, G, H}, dt::f32, tag::ldigo);
  const memory::desc bias_md({1, 1, GB, H}, dt::f32, tag::ldgo);
  const prop_kind fwd_kind = train ? prop_kind::forward_training : prop_kind::forward_inference;

  // Forward and backward primitive descriptors for the cell.
  std::unique_ptr<rnn_primitive_desc_base> fwd_pd, bwd_pd;
  primitive fwd, bwd;
  if (cell == "LSTM") {
    auto f = lstm_forward::primitive_desc(
        lstm_forward::desc(fwd_kind, dir, src_md, none, none, w_any, w_any, bias_md, dst_md, none, none), eng);
    fwd = lstm_forward(f);
    if (train) {
      auto b = lstm_backward::primitive_desc(
          lstm_backward::desc(prop_kind::backward, dir, src_md, none, none, w_any, w_any, bias_md, dst_md,
                              none, none, src_md, none, none, w_any, w_any, bias_md, dst_md, none, none),
          eng, f);
      bwd = lstm_backward(b);
      bwd_pd = std::make_unique<lstm_backward::primitive_desc>(b);
    }
    fwd_pd = std::make_unique<lstm_forward::primitive_desc>(f);
  } else if (cell == "GRU") {
    auto f = lbr_gru_forward::primitive_desc(
        lbr_gru_forward::desc(fwd_kind, dir, src_md, none, w_any, w_any, bias_md, dst_md, none), eng);
    fwd = lbr_gru_forward(f);
    if (train) {
      auto b = lbr_gru_backward::primitive_desc(
          lbr_gru_backward::desc(prop_kind::backward, dir, src_md, none, w_any, w_any, bias_md, dst_md, none,
                                 src_md, none, w_any, w_any, bias_md, dst_md, none),
          eng, f);
      bwd = lbr_gru_backward(b);
      bwd_pd = std::make_unique<lbr_gru_backward::primitive_desc>(b);
    }
    fwd_pd = std::make_unique<lbr_gru_forward::primitive_desc>(f);
  } else {
    auto f = vanilla_rnn_forward::primitive_desc(
        vanilla_rnn_forward::desc(fwd_kind, algorithm::eltwise_tanh, dir, src_md, none, w_any, w_any, bias_md,
                                  dst_md, none),
        eng);
    fwd = vanilla_rnn_forward(f);
    if (train) {
      auto b = vanilla_rnn_backward::primitive_desc(
          vanilla_rnn_backward::desc(prop_kind::backward, algorithm::eltwise_tanh, dir, src_md, none, w_any,
                                     w_any, bias_md, dst_md, none, src_md, none, w_any, w_any, bias_md, dst_md,
                                     none),
          eng, f);
      bwd = vanilla_rnn_backward(b);
      bwd_pd = std::make_unique<vanilla_rnn_backward::primitive_desc>(b);
    }
    fwd_pd = std::make_unique<vanilla_rnn_forward::primitive_desc>(f);
  }

  // Data; weights reordered once, outside the timing.
  memory src = filled(src_md, eng, gen, 1.0f), dst(dst_md, eng);
  memory wl_user = filled(w_user, eng, gen, scale), wi_user = filled(w_user, eng, gen, scale);
  memory bias = filled(bias_md, eng, gen, scale);
  memory wl = reordered(wl_user, fwd_pd->weights_layer_desc(), eng, s);
  memory wi = reordered(wi_user, fwd_pd->weights_iter_desc(), eng, s);
  std::unordered_map<int, memory> fwd_args = {{DNNL_ARG_SRC_LAYER, src}, {DNNL_ARG_WEIGHTS_LAYER, wl},
                                              {DNNL_ARG_WEIGHTS_ITER, wi}, {DNNL_ARG_BIAS, bias},
                                              {DNNL_ARG_DST_LAYER, dst}};
  std::unordered_map<int, memory> bwd_args;
  if (train) {
    memory ws(fwd_pd->workspace_desc(), eng);
    fwd_args[DNNL_ARG_WORKSPACE] = ws;
    memory diff_dst = filled(dst_md, eng, gen, 1.0f), diff_src(src_md, eng);
    memory dwl(bwd_pd->diff_weights_layer_desc(), eng), dwi(bwd_pd->diff_weights_iter_desc(), eng);
    memory dbias(bwd_pd->diff_bias_desc(), eng);
    for (memory* m : {&dwl, &dwi, &dbias}) {
      std::fill_n(static_cast<float*>(m->get_data_handle()), m->get_desc().get_size() / sizeof(float), 0.0f);
    }
    bwd_args = {{DNNL_ARG_SRC_LAYER, src},
                {DNNL_ARG_WEIGHTS_LAYER, reordered(wl_user, bwd_pd->weights_layer_desc(), eng, s)},
                {DNNL_ARG_WEIGHTS_ITER, reordered(wi_user, bwd_pd->weights_iter_desc(), eng, s)},
                {DNNL_ARG_BIAS, bias},
                {DNNL_ARG_DST_LAYER, dst},
                {DNNL_ARG_WORKSPACE, ws},
                {DNNL_ARG_DIFF_SRC_LAYER, diff_src},
                {DNNL_ARG_DIFF_WEIGHTS_LAYER, dwl},
                {DNNL_ARG_DIFF_WEIGHTS_ITER, dwi},
                {DNNL_ARG_DIFF_BIAS, dbias},
                {DNNL_ARG_DIFF_DST_LAYER, diff_dst}};
  }

  auto once = [&] {
    fwd.execute(s, fwd_args);
    if (train) bwd.execute(s, bwd_args);
    s.wait();
  };
  once();  // warm-up (scratchpads, first-touch)
  std::vector<double> times;
  const auto start = std::chrono::steady_clock::now();
  while (times.size() < 3 ||
         (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < min_time &&
          times.size() < 1000)) {
    const auto t0 = std::chrono::steady_clock::now();
    once();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  std::printf("{\"ms\": %.6f, \"runs\": %zu}\n", times[times.size() / 2], times.size());
  return 0;
}
