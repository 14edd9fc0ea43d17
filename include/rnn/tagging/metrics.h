// Classification metrics: a confusion matrix (gold x predicted counts), accuracy, per-class
// precision / recall / F1, and the most confused pairs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rnn::tagging {

class Confusion {
 public:
  Confusion() = default;
  explicit Confusion(int64_t classes);
  int64_t classes() const { return classes_; }
  // Throws rnn::Error on an id outside 0..C-1.
  void add(int64_t gold, int64_t predicted, int64_t count = 1);
  int64_t count(int64_t gold, int64_t predicted) const;
  int64_t total() const { return total_; }
  int64_t correct() const;
  double accuracy() const;          // correct / total (0 when empty)
  double precision(int64_t c) const;  // 0 when nothing was predicted as c
  double recall(int64_t c) const;     // 0 when c never occurs
  double f1(int64_t c) const;
  double macro_f1() const;            // mean F1 over classes that occur (gold or predicted)

  struct Pair {
    int64_t gold, predicted, count;
  };
  // Off-diagonal cells by decreasing count (ties: gold, then predicted), at most `n`.
  std::vector<Pair> most_confused(size_t n) const;
  // The classes with the most errors (gold or predicted), at most `n`, for a readable picture.
  std::vector<int64_t> most_confused_classes(size_t n) const;

  // {"accuracy", "macro_f1", "per_class": [{label, precision, recall, f1, support}],
  //  "most_confused": [{gold, predicted, count}] (top 10)}
  nlohmann::json to_json(const std::vector<std::string>& names) const;

 private:
  int64_t classes_ = 0;
  int64_t total_ = 0;
  std::vector<int64_t> counts_;  // [C*C], row = gold
};

}  // namespace rnn::tagging
