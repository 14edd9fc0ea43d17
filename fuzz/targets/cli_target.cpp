// The `rnn` program's command line, parsed only: the input is the arguments, one per line.
// The app is built as main.cpp builds it (every registered subcommand), but the subcommands'
// callbacks are taken out before parsing, so no training or file work ever starts. They are
// kept alive meanwhile: each owns the options struct its options write into.
// Parse errors and help requests go through app.exit() as in main.cpp, into a string.
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "fuzz_support.h"
#include "targets.h"

namespace rnn::fuzz {

namespace {

// CLI11 has no getter for a callback; a pointer to the protected members, formed in a
// derived class, reaches them legally.
struct CallbackAccess : CLI::App {
  static constexpr auto kFinal = &CallbackAccess::final_callback_;
  static constexpr auto kParsed = &CallbackAccess::parse_complete_callback_;
};

// Moves every subcommand's callbacks into `kept` (which must outlive the parse).
void disarm(CLI::App& app, std::vector<std::function<void()>>& kept) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    kept.push_back(std::exchange(sub->*CallbackAccess::kFinal, nullptr));
    kept.push_back(std::exchange(sub->*CallbackAccess::kParsed, nullptr));
    disarm(*sub, kept);
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
  std::vector<std::function<void()>> kept;
  disarm(app, kept);
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
