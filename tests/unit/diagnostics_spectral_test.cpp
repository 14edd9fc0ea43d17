// Spectral radius and largest singular value by power iteration against matrices whose
// eigenvalue moduli / singular values are known by construction: A = Q B Q^T with Q
// orthogonal and B block-diagonal (scaled 2x2 rotations for complex pairs, real entries),
// non-normal variants (B's rotation blocks conjugated by a shear), and U diag(s) V^T.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "rnn/core/error.h"
#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/diagnostics/spectral.h"
#include "rnn/nn/init.h"

namespace rnn::diagnostics {
namespace {

using Matrix = std::vector<double>;  // row-major n x n

Matrix multiply(const Matrix& a, const Matrix& b, int64_t n) {
  Matrix c(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < n; ++j) c[i * n + j] += a[i * n + k] * b[k * n + j];
  return c;
}

Matrix transpose(const Matrix& a, int64_t n) {
  Matrix t(a.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) t[j * n + i] = a[i * n + j];
  return t;
}

Matrix random_orthogonal(int64_t n, uint64_t seed) {
  Tensor<double> q({n, n});
  Rng rng(seed);
  init::orthogonal<double>(q.view(), rng);
  return q.values();
}

// Block-diagonal B: for each (modulus, angle) a 2x2 block modulus * R(angle) (angle 0 with
// modulus < 0 gives a 1x1 real entry).
struct Block {
  double modulus;
  double angle;  // NaN: a real 1x1 entry `modulus` (may be negative)
};

Matrix block_diagonal(const std::vector<Block>& blocks, int64_t n, bool shear) {
  Matrix b(static_cast<size_t>(n * n), 0.0);
  int64_t at = 0;
  for (const Block& blk : blocks) {
    if (std::isnan(blk.angle)) {
      b[at * n + at] = blk.modulus;
      at += 1;
      continue;
    }
    double r[4] = {blk.modulus * std::cos(blk.angle), -blk.modulus * std::sin(blk.angle),
                   blk.modulus * std::sin(blk.angle), blk.modulus * std::cos(blk.angle)};
    if (shear) {  // S R S^-1 with S = [[1, 1.5], [0, 1]]: same eigenvalues, not normal
      const double s = 1.5;
      const double a = r[0], bb = r[1], c = r[2], d = r[3];
      // S R = [[a + s c, bb + s d], [c, d]]; (S R) S^-1, S^-1 = [[1, -s], [0, 1]]
      const double m00 = a + s * c, m01 = bb + s * d, m10 = c, m11 = d;
      r[0] = m00;
      r[1] = -s * m00 + m01;
      r[2] = m10;
      r[3] = -s * m10 + m11;
    }
    b[at * n + at] = r[0];
    b[at * n + at + 1] = r[1];
    b[(at + 1) * n + at] = r[2];
    b[(at + 1) * n + at + 1] = r[3];
    at += 2;
  }
  EXPECT_EQ(at, n);
  return b;
}

Matrix conjugated(const std::vector<Block>& blocks, int64_t n, uint64_t seed, bool shear = false) {
  const Matrix q = random_orthogonal(n, seed);
  return multiply(multiply(q, block_diagonal(blocks, n, shear), n), transpose(q, n), n);
}

constexpr double kReal = std::numeric_limits<double>::quiet_NaN();

TEST(SpectralRadius, DominantComplexPairOfANormalMatrix) {
  // Eigenvalue moduli 1.3 (complex pair), 0.9 (pair), 0.5, -0.4: rho = 1.3. Plain power
  // iteration's Rayleigh quotient would rotate forever; the growth rate does not.
  const Matrix a = conjugated({{1.3, 0.7}, {0.9, 2.0}, {0.5, kReal}, {-0.4, kReal}}, 6, 3);
  EXPECT_NEAR(spectral_radius<double>(a, 6), 1.3, 1e-9);
}

TEST(SpectralRadius, DominantNegativeRealAndPlusMinusPair) {
  EXPECT_NEAR(spectral_radius<double>(conjugated({{-1.1, kReal}, {0.8, 1.0}, {0.2, kReal}}, 4, 5), 4),
              1.1, 1e-9);
  // +0.7 and -0.7: equal moduli, the iterate never converges to one eigenvector.
  EXPECT_NEAR(spectral_radius<double>(conjugated({{0.7, kReal}, {-0.7, kReal}, {0.3, 0.4}}, 4, 6), 4),
              0.7, 1e-9);
}

TEST(SpectralRadius, SmallRadiusAndNearlyEqualModuli) {
  EXPECT_NEAR(spectral_radius<double>(conjugated({{0.05, 1.2}, {0.049, 0.3}, {0.01, kReal}}, 5, 7), 5),
              0.05, 0.05 * 2e-2);
}

TEST(SpectralRadius, NonNormalMatrixWithComplexDominantPair) {
  // The shear makes ||A^k v|| oscillate by up to cond(S) ~ 3.3 around rho^k; the mean
  // growth over 2000 steps is within ~0.1%.
  const Matrix a = conjugated({{1.2, 0.9}, {0.6, 2.4}, {0.3, kReal}}, 5, 11, true);
  PowerIterationOptions o;
  o.iterations = 2000;
  o.burn_in = 100;
  EXPECT_NEAR(spectral_radius<double>(a, 5, o), 1.2, 1.2 * 2e-3);
  // The default budget is within 1%.
  EXPECT_NEAR(spectral_radius<double>(a, 5), 1.2, 1.2 * 1e-2);
}

TEST(SpectralRadius, FloatMatrixAndNilpotent) {
  const Matrix a = conjugated({{0.95, 0.5}, {0.5, kReal}}, 3, 13);
  const std::vector<float> af(a.begin(), a.end());
  EXPECT_NEAR(spectral_radius<float>(af, 3), 0.95, 1e-5);
  const std::vector<double> nil = {0, 1, 0, 0, 0, 1, 0, 0, 0};  // strictly upper triangular
  EXPECT_EQ(spectral_radius<double>(nil, 3), 0.0);
}

TEST(LargestSingularValue, RectangularUSVt) {
  // A [4, 3] = U[:, :3] diag(2.5, 1.0, 0.3) V^T.
  const Matrix u = random_orthogonal(4, 21), v = random_orthogonal(3, 22);
  const double s[3] = {1.0, 2.5, 0.3};
  std::vector<double> a(12, 0.0);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 3; ++k) a[i * 3 + j] += u[i * 4 + k] * s[k] * v[j * 3 + k];
  EXPECT_NEAR(largest_singular_value<double>(a, 4, 3), 2.5, 1e-9);
  // sigma_max >= rho, strictly for a non-normal matrix.
  const Matrix nn = conjugated({{1.2, 0.9}, {0.3, kReal}}, 3, 11, true);
  EXPECT_GT(largest_singular_value<double>(nn, 3, 3), spectral_radius<double>(nn, 3) * 1.5);
}

TEST(RecurrentMatrixStats, PerGateBlockAndMaximum) {
  // [3H, H] with H = 4: blocks of radius 0.6, 1.4, 0.9 (GRU-like r, z, n).
  const int64_t H = 4;
  std::vector<float> w;
  const double radii[3] = {0.6, 1.4, 0.9};
  for (int g = 0; g < 3; ++g) {
    const Matrix b = conjugated({{radii[g], 0.8}, {radii[g] * 0.5, kReal}, {0.1, kReal}}, H, 30 + g);
    w.insert(w.end(), b.begin(), b.end());
  }
  const RecurrentMatrixStats s = recurrent_matrix_stats<float>("gru.weight_hh_l0", w, 3 * H, H);
  ASSERT_EQ(s.blocks, 3);
  for (int g = 0; g < 3; ++g) {
    EXPECT_NEAR(s.block_radius[static_cast<size_t>(g)], radii[g], 1e-4) << "block " << g;
    EXPECT_NEAR(s.block_sigma[static_cast<size_t>(g)], radii[g], 1e-4) << "block " << g;  // normal
  }
  EXPECT_NEAR(s.radius, 1.4, 1e-4);
  EXPECT_NEAR(s.sigma, 1.4, 1e-4);

  // Not a stack of square blocks (LSTM with projection): sigma only.
  const std::vector<float> rect(6 * 4, 0.25f);
  const RecurrentMatrixStats p = recurrent_matrix_stats<float>("x.weight_hh_l0", rect, 6, 4);
  EXPECT_EQ(p.blocks, 1);
  EXPECT_TRUE(std::isnan(p.radius));
  EXPECT_NEAR(p.sigma, 0.25 * std::sqrt(24.0), 1e-5);
}

TEST(RecurrentMatrixStats, FoundByNameInTheStore) {
  Parameters<float> store;
  store.add("rnn.weight_ih_l0", {8, 3});
  store.add("rnn.weight_hh_l0", {8, 2});
  store.add("rnn.bias_hh_l0", {8});
  store.add("dec.weight_hh_l1", {2, 2});
  const auto stats = recurrent_stats(store);
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].name, "rnn.weight_hh_l0");
  EXPECT_EQ(stats[0].blocks, 4);
  EXPECT_EQ(stats[1].name, "dec.weight_hh_l1");
  EXPECT_EQ(stats[0].radius, 0.0);  // all zeros
}

TEST(ScaleToSpectralRadius, EveryBlockGetsTheTarget) {
  const int64_t H = 5;
  std::vector<float> w(static_cast<size_t>(4 * H * H));
  Rng rng(3);
  for (auto& x : w) x = static_cast<float>(rng.normal());
  scale_to_spectral_radius<float>(w, 4 * H, H, 1.5);
  const RecurrentMatrixStats s = recurrent_matrix_stats<float>("w", w, 4 * H, H);
  for (double r : s.block_radius) EXPECT_NEAR(r, 1.5, 1.5 * 2e-2);
}

}  // namespace
}  // namespace rnn::diagnostics
