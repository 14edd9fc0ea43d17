// Heatmaps as standalone SVG: confusion matrices (rows = gold, columns = predicted).
#pragma once

#include <string>
#include <vector>

namespace rnn::plot {

struct HeatmapOptions {
  std::string title;
  std::string x_label = "predicted";
  std::string y_label = "gold";
  bool normalize_rows = true;  // colour by each row's share (counts still printed)
  bool annotate = true;        // print the value in each non-zero cell
  int cell = 30;               // cell size in pixels
};

// values [R][C] (finite, >= 0), one label per row and per column. Colour runs from white (0)
// to dark blue (the largest value, or 1 with normalize_rows). Throws rnn::Error on ragged
// input or mismatched label counts.
std::string heatmap_svg(const std::vector<std::vector<double>>& values,
                        const std::vector<std::string>& row_labels,
                        const std::vector<std::string>& col_labels, const HeatmapOptions& options);

}  // namespace rnn::plot
