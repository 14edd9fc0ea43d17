#include "rnn/plot/heatmap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "rnn/core/error.h"

namespace rnn::plot {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e9) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.2g", v);
  }
  return buf;
}

}  // namespace

std::string heatmap_svg(const std::vector<std::vector<double>>& values,
                        const std::vector<std::string>& row_labels,
                        const std::vector<std::string>& col_labels, const HeatmapOptions& o) {
  const size_t R = values.size();
  check(R >= 1, "heatmap: no rows");
  const size_t C = values[0].size();
  check(C >= 1, "heatmap: no columns");
  for (size_t r = 0; r < R; ++r) {
    check(values[r].size() == C, "heatmap: row ", r, " has ", values[r].size(), " values, expected ", C);
    for (double v : values[r]) check(std::isfinite(v) && v >= 0, "heatmap: value ", v, " in row ", r, " is not finite and >= 0");
  }
  check(row_labels.size() == R && col_labels.size() == C, "heatmap: ", row_labels.size(), " row and ",
        col_labels.size(), " column labels for a ", R, "x", C, " matrix");
  check(o.cell >= 4, "heatmap: cell size ", o.cell, " too small");

  size_t longest_row = 1, longest_col = 1;
  for (const auto& l : row_labels) longest_row = std::max(longest_row, l.size());
  for (const auto& l : col_labels) longest_col = std::max(longest_col, l.size());
  const int left = 30 + static_cast<int>(longest_row) * 7;
  const int top = 50 + static_cast<int>(longest_col) * 7;
  const int width = left + static_cast<int>(C) * o.cell + 20;
  const int height = top + static_cast<int>(R) * o.cell + 20;

  double global_max = 0;
  for (const auto& row : values) for (double v : row) global_max = std::max(global_max, v);

  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << width / 2 << "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">"
    << escape(o.title) << "</text>\n";
  s << "<text x=\"" << left + static_cast<int>(C) * o.cell / 2 << "\" y=\"34\" text-anchor=\"middle\">"
    << escape(o.x_label) << "</text>\n";
  s << "<text x=\"12\" y=\"" << top + static_cast<int>(R) * o.cell / 2
    << "\" text-anchor=\"middle\" transform=\"rotate(-90 12 " << top + static_cast<int>(R) * o.cell / 2
    << ")\">" << escape(o.y_label) << "</text>\n";
  for (size_t c = 0; c < C; ++c) {
    const int x = left + static_cast<int>(c) * o.cell + o.cell / 2;
    s << "<text x=\"" << x << "\" y=\"" << top - 4 << "\" transform=\"rotate(-60 " << x << " "
      << top - 4 << ")\">" << escape(col_labels[c]) << "</text>\n";
  }
  for (size_t r = 0; r < R; ++r) {
    double row_sum = 0;
    for (double v : values[r]) row_sum += v;
    const int y = top + static_cast<int>(r) * o.cell;
    s << "<text x=\"" << left - 4 << "\" y=\"" << y + o.cell / 2 + 4 << "\" text-anchor=\"end\">"
      << escape(row_labels[r]) << "</text>\n";
    for (size_t c = 0; c < C; ++c) {
      const double v = values[r][c];
      const double denom = o.normalize_rows ? row_sum : global_max;
      const double share = denom > 0 ? v / denom : 0.0;
      // white (255,255,255) -> dark blue (8,48,107)
      const int red = static_cast<int>(std::lround(255 - share * (255 - 8)));
      const int green = static_cast<int>(std::lround(255 - share * (255 - 48)));
      const int blue = static_cast<int>(std::lround(255 - share * (255 - 107)));
      const int x = left + static_cast<int>(c) * o.cell;
      s << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << o.cell << "\" height=\"" << o.cell
        << "\" fill=\"rgb(" << red << "," << green << "," << blue << ")\" stroke=\"#ddd\"><title>"
        << escape(row_labels[r]) << " -> " << escape(col_labels[c]) << ": " << number(v)
        << "</title></rect>\n";
      if (o.annotate && v > 0) {
        s << "<text x=\"" << x + o.cell / 2 << "\" y=\"" << y + o.cell / 2 + 4
          << "\" text-anchor=\"middle\" font-size=\"9\" fill=\"" << (share > 0.5 ? "white" : "black")
          << "\">" << number(v) << "</text>\n";
      }
    }
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace rnn::plot
