#include "rnn/nn/conv1d.h"

#include "rnn/kernels/gemm.h"
#include "rnn/nn/init.h"

namespace rnn::nn {

template <class T>
Conv1d<T>::Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
                  Parameters<T>& store, Rng& rng, const std::string& prefix, bool bias,
                  int64_t dilation)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_size_(kernel_size),
      dilation_(dilation),
      store_(&store) {
  check(in_channels > 0 && out_channels > 0, "Conv1d '", prefix,
        "': channels must be positive, got in ", in_channels, ", out ", out_channels);
  check(kernel_size > 0, "Conv1d '", prefix, "': kernel_size must be positive, got ", kernel_size);
  check(dilation > 0, "Conv1d '", prefix, "': dilation must be positive, got ", dilation);
  weight_ = store.add(prefix + "weight", {out_channels, in_channels, kernel_size});
  if (bias) bias_ = store.add(prefix + "bias", {out_channels});
  // torch.nn.Conv1d.reset_parameters: kaiming_uniform(a = sqrt(5)) on [O,C,K] gives
  // U(-1/sqrt(C*K), 1/sqrt(C*K)); the bias uses the same bound.
  init::linear_default(store.value_view(weight_),
                       bias ? store.value_view(bias_) : TensorView<T>{}, rng);
}

template <class T>
int64_t Conv1d<T>::output_length(int64_t length) const {
  const int64_t field = dilation_ * (kernel_size_ - 1) + 1;
  check(length >= field, "Conv1d: input length ", length, " is shorter than the receptive field ",
        field, " (kernel ", kernel_size_, ", dilation ", dilation_, ")");
  return length - field + 1;
}

template <class T>
void Conv1d<T>::check_input(const Tensor<T>& x, const char* who) const {
  check(x.rank() == 3 && x.dim(1) == in_channels_, "Conv1d::", who, ": x must be [B, ",
        in_channels_, ", L], got ", shape_str(x.shape()));
}

// Columns of one batch row: cols[(c*K + j), t] = x[b, c, t + j*d], so that
// y[b] [O,Lout] = W [O, C*K] cols [C*K, Lout].
template <class T>
static void im2col(const T* xb, int64_t channels, int64_t length, int64_t kernel, int64_t dilation,
                   int64_t lout, T* cols) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t j = 0; j < kernel; ++j) {
      const T* src = xb + c * length + j * dilation;
      T* dst = cols + (c * kernel + j) * lout;
      for (int64_t t = 0; t < lout; ++t) dst[t] = src[t];
    }
}

template <class T>
Tensor<T> Conv1d<T>::forward(const Tensor<T>& x) const {
  check_input(x, "forward");
  const int64_t B = x.dim(0), L = x.dim(2), lout = output_length(L);
  const int64_t ck = in_channels_ * kernel_size_;
  Tensor<T> y({B, out_channels_, lout});
  std::vector<T> cols(static_cast<size_t>(ck * lout));
  const T* w = store_->value(weight_);
  for (int64_t b = 0; b < B; ++b) {
    im2col(x.data() + b * in_channels_ * L, in_channels_, L, kernel_size_, dilation_, lout,
           cols.data());
    T* yb = y.data() + b * out_channels_ * lout;
    if (bias_.valid()) {
      const T* bias = store_->value(bias_);
      for (int64_t o = 0; o < out_channels_; ++o)
        for (int64_t t = 0; t < lout; ++t) yb[o * lout + t] = bias[o];
    }
    kernels::matmul_nn<T>(out_channels_, lout, ck, w, cols.data(), yb, bias_.valid());
  }
  return y;
}

template <class T>
Tensor<T> Conv1d<T>::backward(const Tensor<T>& x, const Tensor<T>& dy) const {
  check_input(x, "backward");
  const int64_t B = x.dim(0), L = x.dim(2), lout = output_length(L);
  check_shape(dy, {B, out_channels_, lout}, "Conv1d::backward: dy");
  const int64_t ck = in_channels_ * kernel_size_;
  std::vector<T> cols(static_cast<size_t>(ck * lout));
  std::vector<T> dcols(static_cast<size_t>(ck * lout));
  Tensor<T> dx(x.shape());
  const T* w = store_->value(weight_);
  T* dw = store_->grad(weight_);
  for (int64_t b = 0; b < B; ++b) {
    const T* dyb = dy.data() + b * out_channels_ * lout;
    im2col(x.data() + b * in_channels_ * L, in_channels_, L, kernel_size_, dilation_, lout,
           cols.data());
    // dW [O, C*K] += dy_b [O, Lout] cols^T [Lout, C*K]
    kernels::matmul_nt<T>(out_channels_, ck, lout, dyb, cols.data(), dw, true);
    if (bias_.valid()) {
      T* db = store_->grad(bias_);
      for (int64_t o = 0; o < out_channels_; ++o)
        for (int64_t t = 0; t < lout; ++t) db[o] += dyb[o * lout + t];
    }
    // dcols [C*K, Lout] = W^T [C*K, O] dy_b [O, Lout], then scattered back (col2im).
    kernels::matmul_tn<T>(ck, lout, out_channels_, w, dyb, dcols.data(), false);
    T* dxb = dx.data() + b * in_channels_ * L;
    for (int64_t c = 0; c < in_channels_; ++c)
      for (int64_t j = 0; j < kernel_size_; ++j) {
        const T* src = dcols.data() + (c * kernel_size_ + j) * lout;
        T* dst = dxb + c * L + j * dilation_;
        for (int64_t t = 0; t < lout; ++t) dst[t] += src[t];
      }
  }
  return dx;
}

template class Conv1d<float>;
template class Conv1d<double>;

}  // namespace rnn::nn
