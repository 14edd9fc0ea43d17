// Line charts as standalone SVG (viewable in any browser): training curves, gradient
// norms over time steps, success against sequence length.
#pragma once

#include <string>
#include <vector>

namespace rnn::plot {

struct Series {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;  // non-finite points (and <= 0 on a log axis) are skipped
};

struct LinePlotOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_y = false;
  int width = 760;
  int height = 440;
};

// The SVG document. Series get distinct colours and a legend; axes get ~5 "nice" ticks.
std::string line_plot_svg(const std::vector<Series>& series, const LinePlotOptions& options);

}  // namespace rnn::plot
