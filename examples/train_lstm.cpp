// Train an LSTM to continue sine waves, with the rnn.cpp library API.
//
// Each sequence is a sine wave of random frequency and phase; at every step the model
// sees the current value and predicts the next one. The frequency is not given, so the
// LSTM has to infer it from the values it has seen so far.
//
//   x [T,B,1] -> LSTM (hidden H) -> y [T,B,H] -> Linear [1,H] -> prediction [T,B,1]
//   loss = mean squared error against the next value; Adam; gradient norm clipped to 1.
//
// Exits 0 when the trained model beats "the next value equals this one" by 10x.
#include <cmath>
#include <cstdio>

#include "rnn/layers/recurrent.h"
#include "rnn/nn/linear.h"
#include "rnn/train/clipping.h"
#include "rnn/train/losses.h"
#include "rnn/train/optimizers.h"

using namespace rnn;

constexpr int64_t T = 40, B = 16, H = 32;

// Inputs x [T,B,1] and targets [T,B,1] (the value one step later).
void make_batch(Rng& rng, Tensor<float>& x, Tensor<float>& target) {
  x = Tensor<float>({T, B, 1});
  target = Tensor<float>({T, B, 1});
  for (int64_t b = 0; b < B; ++b) {
    const double frequency = rng.uniform(0.1, 0.4), phase = rng.uniform(0.0, 6.283);
    for (int64_t t = 0; t < T; ++t) {
      x.at(t, b, 0) = static_cast<float>(std::sin(frequency * static_cast<double>(t) + phase));
      target.at(t, b, 0) = static_cast<float>(std::sin(frequency * static_cast<double>(t + 1) + phase));
    }
  }
}

int main() {
  Rng rng(42);  // every random choice (init, data) comes from an explicit generator

  // One flat buffer holds every parameter (and one every gradient), under PyTorch's names:
  // lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0, head.weight, head.bias.
  Parameters<float> params;
  Recurrent<float> lstm({.mode = CellMode::LSTM, .input_size = 1, .hidden_size = H}, params, rng,
                        "lstm.");
  nn::Linear<float> head(H, 1, params, rng, "head.");
  Adam<float> adam({.lr = 1e-2});

  Tensor<float> x, target;
  for (int step = 1; step <= 300; ++step) {
    make_batch(rng, x, target);
    params.zero_grad();

    // forward: keep the cache that backward needs
    RecurrentInput<float> input;  // x [T,B,1]; h0 and c0 left empty: zeros
    input.x = x;
    RecurrentCachePtr<float> cache;
    const RecurrentOutput<float> out = lstm.forward(input, Mode::Train, nullptr, &cache);
    const Tensor<float> prediction = head.forward(out.y);
    const LossResult<float> loss = mse(prediction, target);  // value and d loss / d prediction

    // backward: each layer accumulates its parameter gradients and returns its input's
    RecurrentGradOutput<float> grad;  // dh_n and dc_n left empty: zeros
    grad.dy = head.backward(out.y, loss.grad);
    lstm.backward(*cache, grad);  // returns dx, dh0, dc0 (not needed here)

    clip_grad_norm(params.grads(), 1.0);
    adam.step(params.values(), params.grads());
    if (step % 50 == 0) std::printf("step %3d  mse %.5f\n", step, static_cast<double>(loss.loss));
  }

  // Evaluate on fresh waves against the baseline "next value = current value".
  Rng test_rng(7);
  make_batch(test_rng, x, target);
  RecurrentInput<float> input;
  input.x = x;
  const Tensor<float> prediction = head.forward(lstm.forward(input, Mode::Eval, nullptr, nullptr).y);
  const double model = mse(prediction, target).loss;
  const double baseline = mse(x, target).loss;
  std::printf("test mse %.5f, repeat-last-value baseline %.5f\n", model, baseline);
  return model < 0.1 * baseline ? 0 : 1;
}
