// Google Benchmark suite for the recurrent layers (issue 3).
//
//   infer/<CELL>/H:<H>/B:<B>/T:100/threads:<n>   forward, eval mode, no cache   (I = H)
//   train/<CELL>/H:<H>/B:<B>/T:100/threads:<n>   forward (train, cache) + full BPTT
//   step/<CELL>/H:<H>/threads:1                  RecurrentStepper, batch 1, one step
//   blas/sgemm/M:<B>/N:<GH>/K:<H>/threads:<n>    the per-step product through CBLAS
//   blas/sgemv/N:<GH>/K:<H>/threads:<n>          the batch-1 product through CBLAS
//
// Counters: tokens/s (B*T per second) and GFLOP/s counting 2*G*H*(I+H)*B*T per forward and
// three times that for training. Pin with `taskset -c 0` (1 thread) / `-c 0,1` (2 threads).
#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "rnn/kernels/blas_kernels.h"
#include "rnn/kernels/fast_recurrent.h"
#include "rnn/kernels/gemm.h"
#include "rnn/layers/recurrent.h"

#if __has_include(<cblas.h>)
#include <cblas.h>
#define RNN_BENCH_HAS_CBLAS 1
#endif

namespace {

using rnn::CellMode;

constexpr int64_t kSteps = 100;

double forward_flops(CellMode mode, int64_t in, int64_t hidden, int64_t batch, int64_t steps) {
  return 2.0 * rnn::gate_count(mode) * static_cast<double>(hidden) * static_cast<double>(in + hidden) *
         static_cast<double>(batch) * static_cast<double>(steps);
}

rnn::Tensor<float> random_tensor(const rnn::Shape& shape, rnn::Rng& rng) {
  rnn::Tensor<float> t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform(-1.0, 1.0));
  return t;
}

struct Model {
  rnn::Parameters<float> store;
  rnn::Rng rng{1234};
  std::unique_ptr<rnn::Recurrent<float>> module;
  Model(CellMode mode, int64_t in, int64_t hidden) {
    rnn::RecurrentConfig c;
    c.mode = mode;
    c.input_size = in;
    c.hidden_size = hidden;
    module = std::make_unique<rnn::Recurrent<float>>(c, store, rng);
  }
};

void set_counters(benchmark::State& state, double flops_per_iter, double tokens_per_iter) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iter * 1e-9 * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
  state.counters["tokens/s"] = benchmark::Counter(tokens_per_iter * static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
}

void bm_infer(benchmark::State& state, CellMode mode, int64_t hidden, int64_t batch, int threads) {
  rnn::kernels::set_num_threads(threads);
  Model m(mode, hidden, hidden);
  rnn::RecurrentInput<float> in;
  in.x = random_tensor({kSteps, batch, hidden}, m.rng);
  for (auto _ : state) {
    auto out = m.module->forward(in, rnn::Mode::Eval, nullptr, nullptr);
    benchmark::DoNotOptimize(out.y.data());
  }
  set_counters(state, forward_flops(mode, hidden, hidden, batch, kSteps), static_cast<double>(batch * kSteps));
}

void bm_train(benchmark::State& state, CellMode mode, int64_t hidden, int64_t batch, int threads) {
  rnn::kernels::set_num_threads(threads);
  Model m(mode, hidden, hidden);
  rnn::RecurrentInput<float> in;
  in.x = random_tensor({kSteps, batch, hidden}, m.rng);
  rnn::RecurrentGradOutput<float> up;
  up.dy = random_tensor({kSteps, batch, hidden}, m.rng);
  for (auto _ : state) {
    rnn::RecurrentCachePtr<float> cache;
    auto out = m.module->forward(in, rnn::Mode::Train, &m.rng, &cache);
    auto g = m.module->backward(*cache, up);
    benchmark::DoNotOptimize(g.dx.data());
  }
  set_counters(state, 3.0 * forward_flops(mode, hidden, hidden, batch, kSteps), static_cast<double>(batch * kSteps));
}

void bm_step(benchmark::State& state, CellMode mode, int64_t hidden) {
  rnn::kernels::set_num_threads(1);
  Model m(mode, hidden, hidden);
  rnn::RecurrentStepper<float> stepper(*m.module, 1);
  const rnn::Tensor<float> x = random_tensor({1, hidden}, m.rng);
  for (auto _ : state) {
    const float* y = stepper.step(x.data());
    benchmark::DoNotOptimize(y);
    benchmark::ClobberMemory();
  }
  set_counters(state, forward_flops(mode, hidden, hidden, 1, 1), 1.0);
}

#ifdef RNN_BENCH_HAS_CBLAS
void bm_sgemm(benchmark::State& state, int64_t m, int64_t n, int64_t k, int threads) {
  rnn::kernels::set_num_threads(threads);
  rnn::Rng rng(7);
  auto a = random_tensor({m, k}, rng), b = random_tensor({n, k}, rng);
  rnn::Tensor<float> c({m, n});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), 1.0f, a.data(), static_cast<int>(k), b.data(), static_cast<int>(k),
                0.0f, c.data(), static_cast<int>(n));
    benchmark::ClobberMemory();
  }
  set_counters(state, 2.0 * static_cast<double>(m * n * k), static_cast<double>(m));
}

