#include "rnn/nn/embedding.h"

#include <algorithm>

#include "rnn/nn/init.h"

namespace rnn::nn {

template <class T>
Embedding<T>::Embedding(int64_t num_embeddings, int64_t embedding_dim, Parameters<T>& store,
                        Rng& rng, const std::string& prefix, std::optional<int64_t> padding_idx)
    : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim), store_(&store) {
  check(num_embeddings > 0, "Embedding '", prefix, "': num_embeddings must be positive, got ",
        num_embeddings);
  check(embedding_dim > 0, "Embedding '", prefix, "': embedding_dim must be positive, got ",
        embedding_dim);
  if (padding_idx) {
    const int64_t p = *padding_idx;
    check(p >= -num_embeddings && p < num_embeddings, "Embedding '", prefix, "': padding_idx ", p,
          " out of range for num_embeddings ", num_embeddings);
    padding_idx_ = p < 0 ? p + num_embeddings : p;
  }
  weight_ = store.add(prefix + "weight", {num_embeddings, embedding_dim});
  init::normal(store.value_view(weight_), rng, 0.0, 1.0);
  T* w = store.value(weight_);
  if (padding_idx_)
    std::fill(w + *padding_idx_ * embedding_dim, w + (*padding_idx_ + 1) * embedding_dim, T(0));
}

template <class T>
void Embedding<T>::check_ids(const Tensor<int64_t>& ids, const char* where) const {
  check(!ids.empty(), "Embedding::", where, ": ids must have at least one dimension");
  for (int64_t i = 0; i < ids.numel(); ++i) {
    const int64_t id = ids[i];
    check(id >= 0 && id < num_embeddings_, "Embedding::", where, ": id ", id,
          " at flat position ", i, " of ids ", shape_str(ids.shape()), " is out of range 0..",
          num_embeddings_ - 1);
  }
}

template <class T>
Tensor<T> Embedding<T>::forward(const Tensor<int64_t>& ids) const {
  check_ids(ids, "forward");
  Shape out_shape = ids.shape();
  out_shape.push_back(embedding_dim_);
  Tensor<T> y(out_shape);
  const T* w = store_->value(weight_);
  for (int64_t i = 0; i < ids.numel(); ++i) {
    const T* row = w + ids[i] * embedding_dim_;
    std::copy(row, row + embedding_dim_, y.data() + i * embedding_dim_);
  }
  return y;
}

template <class T>
void Embedding<T>::backward(const Tensor<int64_t>& ids, const Tensor<T>& dy) const {
  check_ids(ids, "backward");
  Shape expected = ids.shape();
  expected.push_back(embedding_dim_);
  check_shape(dy, expected, "Embedding::backward: dy");
  T* dw = store_->grad(weight_);
  for (int64_t i = 0; i < ids.numel(); ++i) {
    if (padding_idx_ && ids[i] == *padding_idx_) continue;
    T* row = dw + ids[i] * embedding_dim_;
    const T* g = dy.data() + i * embedding_dim_;
    for (int64_t e = 0; e < embedding_dim_; ++e) row[e] += g[e];
  }
}

template class Embedding<float>;
template class Embedding<double>;

}  // namespace rnn::nn
