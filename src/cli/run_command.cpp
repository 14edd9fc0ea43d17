#include "cli/commands.h"

namespace rnn::cli {
// Placeholder while the command is being written.
void add_run_command(CLI::App& app) {
  app.add_subcommand("run", "(not built yet)")->callback([] { throw UsageError("'run' is not built yet"); });
}
}  // namespace rnn::cli
