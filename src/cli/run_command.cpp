// `rnn run`: runs a saved recurrent module (safetensors with PyTorch names and the
// config in __metadata__) on tensors read from a file, in evaluation mode, and writes
// the outputs -- and, with --grad, every gradient -- to another file.
// The file format is described in docs/RUN_FORMAT.md.
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "rnn/core/error.h"
#include "rnn/io/model_file.h"
#include "rnn/io/safetensors.h"
#include "rnn/layers/recurrent.h"

namespace rnn::cli {
namespace {

struct RunOptions {
  std::string model;
  std::string input;
  std::string output;
  std::string grad;  // empty: forward only
  bool json = false;
};

// Throws unless every tensor of `file` is one of `allowed` (catches typos such as "h_0",
// which would otherwise silently run from zero states).
void check_known(const SafetensorsFile& file, const std::set<std::string>& allowed,
                 const std::string& what) {
  for (const auto& [name, stored] : file.tensors) {
    if (allowed.count(name) == 0) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(file.source, ": unknown tensor '", name, "' in the ", what, " file (expected ", list,
           ")");
    }
  }
}

// Reads tensor `name` of `file` as T and checks its shape.
template <class T>
Tensor<T> read_checked(const SafetensorsFile& file, const std::string& name, const Shape& shape) {
  Tensor<T> t = file.get<T>(name);
  check(t.shape() == shape, file.source, ": tensor '", name, "' has shape ", shape_str(t.shape()),
        ", expected ", shape_str(shape));
  return t;
}

template <class T>
void run(const RunOptions& opt) {
  auto model = load_recurrent<T>(opt.model);
  const RecurrentConfig& cfg = model.config;
  Recurrent<T>& module = *model.module;
  const bool lstm = cfg.mode == CellMode::LSTM;
  const int64_t states = cfg.directions() * cfg.num_layers;

  // ---- inputs ------------------------------------------------------------------------
  const SafetensorsFile in = read_safetensors(opt.input);
  check_known(in, lstm ? std::set<std::string>{"x", "h0", "c0", "lengths"}
                       : std::set<std::string>{"x", "h0", "lengths"},
              "input");
  RecurrentInput<T> input;
  input.x = in.get<T>("x");
  check(input.x.rank() == 3, in.source, ": tensor 'x' has shape ", shape_str(input.x.shape()),
        ", expected rank 3 ", cfg.batch_first ? "[B, T, I]" : "[T, B, I]");
  const int64_t steps = cfg.batch_first ? input.x.dim(1) : input.x.dim(0);
  const int64_t batch = cfg.batch_first ? input.x.dim(0) : input.x.dim(1);
  check(input.x.dim(2) == cfg.input_size, in.source, ": tensor 'x' has ", input.x.dim(2),
        " features in shape ", shape_str(input.x.shape()), ", the model's input_size is ",
        cfg.input_size);
  check(steps > 0 && batch > 0, in.source, ": tensor 'x' is empty, shape ",
        shape_str(input.x.shape()));
  if (in.has("h0")) input.h0 = read_checked<T>(in, "h0", {states, batch, cfg.output_hidden()});
  if (in.has("c0")) input.c0 = read_checked<T>(in, "c0", {states, batch, cfg.hidden_size});
  if (in.has("lengths")) {
    const Tensor<int64_t> lengths = read_checked<int64_t>(in, "lengths", {batch});
    for (int64_t b = 0; b < batch; ++b) {
      check(lengths[b] >= 1 && lengths[b] <= steps, in.source, ": lengths[", b, "] = ",
            lengths[b], " is outside 1..", steps, " (the number of time steps in x)");
    }
    input.lengths = lengths.values();
  }

  // ---- upstream gradients ------------------------------------------------------------
  SafetensorsFile grad_file;
  const bool with_grad = !opt.grad.empty();
  RecurrentGradOutput<T> grad;
  const int64_t y_features = cfg.directions() * cfg.output_hidden();
  const Shape y_shape = cfg.batch_first ? Shape{batch, steps, y_features}
                                        : Shape{steps, batch, y_features};
  if (with_grad) {
    grad_file = read_safetensors(opt.grad);
    check_known(grad_file, lstm ? std::set<std::string>{"dy", "dh_n", "dc_n"}
                                : std::set<std::string>{"dy", "dh_n"},
                "gradient");
    grad.dy = read_checked<T>(grad_file, "dy", y_shape);
    if (grad_file.has("dh_n")) {
      grad.dh_n = read_checked<T>(grad_file, "dh_n", {states, batch, cfg.output_hidden()});
    }
    if (grad_file.has("dc_n")) {
      grad.dc_n = read_checked<T>(grad_file, "dc_n", {states, batch, cfg.hidden_size});
    }
  }

  // ---- run -----------------------------------------------------------------------------
  RecurrentCachePtr<T> cache;
  RecurrentOutput<T> out = module.forward(input, Mode::Eval, nullptr, with_grad ? &cache : nullptr);

  SafetensorsFile result;
  result.source = opt.output;
  result.metadata["config"] = cfg.to_json().dump();
  result.metadata["producer"] = "rnn run";
  result.put("y", out.y);
  result.put("h_n", out.h_n);
  if (lstm) result.put("c_n", out.c_n);
  if (with_grad) {
    check(cache != nullptr, "rnn run: forward returned no cache for backward");
    model.store->zero_grad();
    RecurrentGradInput<T> gin = module.backward(*cache, grad);
    result.put("dx", gin.dx);
    result.put("dh0", gin.dh0);
    if (lstm) result.put("dc0", gin.dc0);
    for (const auto& name : module.parameter_names()) {
      result.put("grad." + name, model.store->get_grad(module.prefix() + name));
    }
  }
  write_safetensors(opt.output, result);

  if (opt.json) {
    nlohmann::json j;
    j["output"] = opt.output;
    j["tensors"] = nlohmann::json::array();
    for (const auto& [name, stored] : result.tensors) j["tensors"].push_back(name);
    std::cout << j.dump() << std::endl;
  } else {
    std::cerr << "rnn run: wrote " << result.tensors.size() << " tensors to " << opt.output
              << "\n";
  }
}

// float64 when the model's weights are stored as F64, else float32.
bool model_is_double(const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);
  for (const auto& [name, stored] : file.tensors) {
    if (stored.dtype == DType::F64) return true;
  }
  return false;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto opt = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run a saved RNN/LSTM/GRU on tensors from a file (evaluation mode) and write the outputs; "
      "with --grad also every gradient. File format: docs/RUN_FORMAT.md");
  cmd->add_option("--model", opt->model,
                  "Model file (safetensors: PyTorch parameter names, config in __metadata__)")
      ->required();
  cmd->add_option("--input", opt->input,
                  "Input tensors: x [T,B,I] ([B,T,I] if batch_first), optional h0, c0, lengths")
      ->required();
  cmd->add_option("--output", opt->output,
                  "Where to write y, h_n, c_n (and dx, dh0, dc0, grad.<param> with --grad)")
      ->required();
  cmd->add_option("--grad", opt->grad,
                  "Upstream gradients: dy (like y), optional dh_n, dc_n; enables backward "
                  "(default: forward only)");
  cmd->add_flag("--json", opt->json,
                "Print one JSON object {\"output\", \"tensors\"} on stdout (default: off)");
  cmd->callback([opt] {
    if (model_is_double(opt->model)) {
      run<double>(*opt);
    } else {
      run<float>(*opt);
    }
  });
}

static const CommandRegistrar registrar("run", add_run_command);

}  // namespace rnn::cli
