#include "rnn/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "rnn/core/error.h"
#include "rnn/io/atomic_file.h"

namespace rnn {

namespace {

using json = nlohmann::json;

// Headers above this size are refused before anything is parsed.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;

bool dtype_from_string(const std::string& name, DType& out) {
  if (name == "F32") out = DType::F32;
  else if (name == "F64") out = DType::F64;
  else if (name == "I32") out = DType::I32;
  else if (name == "I64") out = DType::I64;
  else return false;
  return true;
}

std::string errno_text(int err) { return std::strerror(err); }

// numel * itemsize with overflow checks; false when the product exceeds `limit`.
bool checked_nbytes(const Shape& shape, size_t itemsize, uint64_t limit, uint64_t& out) {
  uint64_t n = itemsize;
  bool zero = false;
  for (int64_t extent : shape) {
    if (extent < 0) return false;
    if (extent == 0) zero = true;
  }
  if (zero) {
    out = 0;
    return true;
  }
  for (int64_t extent : shape) {
    const auto e = static_cast<uint64_t>(extent);
    if (n > limit / e) return false;
    n *= e;
  }
  out = n;
  return n <= limit;
}

void check_stored(const StoredTensor& t, const std::string& what) {
  uint64_t nbytes = 0;
  check(checked_nbytes(t.shape, dtype_size(t.dtype), std::numeric_limits<uint64_t>::max() / 2,
                       nbytes),
        what, ": shape ", shape_str(t.shape), " is invalid or too large");
  check(nbytes == t.bytes.size(), what, ": ", t.bytes.size(), " bytes do not match ",
        to_string(t.dtype), " shape ", shape_str(t.shape), " (", nbytes, " bytes)");
}

template <class To, class From>
Tensor<To> convert(const StoredTensor& t) {
  check_stored(t, "stored tensor");
  const size_t n = t.bytes.size() / sizeof(From);
  std::vector<To> values(n);
  if constexpr (std::is_same_v<To, From>) {
    if (n) std::memcpy(values.data(), t.bytes.data(), t.bytes.size());
  } else {
    for (size_t i = 0; i < n; ++i) {
      From v;
      std::memcpy(&v, t.bytes.data() + i * sizeof(From), sizeof(From));
      values[i] = static_cast<To>(v);
    }
  }
  return Tensor<To>(t.shape, std::move(values));
}

template <class T>
StoredTensor from_tensor(const Tensor<T>& t, DType dtype) {
  check(!t.empty(), "StoredTensor::from: cannot store an empty (default-constructed) tensor");
  StoredTensor s;
  s.dtype = dtype;
  s.shape = t.shape();
  s.bytes.resize(static_cast<size_t>(t.numel()) * sizeof(T));
  if (!s.bytes.empty()) std::memcpy(s.bytes.data(), t.data(), s.bytes.size());
  return s;
}

// A non-negative JSON integer that fits int64, or false.
bool json_index(const json& v, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
  } else if (v.is_number_integer()) {
    const auto s = v.get<int64_t>();
    if (s < 0) return false;
    out = static_cast<uint64_t>(s);
  } else {
    return false;
  }
  return out <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

}  // namespace

std::string to_string(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
  }
  fail("unknown dtype ", static_cast<int>(dtype));
}

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32:
    case DType::I32: return 4;
    case DType::F64:
    case DType::I64: return 8;
  }
  fail("unknown dtype ", static_cast<int>(dtype));
}

Tensor<float> StoredTensor::to_float() const {
  if (dtype == DType::F32) return convert<float, float>(*this);
  if (dtype == DType::F64) return convert<float, double>(*this);
  fail("cannot read integer tensor (", to_string(dtype), ") as float");
}

Tensor<double> StoredTensor::to_double() const {
  if (dtype == DType::F64) return convert<double, double>(*this);
  if (dtype == DType::F32) return convert<double, float>(*this);
  fail("cannot read integer tensor (", to_string(dtype), ") as double");
}

Tensor<int64_t> StoredTensor::to_int64() const {
  if (dtype == DType::I64) return convert<int64_t, int64_t>(*this);
  if (dtype == DType::I32) return convert<int64_t, int32_t>(*this);
  fail("cannot read floating-point tensor (", to_string(dtype), ") as int64");
}

