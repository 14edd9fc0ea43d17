#include "rnn/plot/line_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace rnn::plot {

namespace {

const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                               "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
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

// Round step (1, 2 or 5 times a power of ten) giving about `count` ticks over [lo, hi].
double nice_step(double lo, double hi, int count) {
  const double raw = (hi - lo) / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * magnitude) return m * magnitude;
  }
  return 10.0 * magnitude;
}

std::string format_tick(double v) {
  std::ostringstream s;
  s.precision(4);
  s << v;
  return s.str();
}

}  // namespace

std::string line_plot_svg(const std::vector<Series>& series, const LinePlotOptions& options) {
  return line_plot_svg(series, options, {});
}

std::string line_plot_svg(const std::vector<Series>& series, const LinePlotOptions& options,
                          const std::vector<Band>& bands) {
  const double left = 70, right = 170, top = 40, bottom = 50;
  const double plot_w = options.width - left - right, plot_h = options.height - top - bottom;
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!options.log_y || y > 0.0);
  };
  auto ty = [&](double y) { return options.log_y ? std::log10(y) : y; };

  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const Series& s : series) {
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!usable(s.x[i], s.y[i])) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, ty(s.y[i]));
      y1 = std::max(y1, ty(s.y[i]));
    }
  }
  for (const Band& b : bands) {
    for (size_t i = 0; i < std::min({b.x.size(), b.lower.size(), b.upper.size()}); ++i) {
      for (double y : {b.lower[i], b.upper[i]}) {
        if (!usable(b.x[i], y)) continue;
        x0 = std::min(x0, b.x[i]);
        x1 = std::max(x1, b.x[i]);
        y0 = std::min(y0, ty(y));
        y1 = std::max(y1, ty(y));
      }
    }
  }
  if (!(x0 <= x1)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;  // nothing to draw
  if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
  if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
  const double y_pad = 0.04 * (y1 - y0);
  y0 -= y_pad;
  y1 += y_pad;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * plot_w; };
  auto py = [&](double y) { return top + (1.0 - (ty(y) - y0) / (y1 - y0)) * plot_h; };

  std::ostringstream svg;
  svg.precision(6);
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << options.width << "\" height=\""
      << options.height << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << options.width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
      << escape(options.title) << "</text>\n";

  // Grid and ticks.
  const double xs = nice_step(x0, x1, 6);
  for (double x = std::ceil(x0 / xs) * xs; x <= x1 + 1e-9 * xs; x += xs) {
    svg << "<line x1=\"" << px(x) << "\" y1=\"" << top << "\" x2=\"" << px(x) << "\" y2=\""
        << top + plot_h << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << px(x) << "\" y=\""
        << top + plot_h + 16 << "\" text-anchor=\"middle\">" << format_tick(x) << "</text>\n";
  }
  const double ys = options.log_y ? 1.0 : nice_step(y0, y1, 5);
  for (double y = std::ceil(y0 / ys) * ys; y <= y1 + 1e-9 * ys; y += ys) {
    const double value = options.log_y ? std::pow(10.0, y) : y;
    const double yy = top + (1.0 - (y - y0) / (y1 - y0)) * plot_h;
    svg << "<line x1=\"" << left << "\" y1=\"" << yy << "\" x2=\"" << left + plot_w << "\" y2=\""
        << yy << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << left - 6 << "\" y=\"" << yy + 4
        << "\" text-anchor=\"end\">" << format_tick(value) << "</text>\n";
  }
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\""
      << plot_h << "\" fill=\"none\" stroke=\"#333\"/>\n"
      << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << options.height - 10
      << "\" text-anchor=\"middle\">" << escape(options.x_label) << "</text>\n"
      << "<text transform=\"translate(16," << top + plot_h / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << escape(options.y_label)
      << (options.log_y ? " (log scale)" : "") << "</text>\n";

  const size_t n_colors = sizeof(kColors) / sizeof(kColors[0]);
  for (size_t k = 0; k < bands.size(); ++k) {
    const Band& b = bands[k];
    const char* color = b.color_of >= 0 ? kColors[static_cast<size_t>(b.color_of) % n_colors] : "#888";
    // The upper edge left to right, then the lower edge back: one closed polygon.
    std::ostringstream points;
    points.precision(6);
    const size_t n = std::min({b.x.size(), b.lower.size(), b.upper.size()});
    size_t count = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!usable(b.x[i], b.upper[i]) || !usable(b.x[i], b.lower[i])) continue;
      points << px(b.x[i]) << "," << py(b.upper[i]) << " ";
      ++count;
    }
    for (size_t i = n; i-- > 0;) {
      if (!usable(b.x[i], b.upper[i]) || !usable(b.x[i], b.lower[i])) continue;
      points << px(b.x[i]) << "," << py(b.lower[i]) << " ";
    }
    if (count >= 1) {
      svg << "<polygon fill=\"" << color << "\" fill-opacity=\"0.2\" stroke=\"none\" points=\""
          << points.str() << "\"/>\n";
    }
    const double ly = top + 14 + 18.0 * static_cast<double>(series.size() + k);
    svg << "<rect x=\"" << left + plot_w + 12 << "\" y=\"" << ly - 10 << "\" width=\"20\" height=\"12\" fill=\""
        << color << "\" fill-opacity=\"0.2\"/>\n<text x=\"" << left + plot_w + 38 << "\" y=\"" << ly
        << "\">" << escape(b.label) << "</text>\n";
  }

  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const char* color = kColors[k % n_colors];
    std::ostringstream points;
    points.precision(6);
    size_t count = 0;
    double last_x = 0.0, last_y = 0.0;
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!usable(s.x[i], s.y[i])) continue;
      last_x = px(s.x[i]);
      last_y = py(s.y[i]);
      points << last_x << "," << last_y << " ";
      ++count;
    }
    if (count == 1) {
      svg << "<circle cx=\"" << last_x << "\" cy=\"" << last_y << "\" r=\"3\" fill=\"" << color
          << "\"/>\n";
    } else if (count > 1) {
      svg << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.6\" points=\""
          << points.str() << "\"/>\n";
    }
    const double ly = top + 14 + 18.0 * static_cast<double>(k);
    svg << "<line x1=\"" << left + plot_w + 12 << "\" y1=\"" << ly - 4 << "\" x2=\""
        << left + plot_w + 32 << "\" y2=\"" << ly - 4 << "\" stroke=\"" << color
        << "\" stroke-width=\"2\"/>\n<text x=\"" << left + plot_w + 38 << "\" y=\"" << ly << "\">"
        << escape(s.label) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace rnn::plot
