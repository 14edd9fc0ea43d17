#include <map>
#include <string>

#include "cli/commands.h"

namespace rnn::cli {

namespace {
// Function-local so that registrars in other files, constructed during static
// initialisation in any order, always find it built.
std::map<std::string, AddCommand>& registry() {
  static std::map<std::string, AddCommand> commands;
  return commands;
}
}  // namespace

CommandRegistrar::CommandRegistrar(const char* name, AddCommand add) { registry()[name] = add; }

void add_registered_commands(CLI::App& app) {
  for (const auto& [name, add] : registry()) add(app);
}

}  // namespace rnn::cli
