// A lookup table, torch.nn.Embedding: y[..., :] = weight[id, :].
//
// Letters: V num_embeddings (vocabulary), E embedding_dim; ids may have any shape S.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"

namespace rnn::nn {

template <class T>
class Embedding {
 public:
  // Registers `prefix + "weight"` [V,E] in `store`, initialised N(0, 1) from `rng` in
  // row-major order, as PyTorch does. `padding_idx` (in -V..V-1; negative counts from the
  // end) names a row that is zeroed at construction and never receives a gradient.
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Parameters<T>& store, Rng& rng,
            const std::string& prefix = "", std::optional<int64_t> padding_idx = std::nullopt);

  int64_t num_embeddings() const { return num_embeddings_; }
  int64_t embedding_dim() const { return embedding_dim_; }
  std::optional<int64_t> padding_idx() const { return padding_idx_; }  // normalised to 0..V-1
  ParamId weight_id() const { return weight_; }
  Parameters<T>& store() const { return *store_; }

  // ids S (each in 0..V-1) -> y [S..., E]. An id out of range throws rnn::Error naming
  // the id and its flat position.
  Tensor<T> forward(const Tensor<int64_t>& ids) const;

  // dy [S..., E]: accumulates dweight[id, :] += dy[..., :] for every position whose id is
  // not padding_idx. (Ids are not inputs one can differentiate, so nothing is returned.)
  void backward(const Tensor<int64_t>& ids, const Tensor<T>& dy) const;

 private:
  void check_ids(const Tensor<int64_t>& ids, const char* where) const;

  int64_t num_embeddings_;
  int64_t embedding_dim_;
  std::optional<int64_t> padding_idx_;
  Parameters<T>* store_;
  ParamId weight_;
};

extern template class Embedding<float>;
extern template class Embedding<double>;

}  // namespace rnn::nn
