#include "rnn/forecast/data.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "rnn/io/file_limits.h"

namespace rnn::forecast {

namespace {

// Splits one logical CSV record starting at `pos`; advances pos past the line end.
std::vector<std::string> next_record(std::string_view text, size_t& pos, int64_t& line,
                                     const std::string& source) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false, was_quoted = false;
  const int64_t start_line = line;
  while (pos < text.size()) {
    const char c = text[pos];
    if (quoted) {
      if (c == '"') {
        if (pos + 1 < text.size() && text[pos + 1] == '"') {
          cell += '"';
          pos += 2;
          continue;
        }
        quoted = false;
        ++pos;
        continue;
      }
      if (c == '\n') ++line;
      cell += c;
      ++pos;
      continue;
    }
    if (c == '"' && cell.empty() && !was_quoted) {
      quoted = was_quoted = true;
      ++pos;
      continue;
    }
    if (c == ',') {
      cells.push_back(std::move(cell));
      cell.clear();
      was_quoted = false;
      ++pos;
      continue;
    }
    if (c == '\n' || c == '\r') {
      if (c == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ++pos;
      ++pos;
      ++line;
      cells.push_back(std::move(cell));
      return cells;
    }
    cell += c;
    ++pos;
  }
  check(!quoted, source, ":", start_line, ": unterminated quoted field");
  ++line;
  cells.push_back(std::move(cell));
  return cells;
}

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) --b;
  return s.substr(a, b - a);
}

bool is_missing(const std::string& cell) {
  std::string lower;
  for (char c : cell) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.empty() || lower == "na" || lower == "nan" || lower == "null" || lower == "n/a" ||
         lower == "?" || lower == "-nan";
}

}  // namespace

int64_t CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int64_t>(i);
  }
  std::string list;
  for (const auto& h : header) list += (list.empty() ? "" : ", ") + h;
  fail(source, ": no column '", name, "' (columns: ", list, ")");
}

CsvTable parse_csv(std::string_view text, const std::string& source) {
  CsvTable table;
  table.source = source;
  size_t pos = 0;
  int64_t line = 1;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;  // UTF-8 BOM
  bool have_header = false;
  while (pos < text.size()) {
    const int64_t record_line = line;
    std::vector<std::string> cells = next_record(text, pos, line, source);
    if (cells.size() == 1 && trim(cells[0]).empty()) continue;  // blank line
    for (auto& c : cells) c = trim(c);
    if (!have_header) {
      table.header = std::move(cells);
      have_header = true;
      for (size_t i = 0; i < table.header.size(); ++i)
        for (size_t j = 0; j < i; ++j)
          check(table.header[i].empty() || table.header[i] != table.header[j], source, ":",
                record_line, ": column '", table.header[i], "' appears twice in the header");
      continue;
    }
    check(cells.size() == table.header.size(), source, ":", record_line, ": ", cells.size(),
          " fields, the header has ", table.header.size());
    table.rows.push_back(std::move(cells));
    table.line_numbers.push_back(record_line);
  }
  check(have_header, source, ": empty file (no header row)");
  return table;
}

CsvTable read_csv(const std::string& path) {
  check_file_size(path, kMaxTextFileBytes, "CSV");
  std::ifstream in(path, std::ios::binary);
  check(in.good(), path, ": cannot open (", std::strerror(errno), ")");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  check(!in.bad(), path, ": read error");
  return parse_csv(buffer.str(), path);
}

MissingPolicy missing_policy_from_string(const std::string& name) {
  if (name == "error") return MissingPolicy::Error;
  if (name == "drop") return MissingPolicy::Drop;
  if (name == "ffill") return MissingPolicy::ForwardFill;
  if (name == "interpolate") return MissingPolicy::Interpolate;
  fail("unknown missing-value policy '", name, "' (error, drop, ffill, interpolate)");
}