void bm_sgemv(benchmark::State& state, int64_t n, int64_t k, int threads) {
  rnn::kernels::set_num_threads(threads);
  rnn::Rng rng(7);
  auto w = random_tensor({n, k}, rng), x = random_tensor({k}, rng);
  rnn::Tensor<float> y({n});
  for (auto _ : state) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(n), static_cast<int>(k), 1.0f, w.data(),
                static_cast<int>(k), x.data(), 1, 0.0f, y.data(), 1);
    benchmark::ClobberMemory();
  }
  set_counters(state, 2.0 * static_cast<double>(n * k), 1.0);
}
#endif

void register_all() {
  const std::vector<CellMode> cells = {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH};
  for (int threads : {1, 2}) {
    for (CellMode mode : cells) {
      for (int64_t h : {128, 256, 512, 1024}) {
        for (int64_t b : {1, 16, 64}) {
          const std::string tail = to_string(mode) + "/H:" + std::to_string(h) + "/B:" +
                                   std::to_string(b) + "/T:100/threads:" + std::to_string(threads);
          benchmark::RegisterBenchmark(("infer/" + tail).c_str(), bm_infer, mode, h, b, threads)
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
          benchmark::RegisterBenchmark(("train/" + tail).c_str(), bm_train, mode, h, b, threads)
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
        }
      }
    }
  }
  for (CellMode mode : cells) {
    for (int64_t h : {8, 16, 32, 64, 128, 256}) {
      benchmark::RegisterBenchmark(("step/" + to_string(mode) + "/H:" + std::to_string(h) + "/threads:1").c_str(),
                                   bm_step, mode, h)
          ->Unit(benchmark::kMicrosecond);
    }
  }
#ifdef RNN_BENCH_HAS_CBLAS
  for (int threads : {1, 2}) {
    for (int64_t h : {128, 256, 512, 1024}) {
      for (int64_t b : {16, 64, 1600}) {
        benchmark::RegisterBenchmark(("blas/sgemm/M:" + std::to_string(b) + "/N:" + std::to_string(4 * h) +
                                      "/K:" + std::to_string(h) + "/threads:" + std::to_string(threads))
                                         .c_str(),
                                     bm_sgemm, b, 4 * h, h, threads)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
      }
      benchmark::RegisterBenchmark(("blas/sgemv/N:" + std::to_string(4 * h) + "/K:" + std::to_string(h) +
                                    "/threads:" + std::to_string(threads))
                                       .c_str(),
                                   bm_sgemv, 4 * h, h, threads)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  }
#endif
}

}  // namespace

// `rnn_bench --peak-memory CELL H B T`: one training step (forward + BPTT, I = H) after the
// model and data exist; prints the resident set before it and its high-water mark during it.
long resident_kb() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// The resident set's high-water mark (VmHWM), set back to the current resident set by
// reset_peak_resident(): without the reset the peak could be one from before the step
// (building the model and data).
long peak_resident_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

void reset_peak_resident() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
}

int peak_memory(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: rnn_bench --peak-memory CELL H B T\n");
    return 2;
  }
  const std::string cell = argv[2];
  const CellMode mode = cell == "LSTM" ? CellMode::LSTM : cell == "GRU" ? CellMode::GRU : CellMode::RNN_TANH;
  const int64_t h = std::atol(argv[3]), b = std::atol(argv[4]), t = std::atol(argv[5]);
  rnn::kernels::set_num_threads(1);
  Model m(mode, h, h);
  rnn::RecurrentInput<float> in;
  in.x = random_tensor({t, b, h}, m.rng);
  rnn::RecurrentGradOutput<float> up;
  up.dy = random_tensor({t, b, h}, m.rng);
  const long before = resident_kb();
  reset_peak_resident();
  {
    rnn::RecurrentCachePtr<float> cache;
    auto out = m.module->forward(in, rnn::Mode::Train, &m.rng, &cache);
    auto g = m.module->backward(*cache, up);
    benchmark::DoNotOptimize(g.dx.data());
  }
  std::printf("{\"before_kb\": %ld, \"peak_kb\": %ld}\n", before, peak_resident_kb());
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--peak-memory") == 0) return peak_memory(argc, argv);
  register_all();
  // What ran, in every report's context: the BLAS's kernel set and the widest fast kernels.
  benchmark::AddCustomContext("blas_kernels", rnn::kernels::blas_core_name());
  namespace fast = rnn::kernels::fast;
  benchmark::AddCustomContext(
      "rnn_kernels", fast::avx512_enabled() ? "avx512" : fast::available() ? "avx2" : "plain");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
