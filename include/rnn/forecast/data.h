// Reading time series from any CSV: columns chosen by name, missing values reported and
// then rejected, dropped, carried forward or interpolated.
//
// Letters: N rows (time steps), F features (targets first, then covariates).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rnn/core/tensor.h"

namespace rnn::forecast {

// A CSV file as text cells: a header row, then one row per line. Comma-separated;
// fields may be double-quoted ("" inside quotes is one quote); \r\n line ends accepted;
// blank lines are skipped.
struct CsvTable {
  std::string source;                            // file name for messages
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;    // each has header.size() cells
  std::vector<int64_t> line_numbers;             // file line of each row (1-based)

  // Index of the column `name`; throws "FILE: no column 'x' (columns: a, b, c)".
  int64_t column(const std::string& name) const;
};

CsvTable parse_csv(std::string_view text, const std::string& source);
CsvTable read_csv(const std::string& path);

// What to do with a missing cell (empty, NA, NaN, null, N/A, ?):
//   Error        reject the file, naming the first missing cell
//   Drop         drop every row that has a missing value in a chosen column
//   ForwardFill  carry the last value forward (leading gaps take the first value)
//   Interpolate  linear in the row index between the neighbours (edges: nearest value)
enum class MissingPolicy { Error, Drop, ForwardFill, Interpolate };
MissingPolicy missing_policy_from_string(const std::string& name);  // error|drop|ffill|interpolate
std::string to_string(MissingPolicy policy);

struct SeriesSpec {
  std::vector<std::string> targets;     // at least one
  std::vector<std::string> covariates;  // inputs only, never forecast
  std::string time_column;              // optional: kept as text for output and plots
  MissingPolicy missing = MissingPolicy::Error;
};

struct Series {
  std::string source;
  std::vector<std::string> names;  // [F]: targets, then covariates
  int64_t n_targets = 0;
  std::vector<std::string> time;   // [N] labels (row numbers when no time column)
  Tensor<double> values;           // [N, F]
  int64_t missing_found = 0;       // missing cells in the chosen columns
  int64_t rows_dropped = 0;        // by MissingPolicy::Drop

  int64_t rows() const { return values.empty() ? 0 : values.dim(0); }
  int64_t features() const { return static_cast<int64_t>(names.size()); }
  double at(int64_t row, int64_t feature) const { return values.at(row, feature); }
};

// Picks and parses the columns of `spec`. Throws rnn::Error, naming the file, line and
// column, for a missing column, a non-numeric or infinite cell, a missing value under
// MissingPolicy::Error, a column named twice, or no rows left.
Series load_series(const CsvTable& table, const SeriesSpec& spec);

// Comma-separated list "a,b,c" -> {"a","b","c"} (empty string -> {}).
std::vector<std::string> split_list(const std::string& text);

}  // namespace rnn::forecast
