// Entry point of the `rnn` program: exit 0 on success, 2 on bad usage, 1 on any other
// failure, with one line on stderr naming the problem.
#include <exception>
#include <iostream>

#include "cli/commands.h"
#include "rnn/core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"rnn.cpp: recurrent neural networks (RNN, LSTM, GRU) without a Python runtime"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  rnn::cli::add_registered_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "rnn: " << e.what() << "\n";
    return 2;
  } catch (const rnn::cli::UsageError& e) {
    std::cerr << "rnn: " << e.what() << "\n";
    return 2;
  } catch (const rnn::Error& e) {
    std::cerr << "rnn: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "rnn: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
