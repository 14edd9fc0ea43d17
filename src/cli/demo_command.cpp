#include "cli/commands.h"

namespace rnn::cli {
// Placeholder while the command is being written.
void add_demo_command(CLI::App& app) {
  app.add_subcommand("demo", "(not built yet)")->callback([] { throw UsageError("'demo' is not built yet"); });
}
}  // namespace rnn::cli
