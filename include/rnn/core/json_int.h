// Integers read from JSON that came from outside (model files, checkpoints, configurations).
//
// nlohmann's get<int64_t>() turns a JSON float into an integer with a plain cast, which is
// undefined behaviour when the value is out of range (a fuzzed model configuration holding
// 1e300 did exactly that) and silently truncates 2.5 to 2. Readers use
// `j.get<JsonInt<int64_t>>().value` (found by nlohmann through from_json below) or
// json_int_or(j, key, fallback) instead: they accept an integer, or a float with a whole
// value, that fits the type, and throw rnn::Error for anything else.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "rnn/core/error.h"

namespace rnn {

template <class I>
struct JsonInt {
  static_assert(std::is_integral_v<I>, "JsonInt holds an integer type");
  I value{};
};

template <class I>
void from_json(const nlohmann::json& j, JsonInt<I>& out) {
  using limits = std::numeric_limits<I>;
  auto shown = [&j] {
    std::string s = j.dump();
    return s.size() > 40 ? s.substr(0, 40) + "..." : s;
  };
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    check(u <= static_cast<uint64_t>(limits::max()), "integer ", u, " is out of range");
    out.value = static_cast<I>(u);
  } else if (j.is_number_integer()) {
    const int64_t s = j.get<int64_t>();
    const bool fits = limits::is_signed
                          ? s >= static_cast<int64_t>(limits::min()) &&
                                (sizeof(I) >= sizeof(int64_t) || s <= static_cast<int64_t>(limits::max()))
                          : s >= 0 && static_cast<uint64_t>(s) <= static_cast<uint64_t>(limits::max());
    check(fits, "integer ", s, " is out of range");
    out.value = static_cast<I>(s);
  } else if (j.is_number_float()) {
    const double d = j.get<double>();
    // Both bounds are powers of two (exact doubles): [min, max + 1).
    const double lo = static_cast<double>(limits::min());
    const double hi = std::ldexp(1.0, limits::digits);
    check(std::isfinite(d) && d == std::floor(d) && d >= lo && d < hi, "expected an integer, got ",
          shown());
    out.value = static_cast<I>(d);
  } else {
    fail("expected an integer, got ", shown());
  }
}

// j[key] as an integer when present, else `fallback` (the checked form of j.value(key, fallback)).
template <class I>
I json_int_or(const nlohmann::json& j, const char* key, I fallback) {
  const auto it = j.find(key);
  if (it == j.end()) return fallback;
  return it->template get<JsonInt<I>>().value;
}

}  // namespace rnn
