// UTF-8 text: strict decoding to code points (errors name the byte offset), encoding,
// and reading text files for language modeling.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rnn::text {

// Decodes UTF-8 into code points. Rejects (rnn::Error naming `source` and the byte
// offset of the offending sequence): bytes that cannot start a sequence, truncated
// sequences, bad continuation bytes, overlong forms, surrogates (U+D800..U+DFFF) and
// values above U+10FFFF.
std::u32string decode_utf8(std::string_view bytes, const std::string& source);

// Appends the UTF-8 form of `cp` (must be a valid scalar value; throws otherwise).
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view text);

// "U+00E9"
std::string codepoint_name(char32_t cp);

// What read_text_file does to the text after decoding.
struct TextReadOptions {
  bool strip_bom = true;     // a leading U+FEFF (byte order mark) is dropped
  bool normalize_crlf = true;  // "\r\n" becomes "\n" (lone "\r" is kept)
};

// Reads a UTF-8 text file as code points. Throws rnn::Error with one line naming the
// path for: a missing or unreadable file, an empty file (or one holding only a BOM), a
// binary file (a NUL byte, offset named), invalid UTF-8 (byte offset named).
std::u32string read_text_file(const std::string& path, const TextReadOptions& options = {});

// The same checks and normalisation on text already in memory (`source` names it in
// errors).
std::u32string decode_text(std::string_view bytes, const std::string& source,
                           const TextReadOptions& options = {});

}  // namespace rnn::text
