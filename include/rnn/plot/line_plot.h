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

// A shaded area between two curves (a prediction interval), drawn under the lines, with
// its own legend entry. Points where x, lower or upper is not finite are skipped.
struct Band {
  std::string label;
  std::vector<double> x, lower, upper;
  int color_of = -1;  // takes the colour of series[color_of] (-1: grey)
};
std::string line_plot_svg(const std::vector<Series>& series, const LinePlotOptions& options,
                          const std::vector<Band>& bands);

}  // namespace rnn::plot