StoredTensor StoredTensor::from(const Tensor<float>& t) { return from_tensor(t, DType::F32); }
StoredTensor StoredTensor::from(const Tensor<double>& t) { return from_tensor(t, DType::F64); }
StoredTensor StoredTensor::from(const Tensor<int64_t>& t) { return from_tensor(t, DType::I64); }

const StoredTensor& SafetensorsFile::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) fail("missing tensor '", name, "' in ", source);
  return it->second;
}

template <class T>
Tensor<T> SafetensorsFile::get(const std::string& name) const {
  const StoredTensor& t = at(name);
  try {
    return t.to<T>();
  } catch (const Error& e) {
    fail("tensor '", name, "' in ", source, ": ", e.what());
  }
}

template Tensor<float> SafetensorsFile::get<float>(const std::string&) const;
template Tensor<double> SafetensorsFile::get<double>(const std::string&) const;
template Tensor<int64_t> SafetensorsFile::get<int64_t>(const std::string&) const;

SafetensorsFile parse_safetensors(std::span<const unsigned char> bytes,
                                  const std::string& source_name) {
  const std::string& src = source_name;
  check(bytes.size() >= 8, src, ": not a safetensors file: ", bytes.size(),
        " bytes is too short for the 8-byte header length");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  const uint64_t rest = bytes.size() - 8;
  check(header_len <= kMaxHeaderBytes, src, ": safetensors header length ", header_len,
        " exceeds the limit of ", kMaxHeaderBytes, " bytes");
  check(header_len <= rest, src, ": safetensors header length ", header_len,
        " exceeds the file size (", bytes.size(), " bytes; file truncated?)");
  check(header_len >= 2, src, ": safetensors header length ", header_len, " is too short");

  const auto* header_begin = reinterpret_cast<const char*>(bytes.data() + 8);
  const unsigned char first = bytes[8];
  check(first == '{', src, ": safetensors header does not start with '{'");
  json header;
  try {
    header = json::parse(header_begin, header_begin + header_len);
  } catch (const json::exception& e) {
    fail(src, ": safetensors header is not valid JSON: ", e.what());
  }
  check(header.is_object(), src, ": safetensors header is not a JSON object");

  const uint64_t data_size = rest - header_len;
  const unsigned char* data = bytes.data() + 8 + header_len;

  SafetensorsFile file;
  file.source = src;

  struct Region {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Region> regions;
  regions.reserve(header.size());

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& entry = it.value();
    if (name == "__metadata__") {
      check(entry.is_object() || entry.is_null(), src,
            ": safetensors __metadata__ must be an object of strings");
      if (entry.is_null()) continue;
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        check(m.value().is_string(), src, ": safetensors __metadata__['", m.key(),
              "'] must be a string, got ", m.value().type_name());
        file.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = concat(src, ": tensor '", name, "'");
    check(!name.empty(), src, ": safetensors header has a tensor with an empty name");
    check(entry.is_object(), where, ": header entry must be an object, got ", entry.type_name());
    for (auto k = entry.begin(); k != entry.end(); ++k) {
      check(k.key() == "dtype" || k.key() == "shape" || k.key() == "data_offsets", where,
            ": unexpected key '", k.key(), "' in header entry");
    }
    check(entry.contains("dtype") && entry["dtype"].is_string(), where,
          ": missing or non-string 'dtype'");
    const std::string dtype_name = entry["dtype"].get<std::string>();
    StoredTensor t;
    check(dtype_from_string(dtype_name, t.dtype), where, ": unsupported dtype '", dtype_name,
          "' (supported: F32, F64, I32, I64)");

    check(entry.contains("shape") && entry["shape"].is_array(), where,
          ": 'shape' must be a list of non-negative integers");
    const json& shape = entry["shape"];
    check(shape.size() <= 64, where, ": shape has ", shape.size(), " dimensions (limit 64)");
    for (const json& d : shape) {
      uint64_t extent = 0;
      check(json_index(d, extent), where,
            ": 'shape' must be a list of non-negative integers, found ", d.type_name(),
            d.is_number() ? concat(" ", d.dump()) : std::string());
      t.shape.push_back(static_cast<int64_t>(extent));
    }

    check(entry.contains("data_offsets") && entry["data_offsets"].is_array() &&
              entry["data_offsets"].size() == 2,
          where, ": 'data_offsets' must be a list [begin, end]");
    uint64_t begin = 0, end = 0;
    check(json_index(entry["data_offsets"][0], begin) && json_index(entry["data_offsets"][1], end),
          where, ": 'data_offsets' must be two non-negative integers");
    check(begin <= end, where, ": data_offsets [", begin, ", ", end, "] are reversed");
    check(end <= data_size, where, ": data_offsets [", begin, ", ", end,
          "] run past the data region of ", data_size, " bytes (file truncated?)");

    uint64_t nbytes = 0;
    check(checked_nbytes(t.shape, dtype_size(t.dtype), std::numeric_limits<int64_t>::max(), nbytes),
          where, ": shape ", shape_str(t.shape), " of ", dtype_name,
          " is absurdly large (its byte size overflows)");
    check(nbytes == end - begin, where, ": shape ", shape_str(t.shape), " of ", dtype_name,
          " needs ", nbytes, " bytes but data_offsets [", begin, ", ", end, "] hold ", end - begin);
    regions.push_back({begin, end, name});
    file.tensors.emplace(name, std::move(t));
  }

  // The regions must tile the data region exactly: no overlap, no gap, nothing left over.
  std::sort(regions.begin(), regions.end(), [](const Region& a, const Region& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  for (const Region& r : regions) {
    check(r.begin >= cursor, src, ": tensor '", r.name, "': data_offsets [", r.begin, ", ", r.end,
          "] overlap another tensor");
    check(r.begin == cursor, src, ": tensor '", r.name, "': data_offsets [", r.begin, ", ", r.end,
          "] leave a gap after byte ", cursor, " of the data region");
    cursor = r.end;
  }
  check(cursor == data_size, src, ": ", data_size - cursor,
        " bytes after the last tensor are not described by the header");

  // Only now, with every size checked against the real data, copy the bytes.
  for (const Region& r : regions) {
    StoredTensor& t = file.tensors.at(r.name);
    t.bytes.assign(data + r.begin, data + r.end);
  }
  return file;
}

SafetensorsFile read_safetensors(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open '", path, "': ", errno_text(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("cannot stat '", path, "': ", errno_text(errno));
  check(S_ISREG(st.st_mode), "cannot read '", path, "': not a regular file");
  const auto size = static_cast<uint64_t>(st.st_size);
  std::vector<unsigned char> bytes(static_cast<size_t>(size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot read '", path, "': ", errno_text(errno));
    }
    if (n == 0) fail("cannot read '", path, "': file shrank while being read");
    done += static_cast<size_t>(n);
  }
  return parse_safetensors(bytes, path);
}

std::vector<unsigned char> serialize_safetensors(const SafetensorsFile& file) {
  const std::string what = file.source.empty() ? std::string("safetensors") : file.source;
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    check(!name.empty(), what, ": cannot save a tensor with an empty name");
    check(name != "__metadata__", what, ": '__metadata__' is reserved and cannot name a tensor");
    check_stored(t, concat(what, ": tensor '", name, "'"));
    json shape = json::array();
    for (int64_t d : t.shape) shape.push_back(d);
    header[name] = json{{"dtype", to_string(t.dtype)},
                        {"shape", std::move(shape)},
                        {"data_offsets", json::array({offset, offset + t.bytes.size()})}};
    offset += t.bytes.size();
  }
  if (!file.metadata.empty()) {
    json md = json::object();
    for (const auto& [k, v] : file.metadata) md[k] = v;
    header["__metadata__"] = std::move(md);
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    fail(what, ": cannot encode safetensors header (names and metadata must be UTF-8): ",
         e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t n = text.size();
  std::vector<unsigned char> out(static_cast<size_t>(8 + n + offset));
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  size_t pos = static_cast<size_t>(8 + n);
  for (const auto& [name, t] : file.tensors) {
    if (!t.bytes.empty()) std::memcpy(out.data() + pos, t.bytes.data(), t.bytes.size());
    pos += t.bytes.size();
  }
  return out;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  check(!path.empty(), "write_safetensors: empty path");
  write_file_atomic(path, serialize_safetensors(file));
}

}  // namespace rnn
