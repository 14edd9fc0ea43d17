// The `rnn` program's command line, parsed only: the input is the arguments, one per line.
// The app is built as main.cpp builds it (every registered subcommand), but each
// subcommand's callback is replaced by a no-op, so no training or file work ever starts.
// Parse errors and help requests go through app.exit() as in main.cpp, into a string.
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "fuzz_support.h"
#include "targets.h"

namespace rnn::fuzz {

namespace {

void disarm(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    sub->callback([] {});
    disarm(*sub);
  }
}

}  // namespace

int fuzz_cli(const uint8_t* data, size_t size) {
  std::vector<std::string> args{"rnn"};
  std::string current;
  for (char c : as_text(data, size)) {
    if (c == '\n') {
      args.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) args.push_back(current);
  if (args.size() > 64) return 0;  // a command line, not a corpus
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());

  CLI::App app{"rnn.cpp (fuzzed)"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  cli::add_registered_commands(app);
  disarm(app);
  std::ostringstream out, err;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Error& e) {
    app.exit(e, out, err);  // help text or the one-line usage error, as main.cpp prints it
  } catch (const cli::UsageError&) {
  } catch (const rnn::Error&) {
  }
  return 0;
}

}  // namespace rnn::fuzz
