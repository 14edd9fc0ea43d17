// The gradient-flow lab's models (a recurrent layer and a linear head) and the TrainTask
// that lets the one trainer (rnn/train/trainer.h) train them on a long-range task.
//
// Letters: S sequence length, B batch, I input size, H hidden size, O output size, G gates.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/diagnostics/gradient_flow.h"
#include "rnn/lab/tasks.h"
#include "rnn/layers/recurrent.h"
#include "rnn/nn/linear.h"
#include "rnn/train/trainer.h"

namespace rnn::lab {

// cell:   rnn_tanh | rnn_relu | irnn | lstm | gru
//         (irnn = RNN_RELU with identity weight_hh and zero biases, Le et al. 2015)
// init:   default (PyTorch's U(-1/sqrt(H), 1/sqrt(H))) | orthogonal (each gate block of
//         weight_hh) | identity (each gate block of weight_hh = I, biases 0); irnn forces identity
// radius: > 0 scales every gate block of weight_hh to this spectral radius after the init
//         (0 = leave as initialised)
struct LabModelConfig {
  std::string cell = "lstm";
  int64_t hidden_size = 64;
  int64_t num_layers = 1;
  std::string init = "default";
  double radius = 0.0;

  CellMode mode() const;
  std::string effective_init() const { return cell == "irnn" ? "identity" : init; }
  // Throws rnn::Error naming the bad field.
  void validate() const;
  nlohmann::json to_json() const;
  static LabModelConfig from_json(const nlohmann::json& j);
};

// recurrent layer "rnn." + head "head." (Linear H -> O): on the last step's output, or on
// every step's for per-step tasks.
class LabModel {
 public:
  LabModel(const TaskSpec& spec, const LabModelConfig& config, Parameters<float>& store, Rng& rng);

  struct Cache {
    RecurrentCachePtr<float> rnn;
    Tensor<float> features;  // the head's input: [B,H] or [S*B,H]
  };
  // x [S,B,I] -> outputs [B,O] (last step) or [S*B,O] (per step).
  Tensor<float> forward(const Tensor<float>& x, Cache* cache) const;
  // dout like the outputs; accumulates every parameter gradient. When `flow` is not null it
  // receives ||dL/dh_t|| [layer][t] of this backward (rnn/diagnostics/gradient_flow.h).
  void backward(const Tensor<float>& x, const Cache& cache, const Tensor<float>& dout,
                diagnostics::GradientFlow* flow) const;

  const Recurrent<float>& recurrent() const { return *rnn_; }

 private:
  TaskSpec spec_;
  LabModelConfig config_;
  std::unique_ptr<Recurrent<float>> rnn_;
  std::unique_ptr<nn::Linear<float>> head_;
};

struct LabTaskOptions {
  int64_t batch_size = 32;
  int64_t test_size = 1000;    // the fixed test set used for validation
  uint64_t test_seed = 12345;  // its generator (independent of training)
  uint64_t init_seed = 1;      // the model's initial parameters
};

class LabTask : public TrainTask {
 public:
  LabTask(const TaskSpec& spec, const LabModelConfig& config, LabTaskOptions options);

  Parameters<float>& parameters() override { return params_; }
  // A fresh batch from `rng` (so a resumed run sees the same batches).
  StepResult train_step(Rng& rng) override;
  // Loss on the fixed test set; metrics "accuracy" (classification: the last step, or the K
  // recalled symbols for copy) and "baseline".
  EvalResult validate() override;
  double epoch() const override;
  void save_state(Checkpoint& checkpoint) const override;
  void load_state(const Checkpoint& checkpoint) override;
  void record_gradient_flow(bool on) override { record_ = on; }
  std::vector<std::vector<double>> gradient_flow() const override { return flow_; }

  const TaskSpec& spec() const { return spec_; }
  const LabModel& model() const { return *model_; }

 private:
  // Loss (and its gradient when want_grad) of outputs against a batch; accuracy out.
  double loss_of(const Tensor<float>& out, const Batch& batch, bool want_grad, Tensor<float>* grad,
                 double* correct, double* counted) const;

  TaskSpec spec_;
  LabModelConfig config_;
  LabTaskOptions options_;
  Parameters<float> params_;
  std::unique_ptr<LabModel> model_;
  Batch test_;
  int64_t samples_seen_ = 0;
  bool record_ = false;
  diagnostics::GradientFlow flow_;
};

}  // namespace rnn::lab
