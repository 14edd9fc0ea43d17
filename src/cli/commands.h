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

// Each subcommand file registers itself, so adding a command touches no other file:
//
//   void add_run_command(CLI::App& app) { ... app.add_subcommand("run", ...) ... }
//   static const CommandRegistrar registrar("run", add_run_command);
//
// main.cpp adds every registered command, in name order.
using AddCommand = void (*)(CLI::App& app);

class CommandRegistrar {
 public:
  CommandRegistrar(const char* name, AddCommand add);
};

// The registered commands, sorted by name.
void add_registered_commands(CLI::App& app);

}  // namespace rnn::cli
