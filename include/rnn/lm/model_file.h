// Language-model files. Two kinds are read alike by `rnn lm eval|sample`:
//  - a training checkpoint (best.ckpt / last.ckpt of a run folder, rnn/train/checkpoint.h):
//    the model's configuration and vocabulary are in meta["task"];
//  - an exported model (smaller: no optimizer state): safetensors with the parameters
//    under their PyTorch names (encoder.weight, rnn.weight_ih_l0, decoder.weight, ...) and
//    __metadata__["rnn_lm"] = {"format": 1, "config": LmConfig, "vocab": Vocabulary,
//    "info": {...}, "categories": [names]?}.
// Models trained on per-category documents store the category names (index = category
// id); a conditional model stored without names gets "0", "1", ...
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/lm/model.h"
#include "rnn/text/vocabulary.h"

namespace rnn::lm {

struct LoadedLm {
  std::unique_ptr<LanguageModel<float>> model;
  text::Vocabulary vocab;
  std::vector<std::string> categories;  // names (conditional: num_categories of them)
  std::string kind;       // "checkpoint" or "model"
  nlohmann::json info;    // exported: the "info" object; checkpoint: {"step": N}
};

// Writes an exported model atomically. `info` is stored as given (e.g. scores, source);
// `categories` (optional; a conditional model: exactly num_categories) are the names.
void save_lm_model(const std::string& path, const LanguageModel<float>& model,
                   const text::Vocabulary& vocab, const nlohmann::json& info = nlohmann::json::object(),
                   const std::vector<std::string>& categories = {});

// The id of a category given by name; throws rnn::Error listing the names when unknown.
int64_t category_id(const LoadedLm& loaded, const std::string& name);

// Reads either kind; throws rnn::Error naming the path: missing or corrupt file, not a
// language model, parameters missing / unknown / misshapen / non-finite, a vocabulary
// that does not fit the model.
LoadedLm load_lm(const std::string& path);

}  // namespace rnn::lm
