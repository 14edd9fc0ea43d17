#include "rnn/diagnostics/spectral.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "rnn/core/error.h"
#include "rnn/core/rng.h"

namespace rnn::diagnostics {

namespace {

void check_options(const PowerIterationOptions& o, const char* where) {
  check(o.iterations >= 1 && o.burn_in >= 0 && o.burn_in < o.iterations, where,
        ": need 0 <= burn_in < iterations, got burn_in ", o.burn_in, ", iterations ", o.iterations);
}

double norm2(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

std::vector<double> random_unit(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& x : v) x = rng.normal();
  const double s = norm2(v);
  for (auto& x : v) x /= s;
  return v;
}

// out = A v, A [R,C] row-major.
template <class T>
void matvec(const T* a, int64_t rows, int64_t cols, const std::vector<double>& v,
            std::vector<double>& out) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = a + r * cols;
    double s = 0.0;
    for (int64_t c = 0; c < cols; ++c) s += static_cast<double>(row[c]) * v[static_cast<size_t>(c)];
    out[static_cast<size_t>(r)] = s;
  }
}

// out = A^T u, A [R,C] row-major.
template <class T>
void matvec_t(const T* a, int64_t rows, int64_t cols, const std::vector<double>& u,
              std::vector<double>& out) {
  std::fill(out.begin(), out.end(), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = a + r * cols;
    const double ur = u[static_cast<size_t>(r)];
    for (int64_t c = 0; c < cols; ++c) out[static_cast<size_t>(c)] += static_cast<double>(row[c]) * ur;
  }
}

template <class T>
double radius_of(const T* a, int64_t n, const PowerIterationOptions& o) {
  std::vector<double> v = random_unit(n, o.seed), w(static_cast<size_t>(n));
  double log_sum = 0.0;
  for (int64_t k = 1; k <= o.iterations; ++k) {
    matvec(a, n, n, v, w);
    const double s = norm2(w);
    if (!(s > 0.0)) {
      // A^k v = 0 for a random start: the matrix is nilpotent (radius 0).
      if (!std::isfinite(s)) return std::numeric_limits<double>::quiet_NaN();
      return 0.0;
    }
    if (k > o.burn_in) log_sum += std::log(s);
    for (size_t i = 0; i < w.size(); ++i) v[i] = w[i] / s;
  }
  return std::exp(log_sum / static_cast<double>(o.iterations - o.burn_in));
}

template <class T>
double sigma_of(const T* a, int64_t rows, int64_t cols, const PowerIterationOptions& o) {
  std::vector<double> v = random_unit(cols, o.seed), u(static_cast<size_t>(rows)),
                      w(static_cast<size_t>(cols));
  for (int64_t k = 0; k < o.iterations; ++k) {
    matvec(a, rows, cols, v, u);
    matvec_t(a, rows, cols, u, w);
    const double s = norm2(w);
    if (!(s > 0.0)) return std::isfinite(s) ? 0.0 : std::numeric_limits<double>::quiet_NaN();
    for (size_t i = 0; i < w.size(); ++i) v[i] = w[i] / s;
  }
  matvec(a, rows, cols, v, u);
  return norm2(u);
}

}  // namespace

template <class T>
double spectral_radius(std::span<const T> a, int64_t n, const PowerIterationOptions& options) {
  check(n >= 1, "spectral_radius: matrix side must be >= 1, got ", n);
  check(static_cast<int64_t>(a.size()) == n * n, "spectral_radius: ", a.size(),
        " values for a [", n, ", ", n, "] matrix");
  check_options(options, "spectral_radius");
  return radius_of(a.data(), n, options);
}

template <class T>
double largest_singular_value(std::span<const T> a, int64_t rows, int64_t cols,
                              const PowerIterationOptions& options) {
  check(rows >= 1 && cols >= 1, "largest_singular_value: bad shape [", rows, ", ", cols, "]");
  check(static_cast<int64_t>(a.size()) == rows * cols, "largest_singular_value: ", a.size(),
        " values for a [", rows, ", ", cols, "] matrix");
  check_options(options, "largest_singular_value");
  return sigma_of(a.data(), rows, cols, options);
}

