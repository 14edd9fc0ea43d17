// How a training run is watched and what it does when a step goes wrong: the options every
// `rnn <task> train` shares on top of its own model, data and optimizer options. Declared
// once, so the subcommands spell, document and check them the same way.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/usage_checks.h"
#include "rnn/train/trainer.h"

namespace rnn::cli {

struct RunControl {
  std::string progress = "auto";      // auto | bar | lines | off
  std::string on_nonfinite = "stop";  // stop | skip
  int64_t diagnostics_every = 0;      // 0 = off

  void add_to(CLI::App* cmd) {
    cmd->add_option("--progress", progress, "auto, bar, lines or off")->capture_default_str();
    cmd->add_option("--on-nonfinite", on_nonfinite,
                    "A NaN/Inf loss or gradient: stop, or skip the step and halve the lr "
                    "(a 6th in a row stops)")
        ->capture_default_str();
    cmd->add_option("--diagnostics-every", diagnostics_every,
                    "Gradient diagnostics (norms, spectra of weight_hh) in diagnostics.jsonl "
                    "on step 1 and every N steps (0 = off)")
        ->capture_default_str();
  }

  // Checks the values (bad usage: exit 2) and sets them on `t`.
  void apply(TrainerOptions& t) const {
    if (progress == "auto") {
      t.progress = ProgressStyle::Auto;
    } else if (progress == "bar") {
      t.progress = ProgressStyle::Bar;
    } else if (progress == "lines") {
      t.progress = ProgressStyle::Lines;
    } else if (progress == "off") {
      t.progress = ProgressStyle::Off;
    } else {
      throw UsageError("--progress must be auto, bar, lines or off, got '" + progress + "'");
    }
    usage_check(on_nonfinite == "stop" || on_nonfinite == "skip",
                "--on-nonfinite must be stop or skip, got '" + on_nonfinite + "'");
    t.non_finite = on_nonfinite == "skip" ? NonFinitePolicy::Skip : NonFinitePolicy::Stop;
    non_negative(diagnostics_every, "diagnostics-every");
    t.diagnostics_every = diagnostics_every;
  }
};

}  // namespace rnn::cli
