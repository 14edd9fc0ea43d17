// Text for language models: strict UTF-8 decoding, tokenisation at char and word level, a
// vocabulary built on the text, encoding and decoding. The first byte sets the options.
// Properties: UTF-8 decoding round-trips exactly; at char level with every character kept,
// decode(encode(text)) gives the text back.
#include "fuzz_support.h"
#include "rnn/text/utf8.h"
#include "rnn/text/vocabulary.h"
#include "targets.h"

namespace rnn::fuzz {

int fuzz_utf8_text(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string_view bytes = as_text(data + 1, size - 1);
  return accept_errors([&] {
    const std::u32string strict = text::decode_utf8(bytes, "fuzz.txt");
    require(text::encode_utf8(strict) == bytes, "encode_utf8(decode_utf8(x)) != x");

    text::TextReadOptions read;
    read.strip_bom = (flags & 1) != 0;
    read.normalize_crlf = (flags & 2) != 0;
    const std::u32string content = text::decode_text(bytes, "fuzz.txt", read);

    text::VocabularyOptions vo;
    vo.level = (flags & 4) != 0 ? text::TokenLevel::Word : text::TokenLevel::Char;
    vo.max_size = (flags & 8) != 0 ? 2 + (flags >> 4) : 0;
    const text::TokenStream stream = text::tokenize(content, vo.level);
    const text::Vocabulary vocab = text::Vocabulary::build(stream, 0, stream.ids.size(), vo);
    const text::Vocabulary::Encoded encoded = vocab.encode(content);
    const std::string decoded = vocab.decode(encoded.ids);
    int64_t previous = -1;
    for (int64_t id : encoded.ids) {
      vocab.piece(id, previous);
      previous = id;
    }
    if (vo.level == text::TokenLevel::Char && vo.max_size == 0) {
      require(encoded.unknown == 0, "a character of the text is unknown to its own vocabulary");
      require(decoded == text::encode_utf8(content), "char level: decode(encode(x)) != x");
    }
    require(text::Vocabulary::from_json(vocab.to_json()) == vocab, "vocabulary JSON round trip");
  });
}

}  // namespace rnn::fuzz
