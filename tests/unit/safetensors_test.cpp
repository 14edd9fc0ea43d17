// safetensors reading and writing: round trips, metadata, empty tensors, dtype
// conversions, and a file written by tools/safetensors_io.py.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include <unistd.h>

#include "rnn/core/error.h"
#include "rnn/io/safetensors.h"
#include "support/compare.h"

namespace rnn {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("rnn_io_unit_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

SafetensorsFile sample_file() {
  SafetensorsFile f;
  f.put("weight", Tensor<float>({2, 3}, {1.f, -2.f, 3.5f, 1e-30f, 0.f, -0.f}));
  f.put("double", Tensor<double>({3}, {1.0 / 3.0, -1e300, 2.0}));
  f.put("index", Tensor<int64_t>({2, 2}, {0, -1, std::numeric_limits<int64_t>::max(), 7}));
  StoredTensor i32;
  i32.dtype = DType::I32;
  i32.shape = {3};
  const int32_t vals[3] = {-5, 0, 2147483647};
  i32.bytes.resize(sizeof vals);
  std::memcpy(i32.bytes.data(), vals, sizeof vals);
  f.tensors["i32"] = i32;
  f.put("scalar", Tensor<float>(Shape{}, 4.25f));
  f.put("empty", Tensor<float>(Shape{0, 4}));
  f.metadata["config"] = R"({"mode":"LSTM"})";
  f.metadata["note"] = "héllo";
  return f;
}

void expect_same(const SafetensorsFile& a, const SafetensorsFile& b) {
  ASSERT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    ASSERT_TRUE(b.has(name)) << name;
    const StoredTensor& u = b.at(name);
    EXPECT_EQ(t.dtype, u.dtype) << name;
    EXPECT_EQ(t.shape, u.shape) << name;
    EXPECT_EQ(t.bytes, u.bytes) << name;
  }
}

TEST(Safetensors, RoundTripInMemoryAllDtypes) {
  const SafetensorsFile f = sample_file();
  const auto bytes = serialize_safetensors(f);
  const SafetensorsFile g = parse_safetensors(bytes, "memory");
  expect_same(f, g);
  EXPECT_EQ(g.source, "memory");
  EXPECT_EQ(g.at("i32").to<int64_t>().values(), (std::vector<int64_t>{-5, 0, 2147483647}));
  EXPECT_EQ(g.get<int64_t>("index")[2], std::numeric_limits<int64_t>::max());
  EXPECT_EQ(g.get<double>("double")[1], -1e300);
  EXPECT_EQ(g.get<float>("scalar").shape(), Shape{});
  EXPECT_EQ(g.get<float>("scalar")[0], 4.25f);
  EXPECT_EQ(g.get<float>("empty").shape(), (Shape{0, 4}));
  EXPECT_EQ(g.get<float>("empty").numel(), 0);
}

TEST(Safetensors, LayoutIsCanonical) {
  const auto bytes = serialize_safetensors(sample_file());
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_LE(8 + n, bytes.size());
  const std::string header(reinterpret_cast<const char*>(bytes.data() + 8), n);
  EXPECT_EQ(header.front(), '{');
  // Names sorted, so "double" precedes "weight" in the header.
  EXPECT_LT(header.find("\"double\""), header.find("\"weight\""));
  // Serialising again gives identical bytes (deterministic).
  EXPECT_EQ(bytes, serialize_safetensors(parse_safetensors(bytes, "memory")));
}

TEST(Safetensors, RoundTripThroughFile) {
  const std::string path = temp_path("round_trip.safetensors");
  const SafetensorsFile f = sample_file();
  write_safetensors(path, f);
  const SafetensorsFile g = read_safetensors(path);
  expect_same(f, g);
  EXPECT_EQ(g.source, path);
  // Overwriting replaces the content and leaves no temporary files behind.
  SafetensorsFile h;
  h.put("only", Tensor<float>({1}, {9.f}));
  write_safetensors(path, h);
  expect_same(h, read_safetensors(path));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(fs::path(path).parent_path())) {
    ++entries;
  }
  EXPECT_EQ(entries, 1);
  fs::remove(path);
}

TEST(Safetensors, EmptyFileHasNoTensors) {
  SafetensorsFile f;
  const auto bytes = serialize_safetensors(f);
  const SafetensorsFile g = parse_safetensors(bytes, "memory");
  EXPECT_TRUE(g.tensors.empty());
  EXPECT_TRUE(g.metadata.empty());
}

