#include "rnn/seq2seq/attention.h"

#include <cmath>
#include <limits>

#include "rnn/kernels/gemm.h"
#include "rnn/nn/init.h"

namespace rnn::seq2seq {

std::string to_string(AttentionScore score) {
  switch (score) {
    case AttentionScore::None: return "none";
    case AttentionScore::Dot: return "dot";
    case AttentionScore::General: return "general";
    case AttentionScore::Additive: return "additive";
  }
  return "?";
}

AttentionScore attention_score_from_string(const std::string& s) {
  if (s == "none") return AttentionScore::None;
  if (s == "dot") return AttentionScore::Dot;
  if (s == "general") return AttentionScore::General;
  if (s == "additive" || s == "bahdanau") return AttentionScore::Additive;
  fail("attention must be none, dot, general or additive, got '", s, "'");
}

template <class T>
Attention<T>::Attention(const AttentionConfig& config, Parameters<T>& store, Rng& rng,
                        const std::string& prefix)
    : config_(config), store_(&store) {
  check(config.score != AttentionScore::None, "Attention: score must not be none");
  check(config.query_size > 0 && config.memory_size > 0, "Attention: query size ",
        config.query_size, " and memory size ", config.memory_size, " must be positive");
  check(config.attention_size >= 0, "Attention: attention size must be >= 0, got ",
        config.attention_size);
  if (config.score == AttentionScore::Dot) {
    check(config.query_size == config.memory_size, "Attention: dot scores need query size (",
          config.query_size, ") == memory size (", config.memory_size, ")");
  } else if (config.score == AttentionScore::General) {
    weight_ = store.add(prefix + "weight", {config.query_size, config.memory_size});
    const double bound = 1.0 / std::sqrt(static_cast<double>(config.memory_size));
    init::uniform(store.value_view(weight_), rng, -bound, bound);
  } else {
    if (config_.attention_size == 0) config_.attention_size = config.query_size;
    const int64_t a = config_.attention_size;
    key_ = std::make_unique<nn::Linear<T>>(config.memory_size, a, store, rng, prefix + "key.", false);
    query_ = std::make_unique<nn::Linear<T>>(config.query_size, a, store, rng, prefix + "query.");
    v_ = store.add(prefix + "v", {a});
    const double bound = 1.0 / std::sqrt(static_cast<double>(a));
    init::uniform(store.value_view(v_), rng, -bound, bound);
  }
}

template <class T>
AttentionMemory<T> Attention<T>::prepare(Tensor<T> memory, std::vector<int64_t> lengths) const {
  check(memory.rank() == 3 && memory.dim(2) == config_.memory_size && memory.dim(0) > 0 &&
            memory.dim(1) > 0,
        "Attention: memory must be [S,B,", config_.memory_size, "], got ",
        shape_str(memory.shape()));
  const int64_t s = memory.dim(0), b = memory.dim(1);
  check(static_cast<int64_t>(lengths.size()) == b, "Attention: ", lengths.size(),
        " lengths for a batch of ", b);
  for (size_t i = 0; i < lengths.size(); ++i)
    check(lengths[i] >= 1 && lengths[i] <= s, "Attention: lengths[", i, "] = ", lengths[i],
          " outside 1..", s);
  AttentionMemory<T> out;
  if (config_.score == AttentionScore::Additive) out.keys = key_->forward(memory);
  out.memory = std::move(memory);
  out.lengths = std::move(lengths);
  return out;
}

template <class T>
AttentionMemory<T> Attention<T>::select(const AttentionMemory<T>& memory,
                                        const std::vector<int64_t>& rows) {
  const int64_t s = memory.steps(), b = memory.batch();
  const int64_t n = static_cast<int64_t>(rows.size());
  auto gather = [&](const Tensor<T>& t) {
    if (t.empty()) return Tensor<T>();
    const int64_t f = t.dim(2);
    Tensor<T> out({s, n, f});
    for (int64_t si = 0; si < s; ++si)
      for (int64_t r = 0; r < n; ++r) {
        check(rows[r] >= 0 && rows[r] < b, "Attention::select: row ", rows[r], " out of range");
        const T* src = t.data() + (si * b + rows[r]) * f;
        std::copy(src, src + f, out.data() + (si * n + r) * f);
      }
    return out;
  };
  AttentionMemory<T> out;
  out.memory = gather(memory.memory);
  out.keys = gather(memory.keys);
  out.lengths.resize(rows.size());
  for (int64_t r = 0; r < n; ++r) out.lengths[r] = memory.lengths[rows[r]];
  return out;
}

template <class T>
Tensor<T> Attention<T>::forward(const AttentionMemory<T>& mem, const Tensor<T>& query,
                                AttentionStep<T>& step) const {
  const int64_t S = mem.steps(), B = mem.batch(), M = config_.memory_size,
                Q = config_.query_size;
  check_shape(query, {B, Q}, "Attention: query");
  step.query = query;
  Tensor<T> scores({B, S});
  if (config_.score == AttentionScore::Dot || config_.score == AttentionScore::General) {
    const T* u = query.data();
    if (config_.score == AttentionScore::General) {
      // u [B,M] = q [B,Q] W [Q,M]
      step.u = Tensor<T>({B, M});
      kernels::matmul_nn<T>(B, M, Q, query.data(), store_->value(weight_), step.u.data(), false);
      u = step.u.data();
    }
    // e[b,s] = u[b] . m[s,b]
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < mem.lengths[b]; ++s) {
        const T* m = mem.memory.data() + (s * B + b) * M;
        const T* ub = u + b * M;
        T e = 0;
        for (int64_t k = 0; k < M; ++k) e += ub[k] * m[k];
        scores[b * S + s] = e;
      }
  } else {
    const int64_t A = config_.attention_size;
    const Tensor<T> p = query_->forward(query);  // [B,A] = q W_q^T + b
    const T* v = store_->value(v_);
    step.z = Tensor<T>({S, B, A});
    // z[s,b] = tanh(k[s,b] + p[b]); e[b,s] = v . z[s,b]
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < mem.lengths[b]; ++s) {
        const T* k = mem.keys.data() + (s * B + b) * A;
        T* z = step.z.data() + (s * B + b) * A;
        T e = 0;
        for (int64_t j = 0; j < A; ++j) {
          z[j] = std::tanh(k[j] + p[b * A + j]);
          e += v[j] * z[j];
        }
        scores[b * S + s] = e;
      }
  }
  // a[b,s] = exp(e - max) / sum over s < len[b]
  step.weights = Tensor<T>({B, S});
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = mem.lengths[b];
    T mx = -std::numeric_limits<T>::infinity();
    for (int64_t s = 0; s < len; ++s) mx = std::max(mx, scores[b * S + s]);
    T sum = 0;
    for (int64_t s = 0; s < len; ++s) {
      const T w = std::exp(scores[b * S + s] - mx);
      step.weights[b * S + s] = w;
      sum += w;
    }
    for (int64_t s = 0; s < len; ++s) step.weights[b * S + s] /= sum;
  }
  // c[b] = sum_s a[b,s] m[s,b]
  Tensor<T> context({B, M});
  for (int64_t b = 0; b < B; ++b) {
    T* c = context.data() + b * M;
    for (int64_t s = 0; s < mem.lengths[b]; ++s) {
      const T a = step.weights[b * S + s];
      const T* m = mem.memory.data() + (s * B + b) * M;
      for (int64_t k = 0; k < M; ++k) c[k] += a * m[k];
    }
  }
  return context;
}