std::string to_string(MissingPolicy policy) {
  switch (policy) {
    case MissingPolicy::Error: return "error";
    case MissingPolicy::Drop: return "drop";
    case MissingPolicy::ForwardFill: return "ffill";
    case MissingPolicy::Interpolate: return "interpolate";
  }
  return "?";
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Series load_series(const CsvTable& table, const SeriesSpec& spec) {
  check(!spec.targets.empty(), table.source, ": no target column given");
  Series s;
  s.source = table.source;
  s.names = spec.targets;
  s.names.insert(s.names.end(), spec.covariates.begin(), spec.covariates.end());
  s.n_targets = static_cast<int64_t>(spec.targets.size());
  for (size_t i = 0; i < s.names.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      check(s.names[i] != s.names[j], table.source, ": column '", s.names[i],
            "' is chosen twice (targets and covariates must be distinct)");
  std::vector<int64_t> cols;
  for (const auto& n : s.names) cols.push_back(table.column(n));
  const int64_t time_col = spec.time_column.empty() ? -1 : table.column(spec.time_column);

  const int64_t n = static_cast<int64_t>(table.rows.size());
  const int64_t F = s.features();
  check(n > 0, table.source, ": no data rows");
  std::vector<double> values(static_cast<size_t>(n * F));
  std::vector<char> missing(static_cast<size_t>(n * F), 0);
  for (int64_t r = 0; r < n; ++r) {
    const auto& row = table.rows[static_cast<size_t>(r)];
    for (int64_t f = 0; f < F; ++f) {
      const std::string& cell = row[static_cast<size_t>(cols[static_cast<size_t>(f)])];
      const size_t k = static_cast<size_t>(r * F + f);
      if (is_missing(cell)) {
        if (spec.missing == MissingPolicy::Error) {
          fail(table.source, ":", table.line_numbers[static_cast<size_t>(r)], ": column '",
               s.names[static_cast<size_t>(f)], "': missing value '", cell,
               "' (choose --missing drop, ffill or interpolate)");
        }
        missing[k] = 1;
        values[k] = std::nan("");
        ++s.missing_found;
        continue;
      }
      char* end = nullptr;
      errno = 0;
      const double v = std::strtod(cell.c_str(), &end);
      check(end != cell.c_str() && *end == '\0', table.source, ":",
            table.line_numbers[static_cast<size_t>(r)], ": column '", s.names[static_cast<size_t>(f)],
            "': '", cell, "' is not a number");
      check(std::isfinite(v), table.source, ":", table.line_numbers[static_cast<size_t>(r)],
            ": column '", s.names[static_cast<size_t>(f)], "': '", cell, "' is not finite");
      values[k] = v;
    }
  }

  std::vector<int64_t> keep;
  if (spec.missing == MissingPolicy::Drop) {
    for (int64_t r = 0; r < n; ++r) {
      bool any = false;
      for (int64_t f = 0; f < F; ++f) any = any || missing[static_cast<size_t>(r * F + f)];
      if (any) ++s.rows_dropped; else keep.push_back(r);
    }
  } else {
    for (int64_t r = 0; r < n; ++r) keep.push_back(r);
    for (int64_t f = 0; f < F; ++f) {
      auto idx = [&](int64_t r) { return static_cast<size_t>(r * F + f); };
      int64_t first = -1;
      for (int64_t r = 0; r < n && first < 0; ++r) if (!missing[idx(r)]) first = r;
      check(first >= 0, table.source, ": column '", s.names[static_cast<size_t>(f)],
            "' has no values at all");
      for (int64_t r = 0; r < first; ++r) values[idx(r)] = values[idx(first)];
      int64_t last = first;  // last observed row
      for (int64_t r = first + 1; r < n; ++r) {
        if (!missing[idx(r)]) {
          if (spec.missing == MissingPolicy::Interpolate && r - last > 1) {
            const double a = values[idx(last)], b = values[idx(r)];
            for (int64_t q = last + 1; q < r; ++q)
              values[idx(q)] = a + (b - a) * static_cast<double>(q - last) / static_cast<double>(r - last);
          }
          last = r;
          continue;
        }
        if (spec.missing == MissingPolicy::ForwardFill) values[idx(r)] = values[idx(last)];
      }
      // Trailing gap under Interpolate: nearest (last) value.
      if (spec.missing == MissingPolicy::Interpolate)
        for (int64_t r = last + 1; r < n; ++r) values[idx(r)] = values[idx(last)];
    }
  }
  check(!keep.empty(), table.source, ": no rows left after dropping rows with missing values");
  const int64_t kept = static_cast<int64_t>(keep.size());
  s.values = Tensor<double>({kept, F});
  for (int64_t i = 0; i < kept; ++i) {
    const int64_t r = keep[static_cast<size_t>(i)];
    for (int64_t f = 0; f < F; ++f) s.values.at(i, f) = values[static_cast<size_t>(r * F + f)];
    s.time.push_back(time_col >= 0 ? table.rows[static_cast<size_t>(r)][static_cast<size_t>(time_col)]
                                   : std::to_string(r + 1));
  }
  return s;
}

}  // namespace rnn::forecast
