#include "rnn/lm/model_file.h"

#include <cmath>
#include <filesystem>

#include "rnn/core/error.h"
#include "rnn/io/safetensors.h"
#include "rnn/train/checkpoint.h"

namespace rnn::lm {

void save_lm_model(const std::string& path, const LanguageModel<float>& model,
                   const text::Vocabulary& vocab, const nlohmann::json& info) {
  check(vocab.size() == model.config().vocab_size, "save_lm_model: the vocabulary has ",
        vocab.size(), " tokens, the model ", model.config().vocab_size);
  SafetensorsFile file;
  const Parameters<float>& store = model.parameters();
  for (const ParamInfo& p : store.infos()) file.put(p.name, store.get(p.name));
  file.metadata["rnn_lm"] = nlohmann::json{{"format", 1},
                                           {"config", model.config().to_json()},
                                           {"vocab", vocab.to_json()},
                                           {"info", info}}
                                .dump();
  write_safetensors(path, file);
}

namespace {

LoadedLm build(const std::string& path, const nlohmann::json& config_json,
               const nlohmann::json& vocab_json) {
  LoadedLm out;
  try {
    const LmConfig config = LmConfig::from_json(config_json);
    out.vocab = text::Vocabulary::from_json(vocab_json);
    check(out.vocab.size() == config.vocab_size, "the vocabulary has ", out.vocab.size(),
          " tokens but the model ", config.vocab_size);
    Rng rng(0);
    out.model = std::make_unique<LanguageModel<float>>(config, rng);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  return out;
}

}  // namespace

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
    LoadedLm out = build(path, c.meta["task"]["config"], c.meta["task"]["vocab"]);
    try {
      c.get_parameters(out.model->parameters());
    } catch (const Error& e) {
      fail(path, ": ", e.what());
    }
    out.kind = "checkpoint";
    out.info = {{"step", c.meta.contains("trainer") ? c.meta["trainer"].value("step", int64_t{0})
                                                    : int64_t{0}}};
    return out;
  }
  auto it = file.metadata.find("rnn_lm");
  check(it != file.metadata.end(), path,
        ": not a language model (no rnn_lm or rnn_checkpoint metadata)");
  const nlohmann::json meta = nlohmann::json::parse(it->second, nullptr, false);
  check(meta.is_object() && meta.contains("config") && meta.contains("vocab"), path,
        ": the rnn_lm metadata is not a JSON object with config and vocab");
  LoadedLm out = build(path, meta["config"], meta["vocab"]);
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
  out.kind = "model";
  out.info = meta.value("info", nlohmann::json::object());
  return out;
}

}  // namespace rnn::lm
