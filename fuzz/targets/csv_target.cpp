// CSV time series: parse_csv, then load_series on columns taken from the header. The first
// byte picks the missing-value policy and which columns are targets, covariates and time.
#include "fuzz_support.h"
#include "rnn/forecast/data.h"
#include "targets.h"

namespace rnn::fuzz {

int fuzz_csv(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  return accept_errors([&] {
    const forecast::CsvTable table = forecast::parse_csv(as_text(data + 1, size - 1), "fuzz.csv");
    const size_t columns = table.header.size();
    require(!table.line_numbers.empty() || table.rows.empty(), "rows without line numbers");
    for (const auto& row : table.rows) require(row.size() == columns, "a row of the wrong width");
    if (columns == 0) return;
    forecast::SeriesSpec spec;
    constexpr forecast::MissingPolicy kPolicies[] = {
        forecast::MissingPolicy::Error, forecast::MissingPolicy::Drop,
        forecast::MissingPolicy::ForwardFill, forecast::MissingPolicy::Interpolate};
    spec.missing = kPolicies[flags & 3];
    spec.targets.push_back(table.header[(flags >> 2) % columns]);
    if ((flags & 0x20) != 0) spec.covariates.push_back(table.header[(flags >> 6) % columns]);
    if ((flags & 0x10) != 0) spec.time_column = table.header[(flags >> 5) % columns];
    const forecast::Series s = forecast::load_series(table, spec);
    require(s.values.empty() || s.values.dim(1) == s.features(), "values of the wrong width");
    require(static_cast<int64_t>(s.time.size()) == s.rows(), "one time label per row");
  });
}

}  // namespace rnn::fuzz
