// Builds against the installed rnn package and runs one LSTM forward pass.
#include <cstdio>

#include <rnn/layers/recurrent.h>

int main() {
  rnn::RecurrentConfig config;
  config.mode = rnn::CellMode::LSTM;
  config.input_size = 3;
  config.hidden_size = 4;
  rnn::Rng rng(1);
  rnn::Parameters<float> store;
  rnn::Recurrent<float> lstm(config, store, rng);
  rnn::RecurrentInput<float> input;
  input.x = rnn::Tensor<float>({5, 2, 3}, 0.5f);
  const auto out = lstm.forward(input, rnn::Mode::Eval, nullptr, nullptr);
  if (out.y.shape() != rnn::Shape{5, 2, 4}) {
    std::fprintf(stderr, "unexpected output shape\n");
    return 1;
  }
  std::printf("ok: y[0] = %f\n", static_cast<double>(out.y[0]));
  return 0;
}
