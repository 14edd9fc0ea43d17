#include "rnn/core/tensor.h"

#include <cmath>
#include <limits>

namespace rnn {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  constexpr int64_t kLimit = int64_t{1} << 62;
  int64_t n = 1;
  for (int64_t extent : shape) {
    check(extent >= 0, "negative extent in shape ", shape_str(shape));
    if (extent != 0 && n > kLimit / extent) fail("shape ", shape_str(shape), " is too large");
    n *= extent;
  }
  return n;
}

template <class T>
void check_finite(std::span<const T> values, const std::string& name) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      fail(name, " holds a non-finite value (", values[i], ") at flat index ", i);
    }
  }
}

template void check_finite<float>(std::span<const float>, const std::string&);
template void check_finite<double>(std::span<const double>, const std::string&);

}  // namespace rnn
