// Parallel text for translation: read_pairs on the file, length filtering, tokenizers learned
// on the two sides (word level or a few BPE merges, by the first byte), encoding and one
// padded batch; the tokenizers' JSON must round-trip.
#include <numeric>
#include <vector>

#include "fuzz_support.h"
#include "rnn/seq2seq/data.h"
#include "rnn/seq2seq/tokenizer.h"
#include "targets.h"

namespace rnn::fuzz {

int fuzz_parallel_text(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  ScratchDir dir;
  const std::string path = dir.write("pairs.tsv", as_text(data + 1, size - 1));
  return accept_errors([&] {
    const std::vector<seq2seq::TextPair> all = seq2seq::read_pairs(path);
    const std::vector<seq2seq::TextPair> pairs = seq2seq::filter_pairs(all, flags >> 5);
    if (pairs.empty()) return;
    std::vector<std::string> src, tgt;
    for (const auto& p : pairs) {
      src.push_back(p.source);
      tgt.push_back(p.target);
    }
    seq2seq::TokenizerOptions options;
    options.bpe_merges = flags & 15;
    options.max_size = (flags & 16) != 0 ? 8 : 0;
    const seq2seq::Tokenizer s = seq2seq::Tokenizer::learn(src, options);
    const seq2seq::Tokenizer t = seq2seq::Tokenizer::learn(tgt, options);
    require(seq2seq::Tokenizer::from_json(s.to_json()).to_json() == s.to_json(),
            "tokenizer JSON round trip");
    const seq2seq::EncodedPairs encoded = seq2seq::encode_pairs(pairs, s, t, path);
    std::vector<int64_t> indices(std::min<size_t>(encoded.pairs.size(), 8));
    std::iota(indices.begin(), indices.end(), int64_t{0});
    if (!indices.empty()) seq2seq::make_batch(encoded.pairs, indices);
    for (const auto& p : encoded.pairs) {
      s.decode(p.source);
      t.decode(p.target);
    }
  });
}

}  // namespace rnn::fuzz
