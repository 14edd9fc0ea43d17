// CTC loss parity with torch.nn.functional.ctc_loss (PyTorch 1.13), against
// tests/fixtures/ctc/ctc_loss.safetensors made by tools/fixtures/gen_ctc_fixtures.py:
// every reduction, a blank that is not 0, empty targets, repeated labels, zero_infinity
// and impossible alignments. Loss and the gradient with respect to the logits (through a
// log_softmax) are compared in double (atol 1e-12, rtol 1e-9) and, from the same inputs
// in float32, with DESIGN.md's float tolerance (atol 1e-5, rtol 1e-4).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rnn/ctc/ctc.h"
#include "rnn/io/safetensors.h"
#include "rnn/nn/activations.h"
#include "support/compare.h"

namespace {

using nlohmann::json;
using rnn::Tensor;

const rnn::SafetensorsFile& fixture() {
  static const rnn::SafetensorsFile file =
      rnn::read_safetensors(std::string(RNN_FIXTURE_DIR) + "/ctc/ctc_loss.safetensors");
  return file;
}

template <class T>
void check_case(const json& c, double atol, double rtol) {
  const std::string name = c.at("name");
  SCOPED_TRACE(name);
  const auto& f = fixture();
  const Tensor<T> logits = f.get<double>(name + ".logits").template cast<T>();
  const Tensor<int64_t> flat = f.get<int64_t>(name + ".targets");
  const Tensor<int64_t> tl = f.get<int64_t>(name + ".target_lengths");
  const Tensor<int64_t> il = f.get<int64_t>(name + ".input_lengths");
  std::vector<std::vector<int64_t>> targets;
  int64_t offset = 0;
  for (int64_t b = 0; b < tl.numel(); ++b) {
    targets.emplace_back(flat.values().begin() + offset, flat.values().begin() + offset + tl[b]);
    offset += tl[b];
  }
  rnn::ctc::CtcOptions options;
  options.blank = c.at("blank");
  options.reduction = rnn::ctc::reduction_from_string(c.at("reduction"));
  options.zero_infinity = c.at("zero_infinity");

  const Tensor<T> log_probs = rnn::nn::log_softmax(logits);
  const auto result = rnn::ctc::ctc_loss(log_probs, targets, il.values(), options);

  const Tensor<double> losses = f.get<double>(name + ".losses");
  for (int64_t b = 0; b < losses.numel(); ++b) {
    if (std::isinf(losses[b])) {
      EXPECT_TRUE(std::isinf(result.losses[b])) << "sample " << b;
      EXPECT_NE(std::find(result.impossible.begin(), result.impossible.end(), b),
                result.impossible.end());
    } else {
      EXPECT_NEAR(result.losses[b], losses[b], atol + rtol * std::abs(losses[b])) << "sample " << b;
    }
  }
  if (options.reduction != rnn::ctc::Reduction::None) {
    const double expected = f.get<double>(name + ".loss")[0];
    if (std::isinf(expected)) {
      EXPECT_TRUE(std::isinf(result.loss));
    } else {
      EXPECT_NEAR(result.loss, expected, atol + rtol * std::abs(expected));
    }
  }
  if (f.tensors.count(name + ".grad_logits")) {
    const Tensor<T> dlogits = rnn::nn::log_softmax_backward(log_probs, result.grad);
    EXPECT_TRUE(rnn::test::all_close(name + ".grad_logits", dlogits,
                                     f.get<double>(name + ".grad_logits"), atol, rtol));
  }
  for (T g : result.grad.values()) ASSERT_TRUE(std::isfinite(g)) << "non-finite gradient";
}

TEST(CtcParity, EveryCaseDouble) {
  const json cases = json::parse(fixture().metadata.at("cases"));
  ASSERT_GE(cases.size(), 6u);
  for (const json& c : cases) check_case<double>(c, 1e-12, 1e-9);
}

TEST(CtcParity, EveryCaseFloat) {
  const json cases = json::parse(fixture().metadata.at("cases"));
  for (const json& c : cases) check_case<float>(c, 1e-5, 1e-4);
}

}  // namespace
