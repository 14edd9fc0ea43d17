// Long-range benchmark tasks for the gradient-flow lab (docs/GRADIENT_FLOW.md). Every
// batch is drawn from an explicit Rng, so a run (and its resume) repeats exactly.
//
//   adding          (Hochreiter & Schmidhuber 1997; the form of Le et al. 2015) x [T,B,2]:
//                   feature 0 a value ~ U(0,1), feature 1 a marker that is 1 at exactly two
//                   steps, one uniform in [0, T/2), one uniform in [T/2, T). Target [B,1]:
//                   the sum of the two marked values; MSE on the last step's output.
//                   Baseline: always predicting 1 gives E[(s-1)^2] = 2/12 = 0.1667.
//   copy            (copy memory) S = T + 2K steps, one-hot inputs over A+2 symbols
//                   (0 blank, 1..A data, A+1 delimiter): K data symbols, T-1 blanks, the
//                   delimiter, K blanks. Targets [S,B] over A+1 classes: blank for the first
//                   T+K steps, then the K data symbols; cross-entropy over every step.
//                   Baseline: blanks then a uniform guess, K ln(A) / (T + 2K).
//   temporal_order  (Hochreiter & Schmidhuber 1997, task 6a) T steps over 8 symbols
//                   (a b c d X Y B E = 0..7): B first, E last, X or Y at one step t1 in
//                   [0.1T, 0.2T] and one t2 in [0.5T, 0.6T], a..d elsewhere. Class [B] in 0..3
//                   from the order (XX, XY, YX, YY); cross-entropy on the last step.
//                   Baseline ln 4.
//
// Letters: T the task's length parameter, S = sequence_length(), B batch, I input size,
// O output size (classes).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"

namespace rnn::lab {

enum class TaskKind { Adding, Copy, TemporalOrder };
std::string to_string(TaskKind kind);                // "adding" | "copy" | "temporal_order"
TaskKind task_kind_from_string(const std::string& name);  // throws rnn::Error naming the choices

struct TaskSpec {
  TaskKind kind = TaskKind::Adding;
  int64_t length = 100;     // T
  int64_t alphabet = 8;     // copy: A data symbols
  int64_t copy_length = 10; // copy: K symbols to remember

  // Throws rnn::Error naming the bad field (adding T >= 2, copy T >= 1, A >= 2, K >= 1,
  // temporal_order T >= 10).
  void validate() const;
  int64_t sequence_length() const;  // S
  int64_t input_size() const;       // I: 2, A+2, 8
  int64_t output_size() const;      // O: 1, A+1, 4
  bool per_step_output() const { return kind == TaskKind::Copy; }
  bool classification() const { return kind != TaskKind::Adding; }
  // The trivial baseline's loss (see above).
  double baseline_loss() const;
  nlohmann::json to_json() const;
  static TaskSpec from_json(const nlohmann::json& j);
};

struct Batch {
  Tensor<float> x;         // [S,B,I]
  Tensor<float> target;    // adding: [B,1]
  Tensor<int64_t> labels;  // copy: [S,B]; temporal_order: [B]
};

// Draws B examples from `rng`.
Batch generate(const TaskSpec& spec, int64_t batch, Rng& rng);

}  // namespace rnn::lab
