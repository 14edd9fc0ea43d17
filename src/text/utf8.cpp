#include "rnn/text/utf8.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "rnn/core/error.h"
#include "rnn/io/file_limits.h"

namespace rnn::text {

namespace {

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(c));
  return buf;
}

}  // namespace

std::string codepoint_name(char32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

std::u32string decode_utf8(std::string_view bytes, const std::string& source) {
  std::u32string out;
  out.reserve(bytes.size());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    if (lead < 0x80) {  // ASCII fast path
      out.push_back(lead);
      ++i;
      continue;
    }
    int extra = 0;
    char32_t cp = 0;
    if ((lead & 0xE0) == 0xC0) {
      extra = 1, cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2, cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3, cp = lead & 0x07;
    } else {
      fail(source, ": invalid UTF-8 at byte offset ", i, ": byte ", hex_byte(lead),
           (lead & 0xC0) == 0x80 ? " is a continuation byte without a lead byte"
                                 : " cannot start a sequence");
    }
    for (int k = 1; k <= extra; ++k) {
      const size_t at = i + static_cast<size_t>(k);
      check(at < n, source, ": invalid UTF-8 at byte offset ", i, ": sequence truncated by the end",
            " of the text");
      const auto c = static_cast<unsigned char>(bytes[at]);
      check((c & 0xC0) == 0x80, source, ": invalid UTF-8 at byte offset ", at, ": byte ",
            hex_byte(c), " is not a continuation byte (sequence starts at ", i, ")");
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr char32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    check(cp >= kMin[extra], source, ": invalid UTF-8 at byte offset ", i, ": overlong encoding of ",
          codepoint_name(cp));
    check(cp <= 0x10FFFF, source, ": invalid UTF-8 at byte offset ", i,
          ": code point above U+10FFFF");
    check(cp < 0xD800 || cp > 0xDFFF, source, ": invalid UTF-8 at byte offset ", i,
          ": surrogate ", codepoint_name(cp));
    out.push_back(cp);
    i += static_cast<size_t>(extra) + 1;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  check(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF), "append_utf8: ", codepoint_name(cp),
        " is not a Unicode scalar value");
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(out, cp);
  return out;
}

std::u32string decode_text(std::string_view bytes, const std::string& source,
                           const TextReadOptions& options) {
  check(!bytes.empty(), source, ": the file is empty");
  const size_t nul = bytes.find('\0');
  check(nul == std::string_view::npos, source, ": binary file (NUL byte at offset ", nul,
        "), expected UTF-8 text");
  std::u32string text = decode_utf8(bytes, source);
  if (options.strip_bom && !text.empty() && text.front() == U'\uFEFF') text.erase(0, 1);
  if (options.normalize_crlf && text.find(U'\r') != std::u32string::npos) {
    size_t w = 0;
    for (size_t r = 0; r < text.size(); ++r) {
      if (text[r] == U'\r' && r + 1 < text.size() && text[r + 1] == U'\n') continue;
      text[w++] = text[r];
    }
    text.resize(w);
  }
  check(!text.empty(), source, ": the file holds no text (only a byte order mark)");
  return text;
}

std::u32string read_text_file(const std::string& path, const TextReadOptions& options) {
  std::error_code ec;
  check(std::filesystem::exists(path, ec), path, ": no such file");
  check(std::filesystem::is_regular_file(path, ec), path, ": not a regular file");
  check_file_size(path, kMaxTextFileBytes, "text");
  std::ifstream in(path, std::ios::binary);
  check(static_cast<bool>(in), path, ": cannot open for reading");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  check(!in.bad(), path, ": read error");
  return decode_text(bytes, path, options);
}

}  // namespace rnn::text
