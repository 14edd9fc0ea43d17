#include "rnn/lm/model_file.h"

#include <cmath>
#include <filesystem>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"
#include "rnn/io/model_file.h"
#include "rnn/io/safetensors.h"
#include "rnn/train/checkpoint.h"

namespace rnn::lm {

void save_lm_model(const std::string& path, const LanguageModel<float>& model,
                   const text::Vocabulary& vocab, const nlohmann::json& info,
                   const std::vector<std::string>& categories) {
  check(vocab.size() == model.config().vocab_size, "save_lm_model: the vocabulary has ",
        vocab.size(), " tokens, the model ", model.config().vocab_size);
  const int64_t C = model.config().num_categories;
  check(C == 0 || categories.empty() || static_cast<int64_t>(categories.size()) == C,
        "save_lm_model: ", categories.size(), " category names for a model with ", C,
        " categories");
  SafetensorsFile file;
  const Parameters<float>& store = model.parameters();
  for (const ParamInfo& p : store.infos()) file.put(p.name, store.get(p.name));
  nlohmann::json meta{{"format", 1},
                      {"config", model.config().to_json()},
                      {"vocab", vocab.to_json()},
                      {"info", info}};
  if (!categories.empty()) meta["categories"] = categories;
  file.metadata["rnn_lm"] = meta.dump();
  write_safetensors(path, file);
}

namespace {

// At least this many values make up the model of `c` (LanguageModel's constructor lays them
// out; saturates at 2^62): a file naming a model far larger than its own tensors is refused
// before that model is allocated.
int64_t min_parameter_count(const LmConfig& c) {
  constexpr int64_t kCap = int64_t{1} << 62;
  int64_t n = 0;
  auto add = [&](int64_t rows, int64_t cols) {  // n += rows * cols, saturating
    if (rows != 0 && cols > (kCap - n) / rows) n = kCap;
    else n += rows * cols;
  };
  const int64_t V = c.vocab_size, hout = c.rnn.output_hidden(), L = c.rnn.num_layers;
  add(V, c.embed_size);
  for (const RecurrentParamSpec& s : recurrent_parameter_specs(c.rnn))
    add(s.shape[0], s.shape.size() > 1 ? s.shape[1] : 1);
  if (!c.tie_weights) add(V, hout);
  add(V, 1);
  const int64_t state = L * hout + (c.rnn.mode == CellMode::LSTM ? L * c.rnn.hidden_size : 0);
  if (c.num_categories > 0) add(state, c.num_categories + 1);
  return n;
}

// Values stored in the file's tensors.
int64_t stored_values(const SafetensorsFile& file) {
  int64_t n = 0;
  for (const auto& [name, t] : file.tensors) n += t.numel();
  return n;
}

LoadedLm build(const std::string& path, const nlohmann::json& config_json,
               const nlohmann::json& vocab_json, int64_t values_in_file) {
  LoadedLm out;
  try {
    const LmConfig config = LmConfig::from_json(config_json);
    out.vocab = text::Vocabulary::from_json(vocab_json);
    check(out.vocab.size() == config.vocab_size, "the vocabulary has ", out.vocab.size(),
          " tokens but the model ", config.vocab_size);
    const int64_t needed = min_parameter_count(config);
    check(needed <= values_in_file, "the configuration needs at least ", needed,
          " parameter values but the file holds only ", values_in_file);
    Rng rng(0);
    out.model = std::make_unique<LanguageModel<float>>(config, rng);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  return out;
}

// Category names from the stored JSON (absent: "0", "1", ... for a conditional model).
std::vector<std::string> read_categories(const std::string& path, const nlohmann::json& owner,
                                         int64_t num_categories) {
  std::vector<std::string> names;
  if (owner.contains("categories")) {
    const nlohmann::json& j = owner["categories"];
    check(j.is_array(), path, ": the category names are not a JSON array");
    for (const auto& n : j) {
      check(n.is_string() && !n.get<std::string>().empty(), path,
            ": a category name is not a non-empty string");
      names.push_back(n.get<std::string>());
    }
    check(num_categories == 0 || static_cast<int64_t>(names.size()) == num_categories, path, ": ",
          names.size(), " category names for a model with ", num_categories, " categories");
  } else {
    for (int64_t c = 0; c < num_categories; ++c) names.push_back(std::to_string(c));
  }
  return names;
}

}  // namespace

int64_t category_id(const LoadedLm& loaded, const std::string& name) {
  for (size_t c = 0; c < loaded.categories.size(); ++c)
    if (loaded.categories[c] == name) return static_cast<int64_t>(c);
  std::string names;
  for (size_t c = 0; c < loaded.categories.size(); ++c) {
    if (c == 12) {
      names += ", ...";
      break;
    }
    names += (c ? ", " : "") + loaded.categories[c];
  }
  fail("unknown category '", name, "': the model's ", loaded.categories.size(),
       " categories are ", names);
}

LoadedLm load_lm(const std::string& path) {
  std::error_code ec;
  check(std::filesystem::is_regular_file(path, ec), path, ": no such model file");
  const SafetensorsFile file = read_safetensors(path);
  if (file.metadata.count("rnn_checkpoint")) {
    const Checkpoint c = Checkpoint::load(path);
    check(c.meta.contains("task") && c.meta["task"].is_object() &&
              c.meta["task"].value("kind", "") == "lm" && c.meta["task"].contains("config") &&
              c.meta["task"].contains("vocab"),
          path, ": a checkpoint, but not of a language model");
    LoadedLm out =
        build(path, c.meta["task"]["config"], c.meta["task"]["vocab"], stored_values(file));
    try {
      c.get_parameters(out.model->parameters());
    } catch (const Error& e) {
      fail(path, ": ", e.what());
    }
    out.categories =
        read_categories(path, c.meta["task"], out.model->config().num_categories);
    out.kind = "checkpoint";
    out.info = {{"step", c.meta.contains("trainer") ? json_int_or(c.meta["trainer"], "step", int64_t{0})
                                                    : int64_t{0}}};
    return out;
  }
  auto it = file.metadata.find("rnn_lm");
  check(it != file.metadata.end(), path,
        ": not a language model (no rnn_lm or rnn_checkpoint metadata)");
  const nlohmann::json meta = nlohmann::json::parse(it->second, nullptr, false);
  check(meta.is_object() && meta.contains("config") && meta.contains("vocab"), path,
        ": the rnn_lm metadata is not a JSON object with config and vocab");
  LoadedLm out = build(path, meta["config"], meta["vocab"], stored_values(file));
  Parameters<float>& store = out.model->parameters();
  for (const auto& [name, stored] : file.tensors) {
    check(store.find(name).has_value(), path, ": unknown parameter '", name,
          "' for this model configuration");
  }
  for (const ParamInfo& p : store.infos()) {
    check(file.has(p.name), path, ": missing parameter '", p.name, "'");
    const Tensor<float> t = file.get<float>(p.name);
    check(t.shape() == p.shape, path, ": parameter '", p.name, "': expected shape ",
          shape_str(p.shape), ", got ", shape_str(t.shape()));
    for (int64_t i = 0; i < t.numel(); ++i)
      check(std::isfinite(t[i]), path, ": parameter '", p.name, "' has a non-finite value at ", i);
    store.set(p.name, t);
  }
  out.categories = read_categories(path, meta, out.model->config().num_categories);
  out.kind = "model";
  out.info = meta.value("info", nlohmann::json::object());
  return out;
}

}  // namespace rnn::lm
