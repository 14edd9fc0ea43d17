// Damaged and hostile safetensors files: every one must give rnn::Error with a clear
// message, never a crash, a hang, a different exception type, or a huge allocation.
#include <gtest/gtest.h>

#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "rnn/core/error.h"
#include "rnn/core/rng.h"
#include "rnn/io/safetensors.h"

namespace rnn {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

Bytes valid_bytes() {
  SafetensorsFile f;
  f.put("alpha", Tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6}));
  f.put("beta", Tensor<double>({4}, {0.5, -1, 2, 8}));
  f.put("gamma", Tensor<int64_t>({1, 2}, {7, -7}));
  f.put("scalar", Tensor<float>(Shape{}, 3.f));
  f.metadata["config"] = R"({"mode":"GRU","input_size":3})";
  return serialize_safetensors(f);
}

// A file with the given header text (padded to 8) and `data_size` data bytes.
Bytes make_file(const std::string& header, size_t data_size) {
  const uint64_t n = header.size();
  Bytes out(8 + header.size() + data_size, 0x3f);
  std::memcpy(out.data(), &n, 8);
  if (!header.empty()) std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

// Parsing either succeeds (a mutation that happens to stay valid) or throws rnn::Error;
// anything else fails the test.
::testing::AssertionResult parses_or_errors(const Bytes& bytes) {
  try {
    SafetensorsFile f = parse_safetensors(bytes, "mutant.safetensors");
    // A file accepted must be self-consistent: it serialises and reads back.
    parse_safetensors(serialize_safetensors(f), "reserialised");
    return ::testing::AssertionSuccess();
  } catch (const Error&) {
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "non-rnn exception: " << e.what();
  } catch (...) {
    return ::testing::AssertionFailure() << "unknown exception";
  }
}

std::string error_of(const Bytes& bytes) {
  try {
    parse_safetensors(bytes, "bad.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

#define EXPECT_ERROR_MENTIONS(bytes, fragment)                                    \
  do {                                                                            \
    const std::string msg_ = error_of(bytes);                                     \
    EXPECT_NE(msg_.find(fragment), std::string::npos) << "message: " << msg_;     \
    EXPECT_NE(msg_.find("bad.safetensors"), std::string::npos) << "message: " << msg_; \
    EXPECT_EQ(msg_.find('\n'), std::string::npos) << "message: " << msg_;         \
  } while (0)

TEST(SafetensorsCorrupt, ValidFileParses) {
  EXPECT_NO_THROW(parse_safetensors(valid_bytes(), "ok"));
}

TEST(SafetensorsCorrupt, EveryTruncationThrows) {
  const Bytes full = valid_bytes();
  for (size_t len = 0; len < full.size(); ++len) {
    const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    EXPECT_THROW(parse_safetensors(cut, "cut"), Error) << "length " << len;
  }
}

TEST(SafetensorsCorrupt, TrailingBytesThrow) {
  Bytes extra = valid_bytes();
  extra.push_back(0);
  EXPECT_ERROR_MENTIONS(extra, "not described by the header");
}

TEST(SafetensorsCorrupt, HeaderLengthLies) {
  const Bytes full = valid_bytes();
  const uint64_t lies[] = {0,
                           1,
                           uint64_t{1} << 63,
                           ~uint64_t{0},
                           uint64_t{1} << 32,
                           100ull * 1000 * 1000 + 1,
                           full.size(),
                           full.size() - 7};
  for (uint64_t n : lies) {
    Bytes b = full;
    std::memcpy(b.data(), &n, 8);
    EXPECT_THROW(parse_safetensors(b, "lie"), Error) << "header length " << n;
  }
  Bytes b = full;
  const uint64_t huge = uint64_t{1} << 63;
  std::memcpy(b.data(), &huge, 8);
  EXPECT_ERROR_MENTIONS(b, "header length");
}

TEST(SafetensorsCorrupt, EveryHeaderByteAltered) {
  const Bytes full = valid_bytes();
  uint64_t n = 0;
  std::memcpy(&n, full.data(), 8);
  const unsigned char replacements[] = {0x00, '{', '}', '[', ']', '"', ',', ':', '-',
                                        '9', 'x', ' ', 0x7f, 0xc3, 0xff, '\\'};
  for (size_t pos = 0; pos < 8 + n; ++pos) {
    for (unsigned char r : replacements) {
      Bytes b = full;
      if (b[pos] == r) continue;
      b[pos] = r;
      EXPECT_TRUE(parses_or_errors(b)) << "byte " << pos << " set to " << int(r);
    }
    Bytes flipped = full;
    flipped[pos] ^= 0x80;
    EXPECT_TRUE(parses_or_errors(flipped)) << "byte " << pos << " high bit flipped";
  }
}

TEST(SafetensorsCorrupt, RandomMutations) {
  const Bytes full = valid_bytes();
  Rng rng(2024);
  for (int trial = 0; trial < 20000; ++trial) {
    Bytes b = full;
    const int edits = 1 + static_cast<int>(rng.below(4));
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng.below(b.size());
      switch (rng.below(3)) {
        case 0: b[pos] = static_cast<unsigned char>(rng.below(256)); break;
        case 1: b.erase(b.begin() + static_cast<std::ptrdiff_t>(pos)); break;
        default:
          b.insert(b.begin() + static_cast<std::ptrdiff_t>(pos),
                   static_cast<unsigned char>(rng.below(256)));
      }
      if (b.empty()) break;
    }
    ASSERT_TRUE(parses_or_errors(b)) << "trial " << trial;
  }
}

TEST(SafetensorsCorrupt, InvalidJsonAndNonObjects) {
  const char* headers[] = {
      "{",      "{\"a\":}", "{} trailing", "[]      ", "\"text\"", "3       ", "null    ",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}",  // unclosed
      "{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",  // bad UTF-8
  };
  for (const char* h : headers) {
    EXPECT_THROW(parse_safetensors(make_file(h, 4), "json"), Error) << h;
  }
  std::string with_nul = "{\"a\":1}";
  with_nul[3] = '\0';
  EXPECT_THROW(parse_safetensors(make_file(with_nul, 0), "nul"), Error);
  // A very deep nesting is refused without exhausting the stack.
  const std::string deep =
      "{\"a\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  EXPECT_THROW(parse_safetensors(make_file(deep, 0), "deep"), Error);
}

TEST(SafetensorsCorrupt, UnsupportedDtypes) {
  for (const char* dtype : {"BF16", "F16", "BOOL", "U8", "I8", "F8_E4M3", "f32", ""}) {
    const std::string h = std::string("{\"w\":{\"dtype\":\"") + dtype +
                          "\",\"shape\":[2],\"data_offsets\":[0,4]}}";
    EXPECT_ERROR_MENTIONS(make_file(h, 4), "unsupported dtype");
  }
  EXPECT_THROW(parse_safetensors(
                   make_file("{\"w\":{\"dtype\":3,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "x"),
               Error);
  EXPECT_THROW(
      parse_safetensors(make_file("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "x"),
      Error);
}

TEST(SafetensorsCorrupt, BadShapes) {
  const char* shapes[] = {
      "[4294967296,4294967296]",          // 2^64 elements: overflow
      "[9223372036854775807,2]",          // int64 max * 2
      "[18446744073709551615]",           // u64 max
      "[4611686018427387904]",            // 2^62 elements * 4 bytes overflows
      "[1000000000000]",                  // far more than the data
      "[-1]", "[1.5]", "[\"3\"]", "[[1]]", "[null]", "[true]", "3", "\"[1]\"", "{}", "null",
      "[1e3]",
  };
  for (const char* s : shapes) {
    const std::string h =
        std::string("{\"w\":{\"dtype\":\"F32\",\"shape\":") + s + ",\"data_offsets\":[0,4]}}";
    EXPECT_THROW(parse_safetensors(make_file(h, 4), "shape"), Error) << s;
  }
  // Overflow with a zero extent is just an empty tensor, but then 4 bytes are too many.
  EXPECT_THROW(
      parse_safetensors(
          make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[0,9223372036854775807],"
                    "\"data_offsets\":[0,4]}}",
                    4),
          "zero"),
      Error);
  EXPECT_ERROR_MENTIONS(
      make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                "\"data_offsets\":[0,4]}}",
                4),
      "'w'");
}

TEST(SafetensorsCorrupt, BadOffsets) {
  auto one = [](const std::string& offsets, size_t data) {
    return make_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" + offsets + "}}",
                     data);
  };
  const char* offsets[] = {"[8,0]",     "[0,16]", "[4,12]", "[0]",    "[0,8,16]", "[-8,0]",
                           "[0.0,8.0]", "[\"0\",8]", "null",  "{}",     "[0,18446744073709551615]",
                           "[18446744073709551608,18446744073709551615]", "[0,1e30]"};
  for (const char* o : offsets) EXPECT_THROW(parse_safetensors(one(o, 8), "off"), Error) << o;
  EXPECT_ERROR_MENTIONS(one("[0,16]", 8), "data region");

  auto two = [](const std::string& a, const std::string& b, size_t data) {
    return make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" + a +
                         "},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" + b + "}}",
                     data);
  };
  EXPECT_ERROR_MENTIONS(two("[0,8]", "[4,12]", 12), "overlap");    // overlapping
  EXPECT_ERROR_MENTIONS(two("[0,8]", "[0,8]", 8), "overlap");      // same region twice
  EXPECT_ERROR_MENTIONS(two("[0,8]", "[12,20]", 20), "gap");       // hole
  EXPECT_THROW(parse_safetensors(two("[0,8]", "[8,16]", 24), "x"), Error);  // leftover
  EXPECT_NO_THROW(parse_safetensors(two("[8,16]", "[0,8]", 16), "x"));      // any order is fine
  // Duplicate names: the JSON object keeps one, so the data is not covered exactly.
  EXPECT_THROW(
      parse_safetensors(
          make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                    16),
          "dup"),
      Error);
}

TEST(SafetensorsCorrupt, BadEntriesAndMetadata) {
  const char* headers[] = {
      "{\"w\":3}",
      "{\"w\":[]}",
      "{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}",
      "{\"__metadata__\":{\"k\":3},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
      "{\"__metadata__\":[\"k\"],\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
      "{\"__metadata__\":\"k\",\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
  };
  for (const char* h : headers) {
    EXPECT_THROW(parse_safetensors(make_file(h, 4), "entry"), Error) << h;
  }
}

TEST(SafetensorsCorrupt, TruncatedAndEmptyFilesOnDisk) {
  const fs::path dir =
      fs::temp_directory_path() / ("rnn_io_robust_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const Bytes full = valid_bytes();
  for (size_t len : {size_t{0}, size_t{3}, size_t{8}, size_t{20}, full.size() - 1}) {
    const std::string path = (dir / ("cut" + std::to_string(len))).string();
    {
      std::ofstream out(path, std::ios::binary);
      out.write(reinterpret_cast<const char*>(full.data()), static_cast<std::streamsize>(len));
    }
    try {
      read_safetensors(path);
      ADD_FAILURE() << "no error for length " << len;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rnn
