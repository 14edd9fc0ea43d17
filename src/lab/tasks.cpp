#include "rnn/lab/tasks.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"

namespace rnn::lab {

std::string to_string(TaskKind kind) {
  switch (kind) {
    case TaskKind::Adding: return "adding";
    case TaskKind::Copy: return "copy";
    case TaskKind::TemporalOrder: return "temporal_order";
  }
  return "?";
}

TaskKind task_kind_from_string(const std::string& name) {
  if (name == "adding") return TaskKind::Adding;
  if (name == "copy") return TaskKind::Copy;
  if (name == "temporal_order") return TaskKind::TemporalOrder;
  fail("unknown lab task '", name, "' (choose adding, copy or temporal_order)");
}

void TaskSpec::validate() const {
  switch (kind) {
    case TaskKind::Adding:
      check(length >= 2, "adding problem: length T must be >= 2, got ", length);
      break;
    case TaskKind::Copy:
      check(length >= 1, "copy memory: delay T must be >= 1, got ", length);
      check(alphabet >= 2, "copy memory: alphabet A must be >= 2, got ", alphabet);
      check(copy_length >= 1, "copy memory: K (symbols to copy) must be >= 1, got ", copy_length);
      break;
    case TaskKind::TemporalOrder:
      check(length >= 10, "temporal order: length T must be >= 10, got ", length);
      break;
  }
  check(sequence_length() <= 1000000, "lab task: sequence length ", sequence_length(), " is too long");
}

int64_t TaskSpec::sequence_length() const {
  return kind == TaskKind::Copy ? length + 2 * copy_length : length;
}

int64_t TaskSpec::input_size() const {
  switch (kind) {
    case TaskKind::Adding: return 2;
    case TaskKind::Copy: return alphabet + 2;
    case TaskKind::TemporalOrder: return 8;
  }
  return 0;
}

int64_t TaskSpec::output_size() const {
  switch (kind) {
    case TaskKind::Adding: return 1;
    case TaskKind::Copy: return alphabet + 1;
    case TaskKind::TemporalOrder: return 4;
  }
  return 0;
}

double TaskSpec::baseline_loss() const {
  switch (kind) {
    case TaskKind::Adding: return 1.0 / 6.0;
    case TaskKind::Copy:
      return static_cast<double>(copy_length) * std::log(static_cast<double>(alphabet)) /
             static_cast<double>(length + 2 * copy_length);
    case TaskKind::TemporalOrder: return std::log(4.0);
  }
  return 0.0;
}

nlohmann::json TaskSpec::to_json() const {
  nlohmann::json j = {{"task", to_string(kind)}, {"length", length}};
  if (kind == TaskKind::Copy) {
    j["alphabet"] = alphabet;
    j["copy_length"] = copy_length;
  }
  return j;
}

TaskSpec TaskSpec::from_json(const nlohmann::json& j) {
  TaskSpec s;
  try {
    s.kind = task_kind_from_string(j.at("task").get<std::string>());
    s.length = j.at("length").get<JsonInt<int64_t>>().value;
    if (s.kind == TaskKind::Copy) {
      s.alphabet = j.at("alphabet").get<JsonInt<int64_t>>().value;
      s.copy_length = j.at("copy_length").get<JsonInt<int64_t>>().value;
    }
  } catch (const nlohmann::json::exception& e) {
    fail("lab task specification ", j.dump(), ": ", e.what());
  }
  s.validate();
  return s;
}

namespace {

int64_t uniform_int(Rng& rng, int64_t low, int64_t high) {  // [low, high]
  return low + static_cast<int64_t>(rng.below(static_cast<uint64_t>(high - low + 1)));
}

}  // namespace

Batch generate(const TaskSpec& spec, int64_t batch, Rng& rng) {
  spec.validate();
  check(batch >= 1, "lab task: batch size must be >= 1, got ", batch);
  const int64_t S = spec.sequence_length(), I = spec.input_size(), T = spec.length;
  Batch out;
  out.x = Tensor<float>({S, batch, I});
  auto x = [&](int64_t t, int64_t b, int64_t i) -> float& { return out.x[(t * batch + b) * I + i]; };
  switch (spec.kind) {
    case TaskKind::Adding: {
      out.target = Tensor<float>({batch, 1});
      const int64_t half = T / 2;
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t t = 0; t < S; ++t) x(t, b, 0) = static_cast<float>(rng.uniform());
        const int64_t first = uniform_int(rng, 0, half - 1);
        const int64_t second = uniform_int(rng, half, T - 1);
        x(first, b, 1) = 1.0f;
        x(second, b, 1) = 1.0f;
        out.target[b] = x(first, b, 0) + x(second, b, 0);
      }
      break;
    }
    case TaskKind::Copy: {
      const int64_t K = spec.copy_length, A = spec.alphabet;
      out.labels = Tensor<int64_t>({S, batch});
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t t = 0; t < S; ++t) {
          int64_t symbol = 0;
          if (t < K) symbol = 1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(A)));
          if (t == K + T - 1) symbol = A + 1;
          x(t, b, symbol) = 1.0f;
        }
        for (int64_t k = 0; k < K; ++k) {
          int64_t symbol = 0;
          while (x(k, b, symbol) == 0.0f) ++symbol;
          out.labels[(T + K + k) * batch + b] = symbol;
        }
      }
      break;
    }
    case TaskKind::TemporalOrder: {
      out.labels = Tensor<int64_t>({batch});
      const auto lo1 = static_cast<int64_t>(std::lround(0.1 * static_cast<double>(T)));
      const auto hi1 = static_cast<int64_t>(std::lround(0.2 * static_cast<double>(T)));
      const auto lo2 = static_cast<int64_t>(std::lround(0.5 * static_cast<double>(T)));
      const auto hi2 = static_cast<int64_t>(std::lround(0.6 * static_cast<double>(T)));
      for (int64_t b = 0; b < batch; ++b) {
        const int64_t t1 = uniform_int(rng, lo1, hi1), t2 = uniform_int(rng, lo2, hi2);
        const bool y1 = rng.bernoulli(0.5), y2 = rng.bernoulli(0.5);
        for (int64_t t = 0; t < S; ++t) {
          int64_t symbol = static_cast<int64_t>(rng.below(4));  // a..d
          if (t == 0) symbol = 6;                                // B
          if (t == S - 1) symbol = 7;                            // E
          if (t == t1) symbol = y1 ? 5 : 4;                      // Y or X
          if (t == t2) symbol = y2 ? 5 : 4;
          x(t, b, symbol) = 1.0f;
        }
        out.labels[b] = (y1 ? 2 : 0) + (y2 ? 1 : 0);
      }
      break;
    }
  }
  return out;
}

}  // namespace rnn::lab