TEST(Safetensors, FloatConversions) {
  SafetensorsFile f;
  f.put("f64", Tensor<double>({2}, {0.1, -2.5}));
  f.put("f32", Tensor<float>({2}, {0.1f, -2.5f}));
  const SafetensorsFile g = parse_safetensors(serialize_safetensors(f), "memory");
  EXPECT_EQ(g.get<float>("f64")[0], 0.1f);
  EXPECT_EQ(g.get<double>("f32")[0], static_cast<double>(0.1f));
  EXPECT_EQ(g.get<double>("f32")[1], -2.5);
}

TEST(Safetensors, TypeMismatchAndMissingAreClearErrors) {
  SafetensorsFile f = parse_safetensors(serialize_safetensors(sample_file()), "memfile");
  try {
    f.get<float>("index");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'index'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("memfile"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("I64"), std::string::npos) << e.what();
  }
  EXPECT_THROW(f.get<int64_t>("weight"), Error);
  EXPECT_THROW(f.at("weight").to<int64_t>(), Error);
  EXPECT_THROW(f.at("i32").to<double>(), Error);
  try {
    f.at("nope");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "missing tensor 'nope' in memfile");
  }
}

TEST(Safetensors, SerializeRejectsInconsistentTensors) {
  SafetensorsFile f;
  StoredTensor t;
  t.dtype = DType::F32;
  t.shape = {3};
  t.bytes.resize(8);
  f.tensors["bad"] = t;
  EXPECT_THROW(serialize_safetensors(f), Error);
  SafetensorsFile g;
  g.put("__metadata__", Tensor<float>({1}, {1.f}));
  EXPECT_THROW(serialize_safetensors(g), Error);
  EXPECT_THROW(StoredTensor::from(Tensor<float>()), Error);
}

TEST(Safetensors, ReadMissingFileNamesPathAndErrno) {
  const std::string path = temp_path("does_not_exist.safetensors");
  try {
    read_safetensors(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_safetensors(fs::temp_directory_path().string()), Error);
}

TEST(Safetensors, FailedWriteLeavesPreviousFileIntact) {
  const std::string path = temp_path("intact.safetensors");
  SafetensorsFile f;
  f.put("w", Tensor<float>({2}, {1.f, 2.f}));
  write_safetensors(path, f);
  // A tensor that cannot be serialised fails before the file is touched.
  SafetensorsFile bad;
  StoredTensor t;
  t.shape = {5};
  bad.tensors["x"] = t;
  EXPECT_THROW(write_safetensors(path, bad), Error);
  expect_same(f, read_safetensors(path));
  // Renaming over a folder fails; the error names the path.
  const std::string dir_path = temp_path("a_folder");
  fs::create_directories(fs::path(dir_path) / "inside");
  try {
    write_safetensors(dir_path, f);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir_path), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_directory(dir_path));
  // Writing into a folder that does not exist.
  EXPECT_THROW(write_safetensors(temp_path("no/such/dir/file.safetensors"), f), Error);
  fs::remove_all(dir_path);
  fs::remove(path);
}

// tests/fixtures/io/python_written.safetensors comes from tools/fixtures/gen_io_fixtures.py
// (tools/safetensors_io.py); the expected values are those the script writes.
TEST(Safetensors, ReadsFileWrittenByPythonTool) {
  const std::string path = std::string(RNN_FIXTURE_DIR) + "/io/python_written.safetensors";
  const SafetensorsFile f = read_safetensors(path);
  EXPECT_EQ(f.metadata.at("producer"), "tools/fixtures/gen_io_fixtures.py");
  EXPECT_EQ(f.metadata.at("answer"), "42");
  ASSERT_EQ(f.tensors.size(), 5u);

  const Tensor<float> a = f.get<float>("a_f32");
  ASSERT_EQ(a.shape(), (Shape{2, 3}));
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(a[i], static_cast<float>(i) * 0.5f - 1.0f) << i;

  const Tensor<double> b = f.get<double>("b_f64");
  ASSERT_EQ(b.shape(), (Shape{4}));
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(b[i], 1.0 / static_cast<double>(i + 1)) << i;

  EXPECT_EQ(f.at("c_i32").dtype, DType::I32);
  EXPECT_EQ(f.get<int64_t>("c_i32").values(), (std::vector<int64_t>{-3, 0, 2147483647}));
  EXPECT_EQ(f.get<int64_t>("d_i64").values(),
            (std::vector<int64_t>{-9000000000000000000, 1, 2, 3}));
  EXPECT_EQ(f.get<int64_t>("d_i64").shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(f.get<float>("e_empty").shape(), (Shape{0, 3}));

  // And what C++ writes from it is byte-identical to the Python file's tensors.
  const SafetensorsFile again = parse_safetensors(serialize_safetensors(f), "again");
  expect_same(f, again);
}

}  // namespace
}  // namespace rnn
