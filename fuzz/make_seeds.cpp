// Writes the binary and JSON seed inputs of fuzz/corpus/ (safetensors, checkpoint,
// model_file, model_config) with the library's own writers, so that the seeds are valid
// files of the current formats:  build-fuzz/fuzz/rnn_fuzz_make_seeds fuzz/corpus
// The text seeds (csv, tagging, ...) are small hand-written files committed as they are.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/asr/model.h"
#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/features/logmel.h"
#include "rnn/forecast/model.h"
#include "rnn/forecast/prepare.h"
#include "rnn/io/model_file.h"
#include "rnn/io/safetensors.h"
#include "rnn/lab/task.h"
#include "rnn/lab/tasks.h"
#include "rnn/layers/recurrent.h"
#include "rnn/lm/model.h"
#include "rnn/lm/model_file.h"
#include "rnn/seq2seq/model.h"
#include "rnn/tagging/models.h"
#include "rnn/tagging/tasks.h"
#include "rnn/text/vocabulary.h"
#include "rnn/train/checkpoint.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path root;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// `selector` is the first byte the fuzz target reads (its mode), then the payload.
void put(const std::string& target, const std::string& name, char selector,
         const std::string& payload) {
  fs::create_directories(root / target);
  std::ofstream out(root / target / name, std::ios::binary);
  out.put(selector);
  out << payload;
}

void put_raw(const std::string& target, const std::string& name, const std::string& payload) {
  fs::create_directories(root / target);
  std::ofstream(root / target / name, std::ios::binary) << payload;
}

