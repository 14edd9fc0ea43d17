// UTF-8 decoding and text files: multi-byte sequences, every kind of invalid sequence
// (with the byte offset in the message), byte order mark, CRLF, binary and empty files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "rnn/core/error.h"
#include "rnn/text/utf8.h"

namespace rnn::text {
namespace {

std::string error_of(const std::string& bytes) {
  try {
    decode_utf8(bytes, "t.txt");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TextUtf8, DecodesOneToFourByteSequences) {
  // "aé€𝄞" = 61 | C3 A9 | E2 82 AC | F0 9D 84 9E
  const std::u32string cps = decode_utf8("a\xC3\xA9\xE2\x82\xAC\xF0\x9D\x84\x9E", "t");
  ASSERT_EQ(cps.size(), 4u);
  EXPECT_EQ(cps[0], U'a');
  EXPECT_EQ(cps[1], char32_t{0xE9});
  EXPECT_EQ(cps[2], char32_t{0x20AC});
  EXPECT_EQ(cps[3], char32_t{0x1D11E});
  EXPECT_EQ(encode_utf8(cps), "a\xC3\xA9\xE2\x82\xAC\xF0\x9D\x84\x9E");
}

TEST(TextUtf8, BoundaryCodePointsRoundTrip) {
  for (char32_t cp : {char32_t{0x7F}, char32_t{0x80}, char32_t{0x7FF}, char32_t{0x800},
                      char32_t{0xD7FF}, char32_t{0xE000}, char32_t{0xFFFF}, char32_t{0x10000},
                      char32_t{0x10FFFF}}) {
    std::string s;
    append_utf8(s, cp);
    EXPECT_EQ(decode_utf8(s, "t"), std::u32string(1, cp)) << codepoint_name(cp);
  }
  std::string s;
  EXPECT_THROW(append_utf8(s, 0xD800), Error);
  EXPECT_THROW(append_utf8(s, 0x110000), Error);
}

TEST(TextUtf8, InvalidSequencesNameTheByteOffset) {
  EXPECT_NE(error_of("ab\x80").find("byte offset 2"), std::string::npos) << error_of("ab\x80");
  EXPECT_NE(error_of("ab\x80").find("continuation byte without a lead"), std::string::npos);
  EXPECT_NE(error_of("abc\xC3").find("byte offset 3"), std::string::npos);       // truncated
  EXPECT_NE(error_of("abc\xC3").find("truncated"), std::string::npos);
  EXPECT_NE(error_of("a\xE2\x28\xA1").find("byte offset 2"), std::string::npos);  // bad continuation
  EXPECT_NE(error_of("\xC0\x80").find("overlong"), std::string::npos);
  EXPECT_NE(error_of("xx\xE0\x80\xAF").find("byte offset 2"), std::string::npos);  // overlong '/'
  EXPECT_NE(error_of("\xED\xA0\x80").find("surrogate"), std::string::npos);
  EXPECT_NE(error_of("\xF4\x90\x80\x80").find("above U+10FFFF"), std::string::npos);
  EXPECT_NE(error_of("\xF8\x88\x80\x80\x80").find("cannot start"), std::string::npos);
  EXPECT_NE(error_of("\xFF").find("t.txt"), std::string::npos);
}

TEST(TextUtf8, BomStrippedAndCrlfNormalised) {
  const std::u32string t = decode_text("\xEF\xBB\xBFline one\r\nline two\rthree\r\n", "t");
  EXPECT_EQ(encode_utf8(t), "line one\nline two\rthree\n");
  TextReadOptions keep;
  keep.strip_bom = false;
  keep.normalize_crlf = false;
  EXPECT_EQ(decode_text("\xEF\xBB\xBF" "a\r\n", "t", keep), U"\uFEFFa\r\n");
  // A BOM in the middle is text, not a mark.
  EXPECT_EQ(decode_text("a\xEF\xBB\xBF", "t"), U"a\uFEFF");
}

TEST(TextUtf8, EmptyBinaryAndMissingFiles) {
  const auto dir = std::filesystem::temp_directory_path() / "rnn_text_utf8_test";
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    return (dir / name).string();
  };
  auto message = [](const std::string& path) -> std::string {
    try {
      read_text_file(path);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message(write("empty.txt", "")).find("empty"), std::string::npos);
  EXPECT_NE(message(write("bom.txt", "\xEF\xBB\xBF")).find("no text"), std::string::npos);
  const std::string binary = message(write("bin.dat", std::string("abc\0def", 7)));
  EXPECT_NE(binary.find("binary file (NUL byte at offset 3)"), std::string::npos) << binary;
  EXPECT_NE(message((dir / "nope.txt").string()).find("no such file"), std::string::npos);
  EXPECT_NE(message(dir.string()).find("not a regular file"), std::string::npos);
  EXPECT_NE(message(write("bad.txt", "ok\n\xC3(")).find("byte offset 4"), std::string::npos);
  EXPECT_EQ(read_text_file(write("ok.txt", "h\xC3\xA9\r\n")), U"h\u00E9\n");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rnn::text
