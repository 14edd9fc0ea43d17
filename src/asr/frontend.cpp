#include "rnn/asr/frontend.h"

#include <algorithm>

#include "rnn/core/error.h"

namespace rnn::asr {

template <class T>
ConvFrontEnd<T>::ConvFrontEnd(int64_t mels, int64_t channels, int64_t kernel, int64_t stride,
                              Parameters<T>& store, Rng& rng, const std::string& prefix)
    : mels_(mels), kernel_(kernel), stride_(stride),
      conv_(mels, channels, kernel, store, rng, prefix) {
  // K < k would skip frames between steps.
  check(stride >= 1 && kernel >= stride, "asr conv front end: kernel ", kernel,
        " must be >= the stride ", stride, " (and the stride >= 1)");
}

template <class T>
Tensor<T> ConvFrontEnd<T>::input(const std::vector<const Tensor<T>*>& features) const {
  check(!features.empty(), "asr conv front end: empty batch");
  int64_t longest = 0;
  for (const Tensor<T>* f : features) {
    check(f->rank() == 2 && f->dim(1) == mels_ && f->dim(0) >= 1, "asr: features of shape ",
          shape_str(f->shape()), ", the model reads [F, ", mels_, "]");
    longest = std::max(longest, steps(f->dim(0)));
  }
  const auto batch = static_cast<int64_t>(features.size());
  const int64_t length = (longest - 1) * stride_ + kernel_;  // >= longest * k >= every F
  Tensor<T> x({batch, mels_, length}, T(0));
  for (int64_t b = 0; b < batch; ++b) {
    const Tensor<T>& f = *features[b];
    T* xb = x.data() + b * mels_ * length;
    for (int64_t frame = 0; frame < f.dim(0); ++frame)
      for (int64_t m = 0; m < mels_; ++m) xb[m * length + frame] = f.data()[frame * mels_ + m];
  }
  return x;
}

template <class T>
Tensor<T> ConvFrontEnd<T>::forward(const Tensor<T>& input) const {
  const Tensor<T> z = conv_.forward(input);  // [B, C, L-K+1], every position
  const int64_t batch = z.dim(0), channels = z.dim(1), positions = z.dim(2);
  const int64_t steps = (positions - 1) / stride_ + 1;
  Tensor<T> y({steps, batch, channels});
  for (int64_t t = 0; t < steps; ++t)
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t c = 0; c < channels; ++c)
        y.data()[(t * batch + b) * channels + c] =
            std::max(T(0), z.data()[(b * channels + c) * positions + t * stride_]);
  return y;
}

template <class T>
void ConvFrontEnd<T>::backward(const Tensor<T>& input, const Tensor<T>& y, const Tensor<T>& dy) const {
  check(dy.shape() == y.shape() && y.rank() == 3, "asr conv front end: dy ", shape_str(dy.shape()),
        " does not match y ", shape_str(y.shape()));
  const int64_t steps = y.dim(0), batch = y.dim(1), channels = y.dim(2);
  const int64_t positions = conv_.output_length(input.dim(2));
  Tensor<T> dz({batch, channels, positions}, T(0));  // zero at the positions not kept
  for (int64_t t = 0; t < steps; ++t)
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t i = (t * batch + b) * channels + c;
        if (y.data()[i] > T(0)) dz.data()[(b * channels + c) * positions + t * stride_] = dy.data()[i];
      }
  (void)conv_.backward(input, dz);  // the features need no gradient
}

template class ConvFrontEnd<float>;
template class ConvFrontEnd<double>;

}  // namespace rnn::asr