std::string to_text(const std::vector<unsigned char>& bytes) { return {bytes.begin(), bytes.end()}; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: rnn_fuzz_make_seeds CORPUS_DIR\n";
    return 2;
  }
  root = argv[1];
  const fs::path tmp = fs::temp_directory_path() / "rnn-fuzz-seeds";
  fs::create_directories(tmp);
  rnn::Rng rng(7);

  // safetensors: every dtype, metadata, an empty tensor, and an empty file of tensors.
  rnn::SafetensorsFile st;
  st.put("w", rnn::Tensor<float>({2, 3}, 0.5f));
  st.put("d", rnn::Tensor<double>({3}, -1.25));
  st.put("i", rnn::Tensor<int64_t>({2, 1}, int64_t{42}));
  st.put("empty", rnn::Tensor<float>({0, 4}));
  st.metadata["note"] = "seed";
  put_raw("safetensors", "all_dtypes", to_text(rnn::serialize_safetensors(st)));
  put_raw("safetensors", "no_tensors", to_text(rnn::serialize_safetensors(rnn::SafetensorsFile{})));
  std::string truncated = to_text(rnn::serialize_safetensors(st));
  put_raw("safetensors", "truncated", truncated.substr(0, truncated.size() - 5));

  // A recurrent model file (LSTM with projection, bidirectional, two layers).
  rnn::RecurrentConfig rc{.mode = rnn::CellMode::LSTM, .input_size = 3, .hidden_size = 4,
                          .num_layers = 2, .bidirectional = true, .proj_size = 2};
  rnn::Parameters<float> store;
  rnn::Recurrent<float> module(rc, store, rng);
  const fs::path model_path = tmp / "recurrent.safetensors";
  rnn::save_recurrent(model_path.string(), module);
  put("model_file", "recurrent_f32", 0, slurp(model_path));
  rnn::save_recurrent(model_path.string(), module, rnn::DType::F64);
  put("model_file", "recurrent_f64", 1, slurp(model_path));
  put("model_file", "recurrent_config", 3, rc.to_json().dump());

  // A language model file and its metadata.
  rnn::lm::LmConfig lc;
  lc.vocab_size = 5;
  lc.embed_size = 3;
  lc.rnn.mode = rnn::CellMode::GRU;
  lc.rnn.hidden_size = 4;
  lc.rnn.num_layers = 1;
  lc.finalize();
  rnn::lm::LanguageModel<float> lm(lc, rng);
  const rnn::text::Vocabulary vocab(rnn::text::TokenLevel::Char, {"<unk>", "\n", " ", "a", "b"});
  const fs::path lm_path = tmp / "lm.safetensors";
  rnn::lm::save_lm_model(lm_path.string(), lm, vocab, {{"source", "seed"}});
  put("model_file", "lm", 2, slurp(lm_path));
  put("model_file", "lm_meta", 4,
      json{{"format", 1}, {"config", lc.to_json()}, {"vocab", vocab.to_json()}}.dump());

  // Checkpoints: a whole file, and the JSON the trainer writes into one.
  rnn::Checkpoint c;
  c.put_parameters(store);
  c.put_rng("trainer", rng);
  c.put_task_tensor("h", rnn::Tensor<float>({1, 2}, 0.0f));
  c.meta["trainer"] = {{"step", 3}, {"best_val", nullptr}, {"optimizer", "adam"}};
  c.meta["optimizer"] = {{"kind", "adam"}, {"step", 3}, {"lr", 0.001}, {"buffers", json::array()}};
  c.meta["task"] = {{"kind", "lm"}, {"config", lc.to_json()}, {"vocab", vocab.to_json()}};
  const fs::path ckpt = tmp / "last.ckpt";
  c.save(ckpt.string());
  put("checkpoint", "file", 0, slurp(ckpt));
  json meta = c.meta;
  meta["format"] = 1;
  put("checkpoint", "meta", 1, meta.dump());
  meta["rng"]["trainer"]["state"][0] = "zz00000000000000";
  put("checkpoint", "meta_bad_rng", 1, meta.dump());

  // Configurations, in the order of model_config_target.cpp's readers.
  rnn::seq2seq::Seq2SeqConfig sc;
  sc.src_vocab = 10;
  sc.tgt_vocab = 12;
  sc.hidden_size = 8;
  sc.finalize();
  rnn::asr::AsrConfig ac;
  ac.hidden_size = 8;
  ac.tokens = rnn::asr::Tokens(rnn::asr::Tokens::Level::Char, {"a", "b", " "});
  rnn::forecast::ForecastModelConfig fc;
  fc.quantiles = {0.1, 0.5, 0.9};
  rnn::tagging::TaggerConfig tc;
  tc.words = 20;
  tc.chars = 10;
  tc.tags = 5;
  rnn::tagging::ClassifierConfig cc;
  cc.words = 30;
  cc.classes = 2;
  rnn::tagging::TagVocab tv{rnn::tagging::Labels({"<unk>", "the"}),
                            rnn::tagging::Labels({"<unk>", "t", "h"}),
                            rnn::tagging::Labels({"at", "nn"})};
  rnn::tagging::ClassVocab cv{rnn::tagging::Labels({"<unk>", "good"}),
                              rnn::tagging::Labels({"neg", "pos"})};
  rnn::forecast::Scaler scaler;
  scaler.kind = rnn::forecast::ScaleKind::Standard;
  scaler.offset = {1.0, 2.0};
  scaler.scale = {0.5, 3.0};
  const rnn::forecast::Pipeline pipeline(rnn::forecast::TransformSpec{}, scaler, 1);
  const std::vector<json> configs = {
      rc.to_json(),
      lc.to_json(),
      sc.to_json(),
      ac.to_json(),
      ac.tokens.to_json(),
      rnn::features::LogMelOptions{}.to_json(),
      rnn::features::Normalizer{}.to_json(),
      fc.to_json(),
      scaler.to_json(),
      rnn::forecast::TransformSpec{}.to_json(),
      pipeline.to_json(),
      tc.to_json(),
      cc.to_json(),
      rnn::tagging::EpochCursor{}.to_json(),
      tv.to_json(),
      cv.to_json(),
      tv.tags.to_json(),
      rnn::lab::LabModelConfig{}.to_json(),
      rnn::lab::TaskSpec{}.to_json(),
  };
  for (size_t i = 0; i < configs.size(); ++i) {
    put("model_config", "config_" + std::to_string(i), static_cast<char>(i), configs[i].dump());
  }
  fs::remove_all(tmp);
  std::cout << "seeds written under " << root << "\n";
  return 0;
}
