// Model and data configurations stored as JSON inside model files and checkpoints. The first
// byte picks the reader, the rest is the JSON text. What a reader accepts must survive a
// round trip: from_json(to_json(x)) gives the same JSON again.
#include <functional>
#include <iterator>

#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "rnn/asr/data.h"
#include "rnn/asr/model.h"
#include "rnn/features/logmel.h"
#include "rnn/forecast/model.h"
#include "rnn/forecast/prepare.h"
#include "rnn/lab/task.h"
#include "rnn/lab/tasks.h"
#include "rnn/layers/recurrent_config.h"
#include "rnn/lm/model.h"
#include "rnn/seq2seq/model.h"
#include "rnn/tagging/data.h"
#include "rnn/tagging/models.h"
#include "rnn/tagging/tasks.h"
#include "targets.h"

namespace rnn::fuzz {

namespace {

using json = nlohmann::json;

template <class T>
void round_trip(const json& j, const char* what) {
  const T first = T::from_json(j);
  const json once = first.to_json();
  const json twice = T::from_json(once).to_json();
  require(once == twice, std::string(what) + ": from_json(to_json(x)) differs from x");
}

const std::function<void(const json&)> kReaders[] = {
    [](const json& j) { round_trip<RecurrentConfig>(j, "RecurrentConfig"); },
    [](const json& j) { round_trip<lm::LmConfig>(j, "LmConfig"); },
    [](const json& j) { round_trip<seq2seq::Seq2SeqConfig>(j, "Seq2SeqConfig"); },
    [](const json& j) { round_trip<asr::AsrConfig>(j, "AsrConfig"); },
    [](const json& j) { round_trip<asr::Tokens>(j, "asr::Tokens"); },
    [](const json& j) { round_trip<features::LogMelOptions>(j, "LogMelOptions"); },
    [](const json& j) { round_trip<features::Normalizer>(j, "Normalizer"); },
    [](const json& j) { round_trip<forecast::ForecastModelConfig>(j, "ForecastModelConfig"); },
    [](const json& j) { round_trip<forecast::Scaler>(j, "Scaler"); },
    [](const json& j) { round_trip<forecast::TransformSpec>(j, "TransformSpec"); },
    [](const json& j) { round_trip<forecast::Pipeline>(j, "Pipeline"); },
    [](const json& j) { round_trip<tagging::TaggerConfig>(j, "TaggerConfig"); },
    [](const json& j) { round_trip<tagging::ClassifierConfig>(j, "ClassifierConfig"); },
    [](const json& j) { round_trip<tagging::EpochCursor>(j, "EpochCursor"); },
    [](const json& j) { round_trip<tagging::TagVocab>(j, "TagVocab"); },
    [](const json& j) { round_trip<tagging::ClassVocab>(j, "ClassVocab"); },
    [](const json& j) {
      const tagging::Labels labels = tagging::Labels::from_json(j, "labels");
      require(tagging::Labels::from_json(labels.to_json(), "labels") == labels,
              "Labels: round trip differs");
    },
    [](const json& j) { round_trip<lab::LabModelConfig>(j, "LabModelConfig"); },
    [](const json& j) { round_trip<lab::TaskSpec>(j, "TaskSpec"); },
};

}  // namespace

int fuzz_model_config(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& reader = kReaders[data[0] % std::size(kReaders)];
  const json j = json::parse(as_text(data + 1, size - 1), nullptr, false);
  if (j.is_discarded()) return 0;  // JSON syntax is nlohmann's business, not ours
  return accept_errors([&] { reader(j); });
}

}  // namespace rnn::fuzz