nlohmann::json RecurrentMatrixStats::to_json() const {
  auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); };
  nlohmann::json br = nlohmann::json::array(), bs = nlohmann::json::array();
  for (double x : block_radius) br.push_back(num(x));
  for (double x : block_sigma) bs.push_back(num(x));
  return {{"name", name}, {"blocks", blocks}, {"radius", num(radius)}, {"sigma", num(sigma)},
          {"block_radius", br}, {"block_sigma", bs}};
}

template <class T>
RecurrentMatrixStats recurrent_matrix_stats(const std::string& name, std::span<const T> w,
                                            int64_t rows, int64_t cols,
                                            const PowerIterationOptions& options) {
  check(rows >= 1 && cols >= 1 && static_cast<int64_t>(w.size()) == rows * cols,
        "recurrent_matrix_stats: '", name, "' has ", w.size(), " values for [", rows, ", ", cols, "]");
  check_options(options, "recurrent_matrix_stats");
  RecurrentMatrixStats s;
  s.name = name;
  const bool square_blocks = rows % cols == 0;
  s.blocks = square_blocks ? rows / cols : 1;
  const int64_t block_rows = square_blocks ? cols : rows;
  s.radius = square_blocks ? 0.0 : std::numeric_limits<double>::quiet_NaN();
  for (int64_t g = 0; g < s.blocks; ++g) {
    const T* block = w.data() + g * block_rows * cols;
    const double r = square_blocks ? radius_of(block, cols, options)
                                   : std::numeric_limits<double>::quiet_NaN();
    const double sg = sigma_of(block, block_rows, cols, options);
    s.block_radius.push_back(r);
    s.block_sigma.push_back(sg);
    if (square_blocks) s.radius = std::max(s.radius, r);
    s.sigma = std::max(s.sigma, sg);
  }
  return s;
}

template <class T>
std::vector<RecurrentMatrixStats> recurrent_stats(const Parameters<T>& store,
                                                  const PowerIterationOptions& options) {
  std::vector<RecurrentMatrixStats> out;
  for (const ParamInfo& info : store.infos()) {
    if (info.name.find("weight_hh") == std::string::npos || info.shape.size() != 2) continue;
    const T* p = store.values().data() + info.offset;
    out.push_back(recurrent_matrix_stats<T>(info.name, std::span<const T>(p, info.numel),
                                            info.shape[0], info.shape[1], options));
  }
  return out;
}

template <class T>
void scale_to_spectral_radius(std::span<T> w, int64_t rows, int64_t cols, double radius,
                              const PowerIterationOptions& options) {
  check(radius > 0.0 && std::isfinite(radius), "scale_to_spectral_radius: radius must be > 0, got ",
        radius);
  check(cols >= 1 && rows % cols == 0 && static_cast<int64_t>(w.size()) == rows * cols,
        "scale_to_spectral_radius: [", rows, ", ", cols, "] is not a stack of square blocks");
  check_options(options, "scale_to_spectral_radius");
  for (int64_t g = 0; g < rows / cols; ++g) {
    T* block = w.data() + g * cols * cols;
    const double r = radius_of<T>(block, cols, options);
    check(r > 0.0 && std::isfinite(r), "scale_to_spectral_radius: gate block ", g,
          " has spectral radius ", r, "; it cannot be scaled to ", radius);
    const double f = radius / r;
    for (int64_t i = 0; i < cols * cols; ++i) block[i] = static_cast<T>(static_cast<double>(block[i]) * f);
  }
}

#define RNN_INSTANTIATE_SPECTRAL(T)                                                              \
  template double spectral_radius<T>(std::span<const T>, int64_t, const PowerIterationOptions&); \
  template double largest_singular_value<T>(std::span<const T>, int64_t, int64_t,                \
                                            const PowerIterationOptions&);                       \
  template RecurrentMatrixStats recurrent_matrix_stats<T>(                                       \
      const std::string&, std::span<const T>, int64_t, int64_t, const PowerIterationOptions&);   \
  template std::vector<RecurrentMatrixStats> recurrent_stats<T>(const Parameters<T>&,            \
                                                                const PowerIterationOptions&);   \
  template void scale_to_spectral_radius<T>(std::span<T>, int64_t, int64_t, double,              \
                                            const PowerIterationOptions&);
RNN_INSTANTIATE_SPECTRAL(float)
RNN_INSTANTIATE_SPECTRAL(double)
#undef RNN_INSTANTIATE_SPECTRAL

}  // namespace rnn::diagnostics
