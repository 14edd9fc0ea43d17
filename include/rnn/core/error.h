// The one exception type of rnn.cpp, and the checks that raise it.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace rnn {

// Every failure the library reports is an rnn::Error carrying one line that names
// the problem (what, where, the offending value).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// An rnn::Error raised because a value that must be a number is NaN or Inf. Inside a
// training step this is the model diverging (weights or activations overflowed), not bad
// data (data is checked when it is read), so the trainer treats it like a non-finite loss.
class NonFiniteError : public Error {
 public:
  using Error::Error;
};

// Joins any streamable values into one string: concat("got ", 3, " rows").
template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

template <class... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  throw Error(concat(std::forward<Parts>(parts)...));
}

template <class... Parts>
[[noreturn]] void fail_non_finite(Parts&&... parts) {
  throw NonFiniteError(concat(std::forward<Parts>(parts)...));
}

// Throws rnn::Error with the joined message when `condition` is false.
template <class... Parts>
void check(bool condition, Parts&&... parts) {
  if (!condition) fail(std::forward<Parts>(parts)...);
}

}  // namespace rnn
