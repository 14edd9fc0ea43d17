#!/usr/bin/env bash
# Fetches real time series as CSV into a cache folder that git ignores (see /work/shared/DATA.md).
#
#   tools/fetch_series.sh [CACHE_DIR]        (default CACHE_DIR: cache/series)
#
# From R's `datasets` package (Debian r-base-core; installed with
# `apt-get install --no-install-recommends r-base-core` when Rscript is missing, which needs root):
#   sunspot_month.csv     month,sunspots                 3,177 monthly values, 1749-01 .. 2013-09
#   air_passengers.csv    month,passengers               144 monthly totals (thousands), 1949 .. 1960
#   eu_stock_markets.csv  day,time,DAX,SMI,CAC,FTSE      1,860 business-day closes, 1991 .. 1998
# From Debian python3-statsmodels (apt-get download + dpkg -x, no root needed):
#   sunspots_yearly.csv   YEAR,SUNACTIVITY               309 yearly values, 1700 .. 2008
#   co2_weekly.csv        date,co2                       weekly Mauna Loa values (with gaps)
# From npm vega-datasets@3.2.1 (npm pack):
#   sp500_2000.csv        date,open,high,low,close,...   daily S&P 500 prices from 2000
#   seattle_weather.csv   date,precipitation,temp_max,temp_min,wind,weather
#
# Idempotent: files whose sha256 matches the recorded value are kept. Every file is checked
# against the sha256 recorded below (the versions named above); a mismatch is an error that
# names both values (a new package version may have changed the data).
set -euo pipefail

cache_dir="${1:-cache/series}"
[[ $# -le 1 ]] || { echo "usage: $0 [CACHE_DIR]" >&2; exit 2; }

declare -A SHA=(
  [sunspot_month.csv]=3b3725d5c8c76554f0fcf4d9ab89713a167c00f25dfc13bd6d38fc2ed40e7441
  [air_passengers.csv]=d27dd74f3654ab4c688afccf2348870410902f480cea900d872be2ae33184411
  [eu_stock_markets.csv]=03467bec115971d8f29f7ee42ab34bd9abe7a017aef3db6ea9c8bd5a22d2d888
  [sunspots_yearly.csv]=f67889b1d9002cd5227f0e0ef54e35b419cdd85a31279adef6f73fb41e5c0a9b
  [co2_weekly.csv]=16695fa2786e53414e5a6b54767a3fdf5de99cfbc68617f69d1362d92776a92f
  [sp500_2000.csv]=9409e9342d0657c747324e4cfabce8a8c7f663bc485b95a3378f36b0a160f8c8
  [seattle_weather.csv]=0845078a290b48e3149ab8639966824110a251db4e06fc144c06ebb534af23be
)

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

up_to_date() {  # name
  [[ -s "$cache_dir/$1" && "$(sha_of "$cache_dir/$1")" == "${SHA[$1]}" ]]
}

# Moves a freshly made file into the cache after checking its sha256.
install_checked() {  # made_file name
  local actual
  actual="$(sha_of "$1")"
  if [[ "$actual" != "${SHA[$2]}" ]]; then
    echo "fetch_series.sh: $2: sha256 $actual differs from the recorded ${SHA[$2]}" >&2
    return 1
  fi
  mv "$1" "$cache_dir/$2"
  echo "fetch_series.sh: wrote $cache_dir/$2 ($(($(wc -l < "$cache_dir/$2") - 1)) rows)" >&2
}

mkdir -p "$cache_dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# ---- R datasets --------------------------------------------------------------------------
if ! up_to_date sunspot_month.csv || ! up_to_date air_passengers.csv ||
   ! up_to_date eu_stock_markets.csv; then
  if ! command -v Rscript >/dev/null; then
    echo "fetch_series.sh: installing r-base-core (Rscript) with apt-get" >&2
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
      --no-install-recommends r-base-core >/dev/null
  fi
  cat > "$work/export.R" <<'EOF'
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
monthly <- function(s, name, file) {
  t <- as.numeric(time(s))
  year <- floor(t + 1e-9)
  month <- round((t - year) * 12) + 1
  d <- data.frame(sprintf("%d-%02d", year, month), as.numeric(s))
  names(d) <- c("month", name)
  write.csv(d, file.path(out, file), row.names = FALSE, quote = FALSE)
}
monthly(datasets::sunspot.month, "sunspots", "sunspot_month.csv")
monthly(datasets::AirPassengers, "passengers", "air_passengers.csv")
e <- datasets::EuStockMarkets
d <- data.frame(seq_len(nrow(e)), sprintf("%.4f", as.numeric(time(e))), e[, "DAX"], e[, "SMI"],
                e[, "CAC"], e[, "FTSE"])
names(d) <- c("day", "time", "DAX", "SMI", "CAC", "FTSE")
write.csv(d, file.path(out, "eu_stock_markets.csv"), row.names = FALSE, quote = FALSE)
EOF
  mkdir -p "$work/r"
  Rscript --vanilla "$work/export.R" "$work/r" >/dev/null
  for f in sunspot_month.csv air_passengers.csv eu_stock_markets.csv; do
    up_to_date "$f" || install_checked "$work/r/$f" "$f"
  done
fi

# ---- statsmodels -------------------------------------------------------------------------
if ! up_to_date sunspots_yearly.csv || ! up_to_date co2_weekly.csv; then
  (cd "$work" && apt-get download python3-statsmodels >/dev/null 2>&1) ||
    { echo "fetch_series.sh: apt-get download python3-statsmodels failed" >&2; exit 1; }
  dpkg -x "$work"/python3-statsmodels_*.deb "$work/sm"
  ds="$work/sm/usr/lib/python3/dist-packages/statsmodels/datasets"
  up_to_date sunspots_yearly.csv || { cp "$ds/sunspots/sunspots.csv" "$work/sunspots_yearly.csv" &&
    install_checked "$work/sunspots_yearly.csv" sunspots_yearly.csv; }
  up_to_date co2_weekly.csv || { cp "$ds/co2/co2.csv" "$work/co2_weekly.csv" &&
    install_checked "$work/co2_weekly.csv" co2_weekly.csv; }
fi

# ---- vega-datasets -----------------------------------------------------------------------
if ! up_to_date sp500_2000.csv || ! up_to_date seattle_weather.csv; then
  (cd "$work" && npm pack vega-datasets@3.2.1 >/dev/null 2>&1) ||
    { echo "fetch_series.sh: npm pack vega-datasets@3.2.1 failed" >&2; exit 1; }
  mkdir -p "$work/vega"
  tar -xzf "$work"/vega-datasets-3.2.1.tgz -C "$work/vega"
  up_to_date sp500_2000.csv || { cp "$work/vega/package/data/sp500-2000.csv" "$work/sp500_2000.csv" &&
    install_checked "$work/sp500_2000.csv" sp500_2000.csv; }
  up_to_date seattle_weather.csv || { cp "$work/vega/package/data/seattle-weather.csv" \
    "$work/seattle_weather.csv" && install_checked "$work/seattle_weather.csv" seattle_weather.csv; }
fi

echo "fetch_series.sh: $cache_dir is up to date" >&2
