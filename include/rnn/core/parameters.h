// One flat parameter buffer and one flat gradient buffer per model, with named views.
//
// Layers register their tensors once (at construction) and keep the returned ParamId;
// optimizers, clipping and checkpoints work on the two flat spans.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "rnn/core/tensor.h"

namespace rnn {

struct ParamId {
  size_t index = static_cast<size_t>(-1);
  bool valid() const { return index != static_cast<size_t>(-1); }
};

struct ParamInfo {
  std::string name;
  Shape shape;
  size_t offset = 0;  // into the flat buffers
  size_t numel = 0;
};

template <class T>
class Parameters {
 public:
  Parameters() = default;
  // Views point into the buffers, so a store is not copied by accident; move is fine.
  Parameters(const Parameters&) = delete;
  Parameters& operator=(const Parameters&) = delete;
  Parameters(Parameters&&) noexcept = default;
  Parameters& operator=(Parameters&&) noexcept = default;

  // Registers a zero-filled tensor under a unique name. Earlier views become invalid
  // (the buffers may move); ids stay valid.
  ParamId add(const std::string& name, const Shape& shape) {
    check(!name.empty(), "Parameters::add: empty parameter name");
    check(by_name_.find(name) == by_name_.end(), "Parameters::add: duplicate parameter name '",
          name, "'");
    ParamInfo info{name, shape, values_.size(), static_cast<size_t>(shape_numel(shape))};
    values_.resize(values_.size() + info.numel, T(0));
    grads_.resize(values_.size(), T(0));
    by_name_.emplace(name, infos_.size());
    infos_.push_back(std::move(info));
    return ParamId{infos_.size() - 1};
  }

  std::optional<ParamId> find(const std::string& name) const {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return std::nullopt;
    return ParamId{it->second};
  }
  ParamId id(const std::string& name) const {
    auto found = find(name);
    if (!found) fail("unknown parameter name '", name, "'");
    return *found;
  }

  const ParamInfo& info(ParamId id) const { return infos_.at(id.index); }
  const std::vector<ParamInfo>& infos() const { return infos_; }
  size_t size() const { return infos_.size(); }
  size_t numel() const { return values_.size(); }

  T* value(ParamId id) { return values_.data() + info(id).offset; }
  const T* value(ParamId id) const { return values_.data() + info(id).offset; }
  T* grad(ParamId id) { return grads_.data() + info(id).offset; }
  const T* grad(ParamId id) const { return grads_.data() + info(id).offset; }
  TensorView<T> value_view(ParamId id) { return {value(id), info(id).shape}; }
  TensorView<T> grad_view(ParamId id) { return {grad(id), info(id).shape}; }

  std::span<T> values() { return values_; }
  std::span<const T> values() const { return values_; }
  std::span<T> grads() { return grads_; }
  std::span<const T> grads() const { return grads_; }

  void zero_grad() { std::fill(grads_.begin(), grads_.end(), T(0)); }

  // Copies `source` into the named parameter after checking its shape.
  void set(const std::string& name, const Tensor<T>& source) {
    ParamId pid = id(name);
    check(source.shape() == info(pid).shape, "parameter '", name, "': expected shape ",
          shape_str(info(pid).shape), ", got ", shape_str(source.shape()));
    std::copy(source.data(), source.data() + source.numel(), value(pid));
  }
  Tensor<T> get(const std::string& name) const {
    ParamId pid = id(name);
    const T* p = value(pid);
    return Tensor<T>(info(pid).shape, std::vector<T>(p, p + info(pid).numel));
  }
  Tensor<T> get_grad(const std::string& name) const {
    ParamId pid = id(name);
    const T* p = grad(pid);
    return Tensor<T>(info(pid).shape, std::vector<T>(p, p + info(pid).numel));
  }

 private:
  std::vector<T> values_;
  std::vector<T> grads_;
  std::vector<ParamInfo> infos_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace rnn
