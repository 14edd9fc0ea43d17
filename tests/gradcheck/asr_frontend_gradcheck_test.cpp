// The convolutional front end of `rnn asr` (rnn/asr/frontend.h): its output against the
// formula written out by hand, the weight and bias gradients against central differences
// in double, and a recogniser built with it (shapes, parameter names, configuration JSON,
// gradients reaching the front end through the LSTM).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "rnn/asr/frontend.h"
#include "rnn/asr/model.h"
#include "support/gradcheck.h"

namespace rnn::test {
namespace {

constexpr int64_t kMels = 4, kChannels = 3, kKernel = 5, kStride = 2;

std::vector<Tensor<double>> utterances(Rng& rng) {
  // 7 frames (4 steps, the last one partly past the end) and 4 frames (2 steps)
  return {random_tensor({7, kMels}, rng), random_tensor({4, kMels}, rng)};
}

TEST(AsrConvFrontEnd, OutputIsTheStridedConvolutionThenRelu) {
  Rng rng(4);
  Parameters<double> store;
  asr::ConvFrontEnd<double> fe(kMels, kChannels, kKernel, kStride, store, rng);
  const auto feats = utterances(rng);
  const Tensor<double> x = fe.input({&feats[0], &feats[1]});
  ASSERT_EQ(x.shape(), (Shape{2, kMels, (4 - 1) * kStride + kKernel}));
  const Tensor<double> y = fe.forward(x);
  ASSERT_EQ(y.shape(), (Shape{4, 2, kChannels}));
  const double* w = store.value(store.id("frontend.weight"));  // [C, M, K]
  const double* bias = store.value(store.id("frontend.bias"));
  int positive = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t c = 0; c < kChannels; ++c) {
        double z = bias[c];
        for (int64_t m = 0; m < kMels; ++m)
          for (int64_t j = 0; j < kKernel; ++j) {
            const int64_t frame = t * kStride + j;
            if (frame < feats[b].dim(0)) z += w[(c * kMels + m) * kKernel + j] * feats[b].at(frame, m);
          }
        EXPECT_NEAR(y.at(t, b, c), std::max(0.0, z), 1e-12) << "t " << t << " b " << b << " c " << c;
        positive += z > 0;
      }
  EXPECT_GT(positive, 0);  // both sides of the ReLU were exercised
  EXPECT_LT(positive, 2 * 4 * kChannels);
  Parameters<double> other;
  EXPECT_THROW(asr::ConvFrontEnd<double>(kMels, kChannels, 1, kStride, other, rng), Error);
}

TEST(AsrConvFrontEnd, WeightAndBiasGradients) {
  Rng rng(9);
  Parameters<double> store;
  asr::ConvFrontEnd<double> fe(kMels, kChannels, kKernel, kStride, store, rng);
  const auto feats = utterances(rng);
  const Tensor<double> x = fe.input({&feats[0], &feats[1]});
  const Tensor<double> y = fe.forward(x);
  const Tensor<double> dy = random_tensor(y.shape(), rng);
  store.zero_grad();
  fe.backward(x, y, dy);
  auto loss = [&] { return dot(dy, fe.forward(x)); };
  for (const char* name : {"frontend.weight", "frontend.bias"}) {
    const ParamId id = store.id(name);
    std::span<double> values(store.value(id), store.info(id).numel);
    std::span<const double> grads(store.grad(id), store.info(id).numel);
    EXPECT_TRUE(gradcheck(name, values, grads, loss, {1e-6, 1e-7}));
  }
}

TEST(AsrConvFrontEnd, RecogniserWithTheConvFrontEnd) {
  asr::AsrConfig c;
  c.features.n_mels = kMels;
  c.stack = kStride;
  c.conv_frontend = true;
  c.conv_channels = kChannels;
  c.conv_kernel = kKernel;
  c.hidden_size = 3;
  c.num_layers = 1;
  c.tokens = asr::Tokens(asr::Tokens::Level::Word, {"a", "b"});
  const asr::AsrConfig back = asr::AsrConfig::from_json(c.to_json());
  EXPECT_TRUE(back.conv_frontend);
  EXPECT_EQ(back.conv_kernel, kKernel);
  EXPECT_EQ(back.to_json(), c.to_json());
  asr::AsrConfig stacked = c;
  stacked.conv_frontend = false;
  EXPECT_FALSE(stacked.to_json().contains("conv_frontend"));  // older checkpoints still match
  c.conv_kernel = 1;  // shorter than the stride
  EXPECT_THROW(c.validate(), Error);
  c.conv_kernel = kKernel;

  Rng rng(2);
  asr::AsrModel model(c, rng);
  EXPECT_EQ(model.parameters().infos().front().name, "frontend.weight");
  EXPECT_EQ(model.parameters().infos().front().shape, (Shape{kChannels, kMels, kKernel}));
  Tensor<float> f0 = random_tensor_f({7, kMels}, rng), f1 = random_tensor_f({4, kMels}, rng);
  const asr::AsrBatch batch = model.make_batch({&f0, &f1});
  EXPECT_EQ(batch.lengths, (std::vector<int64_t>{4, 2}));
  const asr::AsrForward f = model.forward(batch, Mode::Train, nullptr, true);
  ASSERT_EQ(f.log_probs.shape(), (Shape{4, 2, 3}));
  Tensor<float> d = random_tensor_f(f.log_probs.shape(), rng);
  for (int64_t t = 2; t < 4; ++t)
    for (int64_t v = 0; v < 3; ++v) d.at(t, 1, v) = 0.0f;  // past utterance 1's end
  model.parameters().zero_grad();
  model.backward(f, d);
  double front = 0;
  const auto& w = model.parameters().infos().front();
  for (size_t i = 0; i < w.numel; ++i) front += std::abs(model.parameters().grads()[w.offset + i]);
  EXPECT_GT(front, 0.0);
}

}  // namespace
}  // namespace rnn::test