template <class T>
Tensor<T> Attention<T>::backward(const AttentionMemory<T>& mem, const AttentionStep<T>& step,
                                 const Tensor<T>& dcontext, AttentionMemoryGrad<T>& grad) const {
  const int64_t S = mem.steps(), B = mem.batch(), M = config_.memory_size,
                Q = config_.query_size;
  check_shape(dcontext, {B, M}, "Attention::backward: dcontext");
  if (grad.dmemory.empty()) grad.dmemory = Tensor<T>({S, B, M});
  // da[b,s] = dc[b] . m[s,b];  dm[s,b] += a[b,s] dc[b]
  // de[b,s] = a (da - sum_s a da)
  Tensor<T> de({B, S});
  for (int64_t b = 0; b < B; ++b) {
    const T* dc = dcontext.data() + b * M;
    T total = 0;
    for (int64_t s = 0; s < mem.lengths[b]; ++s) {
      const T* m = mem.memory.data() + (s * B + b) * M;
      T* dm = grad.dmemory.data() + (s * B + b) * M;
      const T a = step.weights[b * S + s];
      T da = 0;
      for (int64_t k = 0; k < M; ++k) {
        da += dc[k] * m[k];
        dm[k] += a * dc[k];
      }
      de[b * S + s] = da;
      total += a * da;
    }
    for (int64_t s = 0; s < mem.lengths[b]; ++s)
      de[b * S + s] = step.weights[b * S + s] * (de[b * S + s] - total);
  }
  Tensor<T> dquery({B, Q});
  if (config_.score == AttentionScore::Dot || config_.score == AttentionScore::General) {
    const bool general = config_.score == AttentionScore::General;
    const T* u = general ? step.u.data() : step.query.data();
    // du[b] = sum_s de[b,s] m[s,b];  dm[s,b] += de[b,s] u[b]
    Tensor<T> du({B, M});
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < mem.lengths[b]; ++s) {
        const T d = de[b * S + s];
        const T* m = mem.memory.data() + (s * B + b) * M;
        T* dm = grad.dmemory.data() + (s * B + b) * M;
        for (int64_t k = 0; k < M; ++k) {
          du[b * M + k] += d * m[k];
          dm[k] += d * u[b * M + k];
        }
      }
    if (general) {
      // dW [Q,M] += q^T du;  dq [B,Q] = du W^T
      kernels::matmul_tn<T>(Q, M, B, step.query.data(), du.data(), store_->grad(weight_), true);
      kernels::matmul_nt<T>(B, Q, M, du.data(), store_->value(weight_), dquery.data(), false);
    } else {
      dquery = std::move(du);
    }
  } else {
    const int64_t A = config_.attention_size;
    if (grad.dkeys.empty()) grad.dkeys = Tensor<T>({S, B, A});
    const T* v = store_->value(v_);
    T* dv = store_->grad(v_);
    // dv += de z;  dpre = de v (1 - z^2);  dkeys += dpre;  dp[b] = sum_s dpre
    Tensor<T> dp({B, A});
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < mem.lengths[b]; ++s) {
        const T d = de[b * S + s];
        const T* z = step.z.data() + (s * B + b) * A;
        T* dk = grad.dkeys.data() + (s * B + b) * A;
        for (int64_t j = 0; j < A; ++j) {
          dv[j] += d * z[j];
          const T dpre = d * v[j] * (T(1) - z[j] * z[j]);
          dk[j] += dpre;
          dp[b * A + j] += dpre;
        }
      }
    dquery = query_->backward(step.query, dp);
  }
  return dquery;
}

template <class T>
Tensor<T> Attention<T>::backward_memory(const AttentionMemory<T>& mem,
                                        AttentionMemoryGrad<T>& grad) const {
  if (grad.dmemory.empty()) grad.dmemory = Tensor<T>(mem.memory.shape());
  if (config_.score == AttentionScore::Additive && !grad.dkeys.empty()) {
    const Tensor<T> dm = key_->backward(mem.memory, grad.dkeys);
    for (int64_t i = 0; i < dm.numel(); ++i) grad.dmemory[i] += dm[i];
    grad.dkeys = Tensor<T>();
  }
  return std::move(grad.dmemory);
}

template class Attention<float>;
template class Attention<double>;

}  // namespace rnn::seq2seq
