// safetensors files: the weight format shared with PyTorch (DESIGN.md section 1).
//
// Layout: 8-byte little-endian u64 header length N, then N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value", ...}}
// (padded with spaces to a multiple of 8), then the raw little-endian tensor data;
// offsets are relative to the start of the data region, which they cover exactly.
//
// Reading is strict: every inconsistency (truncation, bad JSON, unknown dtype, shapes
// that overflow, offsets out of range, overlapping or leaving gaps) throws rnn::Error
// with one line naming the file and the tensor. Nothing is allocated from header
// values before they have been checked against the real file size.
#pragma once

#include <bit>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "rnn/core/tensor.h"

namespace rnn {

static_assert(std::endian::native == std::endian::little,
              "rnn.cpp's safetensors code assumes a little-endian host");

enum class DType { F32, F64, I32, I64 };

// "F32", "F64", "I32", "I64".
std::string to_string(DType dtype);
// Bytes per element: 4 or 8.
size_t dtype_size(DType dtype);

struct StoredTensor {
  DType dtype = DType::F32;
  Shape shape;
  std::vector<unsigned char> bytes;  // numel * dtype_size little-endian values

  // Converts to a Tensor: F32/F64 read as float or double (either way), I32/I64 as
  // int64_t. Floating data read as integers, or the reverse, throws rnn::Error.
  template <class T>
  Tensor<T> to() const {
    if constexpr (std::is_same_v<T, float>) {
      return to_float();
    } else if constexpr (std::is_same_v<T, double>) {
      return to_double();
    } else if constexpr (std::is_same_v<T, int64_t>) {
      return to_int64();
    } else {
      static_assert(sizeof(T) == 0, "StoredTensor::to<T>: T must be float, double or int64_t");
    }
  }

  static StoredTensor from(const Tensor<float>& t);    // stored F32
  static StoredTensor from(const Tensor<double>& t);   // stored F64
  static StoredTensor from(const Tensor<int64_t>& t);  // stored I64

  int64_t numel() const { return shape_numel(shape); }

 private:
  Tensor<float> to_float() const;
  Tensor<double> to_double() const;
  Tensor<int64_t> to_int64() const;
};

struct SafetensorsFile {
  std::map<std::string, StoredTensor> tensors;  // sorted by name
  std::map<std::string, std::string> metadata;  // "__metadata__"
  std::string source;                           // file name used in error messages

  bool has(const std::string& name) const { return tensors.count(name) != 0; }
  // Throws "missing tensor 'x' in FILE".
  const StoredTensor& at(const std::string& name) const;

  // at(name).to<T>(), with the tensor and file named in any error.
  template <class T>
  Tensor<T> get(const std::string& name) const;
  // Stores (or replaces) a tensor: float as F32, double as F64, int64_t as I64.
  template <class T>
  void put(const std::string& name, const Tensor<T>& t) {
    tensors[name] = StoredTensor::from(t);
  }
};

extern template Tensor<float> SafetensorsFile::get<float>(const std::string&) const;
extern template Tensor<double> SafetensorsFile::get<double>(const std::string&) const;
extern template Tensor<int64_t> SafetensorsFile::get<int64_t>(const std::string&) const;

// Parses a whole file held in memory; `source_name` appears in error messages.
SafetensorsFile parse_safetensors(std::span<const unsigned char> bytes,
                                  const std::string& source_name);
// Reads and parses `path`; errors name the path (and errno text for I/O failures).
SafetensorsFile read_safetensors(const std::string& path);

// Tensors sorted by name, contiguous offsets, header padded with spaces to 8 bytes.
std::vector<unsigned char> serialize_safetensors(const SafetensorsFile& file);
// Atomic: writes a temporary file in the same folder, fsyncs it, renames it over
// `path`. On any failure the previous file is left intact and rnn::Error names the
// path and the errno text.
void write_safetensors(const std::string& path, const SafetensorsFile& file);

}  // namespace rnn
