// The `rnn` program's subcommands. Each lives in its own file and registers itself on
// the top-level CLI11 app; main.cpp maps errors to exit codes (DESIGN.md section 2b).
#pragma once

#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace rnn::cli {

// Bad usage found after parsing (a value CLI11 could not validate): exit status 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

// `rnn run`: run a saved recurrent module on tensors from a file (and its gradients).
void add_run_command(CLI::App& app);
// `rnn demo charlm`: train a small character LSTM on a text file and sample from it.
void add_demo_command(CLI::App& app);

}  // namespace rnn::cli
