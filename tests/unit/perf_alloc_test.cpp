// No allocation inside the time loop: the number of heap allocations of a forward/backward
// call does not grow with the sequence length, and a RecurrentStepper step allocates nothing.
// This binary replaces the global operator new to count allocations.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "rnn/kernels/gemm.h"
#include "rnn/layers/recurrent.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// gcc sees free() on what its built-in knowledge calls operator new's memory; here operator
// new itself is malloc, so the pairing is right.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

// Every plain, array and nothrow form is replaced, so whatever one form allocates another
// frees with the same allocator (under AddressSanitizer a form left out would come from its
// allocator and be freed here: an alloc-dealloc mismatch). Aligned forms are left alone, whole.
namespace {
void* counted_malloc(std::size_t n) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

void* operator new(std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace rnn {
namespace {

struct Counts {
  long forward_eval, forward_train, backward;
};

Counts count_for(CellMode mode, int64_t steps, int64_t batch, kernels::Backend backend) {
  kernels::ScopedBackend scoped(backend);
  RecurrentConfig c;
  c.mode = mode;
  c.input_size = 12;
  c.hidden_size = 24;
  c.num_layers = 2;
  c.bidirectional = true;
  Rng rng(3);
  Parameters<float> store;
  Recurrent<float> module(c, store, rng);
  RecurrentInput<float> in;
  in.x = Tensor<float>({steps, batch, 12}, 0.5f);
  in.lengths.assign(static_cast<size_t>(batch), steps);
  in.lengths[0] = 1;
  RecurrentGradOutput<float> up;
  up.dy = Tensor<float>({steps, batch, 48}, 0.25f);
  // Warm-up: thread pools, per-thread scratch, BLAS buffers.
  for (int i = 0; i < 2; ++i) {
    RecurrentCachePtr<float> cache;
    module.forward(in, Mode::Train, &rng, &cache);
    module.backward(*cache, up);
    module.forward(in, Mode::Eval, nullptr, nullptr);
  }
  Counts n{};
  long before = g_allocations.load();
  { auto out = module.forward(in, Mode::Eval, nullptr, nullptr); }
  n.forward_eval = g_allocations.load() - before;
  RecurrentCachePtr<float> cache;
  before = g_allocations.load();
  { auto out = module.forward(in, Mode::Train, &rng, &cache); }
  n.forward_train = g_allocations.load() - before;
  before = g_allocations.load();
  { auto g = module.backward(*cache, up); }
  n.backward = g_allocations.load() - before;
  return n;
}

TEST(NoAllocationInTimeLoop, CountDoesNotGrowWithSequenceLength) {
  for (CellMode mode : {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH}) {
    for (int64_t batch : {1, 3, 17}) {
      for (auto backend : {kernels::Backend::Blas, kernels::Backend::Reference}) {
        SCOPED_TRACE(to_string(mode) + " batch " + std::to_string(batch) +
                     (backend == kernels::Backend::Blas ? " fast" : " reference"));
        const Counts short_run = count_for(mode, 3, batch, backend);
        const Counts long_run = count_for(mode, 40, batch, backend);
        EXPECT_EQ(short_run.forward_eval, long_run.forward_eval);
        EXPECT_EQ(short_run.forward_train, long_run.forward_train);
        EXPECT_EQ(short_run.backward, long_run.backward);
      }
    }
  }
}

TEST(NoAllocationInTimeLoop, StepperStepAllocatesNothing) {
  for (CellMode mode : {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH}) {
    for (int64_t hidden : {8, 37, 128}) {
      RecurrentConfig c;
      c.mode = mode;
      c.input_size = 5;
      c.hidden_size = hidden;
      c.num_layers = 2;
      Rng rng(4);
      Parameters<float> store;
      Recurrent<float> module(c, store, rng);
      RecurrentStepper<float> stepper(module, 2);
      std::vector<float> x(10, 0.3f);
      stepper.step(x.data());
      const long before = g_allocations.load();
      for (int i = 0; i < 100; ++i) stepper.step(x.data());
      EXPECT_EQ(g_allocations.load() - before, 0) << to_string(mode) << " H=" << hidden;
    }
  }
}

}  // namespace
}  // namespace rnn
