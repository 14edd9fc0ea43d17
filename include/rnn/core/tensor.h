// Dense row-major tensors that own their storage, and non-owning views.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "rnn/core/error.h"

namespace rnn {

using Shape = std::vector<int64_t>;

// "[3, 5, 2]"
std::string shape_str(const Shape& shape);
// Product of the extents; throws on a negative extent or on overflow past 2^62.
int64_t shape_numel(const Shape& shape);

// A view of contiguous row-major data owned elsewhere (for example a named slice of
// a model's flat parameter buffer).
template <class T>
struct TensorView {
  T* data = nullptr;
  Shape shape;

  int64_t numel() const { return shape_numel(shape); }
  int64_t dim(int i) const { return shape.at(static_cast<size_t>(i)); }
  std::span<T> span() const { return {data, static_cast<size_t>(numel())}; }
  T& operator[](int64_t i) const { return data[i]; }
};

// An owning, contiguous, row-major tensor. Empty (rank 0, no data) by default; an
// empty tensor stands for "not given" in optional arguments.
template <class T>
class Tensor {
 public:
  using value_type = T;

  Tensor() = default;
  explicit Tensor(Shape shape, T fill = T(0))
      : shape_(std::move(shape)), data_(static_cast<size_t>(shape_numel(shape_)), fill) {}
  Tensor(Shape shape, std::vector<T> values) : shape_(std::move(shape)), data_(std::move(values)) {
    check(static_cast<int64_t>(data_.size()) == shape_numel(shape_), "Tensor: ", data_.size(),
          " values do not fill shape ", shape_str(shape_));
  }

  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const {
    // `if` rather than check(): the message (shape_str) is built only on failure.
    if (i < 0 || i >= rank()) {
      fail("Tensor::dim: axis ", i, " out of range for shape ", shape_str(shape_));
    }
    return shape_[static_cast<size_t>(i)];
  }
  int64_t numel() const { return static_cast<int64_t>(data_.size()); }
  bool empty() const { return shape_.empty() && data_.empty(); }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  std::span<T> span() { return data_; }
  std::span<const T> span() const { return data_; }
  std::vector<T>& values() { return data_; }
  const std::vector<T>& values() const { return data_; }
  TensorView<T> view() { return {data_.data(), shape_}; }
  TensorView<const T> view() const { return {data_.data(), shape_}; }

  T& operator[](int64_t i) { return data_[static_cast<size_t>(i)]; }
  const T& operator[](int64_t i) const { return data_[static_cast<size_t>(i)]; }

  // Element access by full index, row-major: t.at(t_, b, h).
  template <class... Index>
  T& at(Index... index) {
    return data_[offset({static_cast<int64_t>(index)...})];
  }
  template <class... Index>
  const T& at(Index... index) const {
    return data_[offset({static_cast<int64_t>(index)...})];
  }

  void fill(T value) { std::fill(data_.begin(), data_.end(), value); }
  // Same data, new shape of the same element count.
  Tensor& reshape(Shape shape) {
    check(shape_numel(shape) == numel(), "Tensor::reshape: cannot view ", shape_str(shape_), " as ",
          shape_str(shape));
    shape_ = std::move(shape);
    return *this;
  }

  template <class U>
  Tensor<U> cast() const {
    return Tensor<U>(shape_, std::vector<U>(data_.begin(), data_.end()));
  }

 private:
  size_t offset(std::initializer_list<int64_t> index) const {
    if (index.size() != shape_.size()) {
      fail("Tensor::at: ", index.size(), " indices for shape ", shape_str(shape_));
    }
    int64_t flat = 0;
    size_t axis = 0;
    for (int64_t i : index) {
      if (i < 0 || i >= shape_[axis]) {
        fail("Tensor::at: index ", i, " out of range on axis ", axis, " of shape ",
             shape_str(shape_));
      }
      flat = flat * shape_[axis] + i;
      ++axis;
    }
    return static_cast<size_t>(flat);
  }

  Shape shape_;
  std::vector<T> data_;
};

// Throws unless `t` has exactly `expected` (names the tensor in the message).
template <class T>
void check_shape(const Tensor<T>& t, const Shape& expected, const std::string& name) {
  if (t.shape() != expected) {
    fail(name, ": expected shape ", shape_str(expected), ", got ", shape_str(t.shape()));
  }
}

// Throws rnn::NonFiniteError if any element is NaN or Inf, naming the tensor and the first bad
// index.
template <class T>
void check_finite(std::span<const T> values, const std::string& name);

// True when no element is NaN or Inf (check_finite's scan, without the error).
template <class T>
bool all_finite(std::span<const T> values);

}  // namespace rnn
