// Vocabulary JSON stored with models: the language model's text::Vocabulary (first byte
// even) or translation's seq2seq::Tokenizer (odd). What is accepted must then encode and
// decode text, decode every id, and survive a JSON round trip.
#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "rnn/seq2seq/tokenizer.h"
#include "rnn/text/utf8.h"
#include "rnn/text/vocabulary.h"
#include "targets.h"

namespace rnn::fuzz {

namespace {

constexpr const char* kSample = "The LORD's shepherd, ¿qué tal? «x» 12.5\nnew line\tand tab";

std::vector<int64_t> first_ids(int64_t size) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < std::min<int64_t>(size, 64); ++i) ids.push_back(i);
  return ids;
}

}  // namespace

int fuzz_vocabulary(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool tokenizer = (data[0] & 1) != 0;
  const nlohmann::json j = nlohmann::json::parse(as_text(data + 1, size - 1), nullptr, false);
  if (j.is_discarded()) return 0;
  return accept_errors([&] {
    if (!tokenizer) {
      const text::Vocabulary vocab = text::Vocabulary::from_json(j);
      const text::Vocabulary::Encoded e = vocab.encode(text::decode_utf8(kSample, "sample"));
      vocab.decode(e.ids);
      vocab.decode(first_ids(vocab.size()));
      require(text::Vocabulary::from_json(vocab.to_json()) == vocab, "vocabulary JSON round trip");
      return;
    }
    const seq2seq::Tokenizer tok = seq2seq::Tokenizer::from_json(j);
    const std::vector<int64_t> ids = tok.encode(kSample);
    tok.decode(ids);
    tok.pieces(kSample);
    tok.decode(first_ids(tok.size()));
    tok.token_strings(first_ids(tok.size()));
    require(seq2seq::Tokenizer::from_json(tok.to_json()).to_json() == tok.to_json(),
            "tokenizer JSON round trip");
  });
}

}  // namespace rnn::fuzz
