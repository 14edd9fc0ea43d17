#include "rnn/tagging/metrics.h"

#include <algorithm>

#include "rnn/core/error.h"

namespace rnn::tagging {

Confusion::Confusion(int64_t classes)
    : classes_(classes), counts_(static_cast<size_t>(classes * classes), 0) {
  check(classes >= 1, "confusion matrix: need at least one class, got ", classes);
}

void Confusion::add(int64_t gold, int64_t predicted, int64_t n) {
  check(gold >= 0 && gold < classes_ && predicted >= 0 && predicted < classes_,
        "confusion matrix: class (", gold, ", ", predicted, ") outside 0..", classes_ - 1);
  counts_[static_cast<size_t>(gold * classes_ + predicted)] += n;
  total_ += n;
}

int64_t Confusion::count(int64_t gold, int64_t predicted) const {
  check(gold >= 0 && gold < classes_ && predicted >= 0 && predicted < classes_,
        "confusion matrix: class (", gold, ", ", predicted, ") outside 0..", classes_ - 1);
  return counts_[static_cast<size_t>(gold * classes_ + predicted)];
}

int64_t Confusion::correct() const {
  int64_t s = 0;
  for (int64_t c = 0; c < classes_; ++c) s += counts_[static_cast<size_t>(c * classes_ + c)];
  return s;
}

double Confusion::accuracy() const {
  return total_ ? static_cast<double>(correct()) / static_cast<double>(total_) : 0.0;
}

double Confusion::precision(int64_t c) const {
  int64_t predicted = 0;
  for (int64_t g = 0; g < classes_; ++g) predicted += count(g, c);
  return predicted ? static_cast<double>(count(c, c)) / static_cast<double>(predicted) : 0.0;
}

double Confusion::recall(int64_t c) const {
  int64_t gold = 0;
  for (int64_t p = 0; p < classes_; ++p) gold += count(c, p);
  return gold ? static_cast<double>(count(c, c)) / static_cast<double>(gold) : 0.0;
}

double Confusion::f1(int64_t c) const {
  const double p = precision(c), r = recall(c);
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

double Confusion::macro_f1() const {
  double sum = 0;
  int64_t n = 0;
  for (int64_t c = 0; c < classes_; ++c) {
    int64_t seen = 0;
    for (int64_t k = 0; k < classes_; ++k) seen += count(c, k) + count(k, c);
    if (seen == 0) continue;
    sum += f1(c);
    ++n;
  }
  return n ? sum / static_cast<double>(n) : 0.0;
}

std::vector<Confusion::Pair> Confusion::most_confused(size_t n) const {
  std::vector<Pair> pairs;
  for (int64_t g = 0; g < classes_; ++g) {
    for (int64_t p = 0; p < classes_; ++p) {
      if (g != p && count(g, p) > 0) pairs.push_back({g, p, count(g, p)});
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const Pair& a, const Pair& b) { return a.count > b.count; });
  if (pairs.size() > n) pairs.resize(n);
  return pairs;
}

std::vector<int64_t> Confusion::most_confused_classes(size_t n) const {
  std::vector<std::pair<int64_t, int64_t>> errors;  // (errors, class)
  for (int64_t c = 0; c < classes_; ++c) {
    int64_t e = 0;
    for (int64_t k = 0; k < classes_; ++k) {
      if (k != c) e += count(c, k) + count(k, c);
    }
    if (e > 0) errors.emplace_back(e, c);
  }
  std::stable_sort(errors.begin(), errors.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<int64_t> out;
  for (size_t i = 0; i < errors.size() && i < n; ++i) out.push_back(errors[i].second);
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json Confusion::to_json(const std::vector<std::string>& names) const {
  check(static_cast<int64_t>(names.size()) == classes_, "confusion matrix: ", names.size(),
        " names for ", classes_, " classes");
  nlohmann::json per_class = nlohmann::json::array();
  for (int64_t c = 0; c < classes_; ++c) {
    int64_t support = 0;
    for (int64_t p = 0; p < classes_; ++p) support += count(c, p);
    per_class.push_back({{"label", names[static_cast<size_t>(c)]},
                         {"precision", precision(c)},
                         {"recall", recall(c)},
                         {"f1", f1(c)},
                         {"support", support}});
  }
  nlohmann::json confused = nlohmann::json::array();
  for (const Pair& p : most_confused(10)) {
    confused.push_back({{"gold", names[static_cast<size_t>(p.gold)]},
                        {"predicted", names[static_cast<size_t>(p.predicted)]},
                        {"count", p.count}});
  }
  return {{"accuracy", accuracy()}, {"macro_f1", macro_f1()}, {"per_class", per_class},
          {"most_confused", confused}};
}

}  // namespace rnn::tagging
