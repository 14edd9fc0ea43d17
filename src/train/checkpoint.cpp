#include "rnn/train/checkpoint.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "rnn/core/error.h"
#include "rnn/io/safetensors.h"

namespace rnn {

namespace {

constexpr int kFormat = 1;
const char* const kParamPrefix = "param.";
const char* const kTaskPrefix = "task.";

// FNV-1a, 64 bit: a cheap checksum that catches torn or flipped bytes.
struct Fnv1a {
  uint64_t hash = 0xcbf29ce484222325ULL;
  void add(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      hash ^= p[i];
      hash *= 0x100000001b3ULL;
    }
  }
};

std::string checksum(const std::map<std::string, Tensor<float>>& tensors, const std::string& meta) {
  Fnv1a f;
  for (const auto& [name, t] : tensors) {
    f.add(name.data(), name.size() + 1);  // with the terminating NUL as a separator
    for (int64_t extent : t.shape()) f.add(&extent, sizeof extent);
    f.add(t.data(), static_cast<size_t>(t.numel()) * sizeof(float));
  }
  f.add(meta.data(), meta.size());
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(f.hash));
  return hex;
}

std::string u64_hex(uint64_t v) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(v));
  return hex;
}

uint64_t hex_u64(const nlohmann::json& j, const std::string& what) {
  // Checked digit by digit: std::stoull would throw its own exception type, or stop early.
  check(j.is_string() && j.get<std::string>().size() == 16 &&
            std::all_of(j.get_ref<const std::string&>().begin(),
                        j.get_ref<const std::string&>().end(),
                        [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }),
        "checkpoint: ", what, " must be a 16-digit hex string");
  return std::stoull(j.get<std::string>(), nullptr, 16);
}

}  // namespace

void Checkpoint::put_parameters(const Parameters<float>& store) {
  for (const ParamInfo& info : store.infos()) {
    const float* p = store.values().data() + info.offset;
    tensors[kParamPrefix + info.name] =
        Tensor<float>(info.shape, std::vector<float>(p, p + info.numel));
  }
}

void Checkpoint::get_parameters(Parameters<float>& store) const {
  size_t found = 0;
  for (const auto& [name, t] : tensors) {
    if (name.rfind(kParamPrefix, 0) != 0) continue;
    const std::string pname = name.substr(std::strlen(kParamPrefix));
    check(store.find(pname).has_value(), "checkpoint holds parameter '", pname,
          "' that this model does not have (a checkpoint of another model?)");
    ++found;
  }
  for (const ParamInfo& info : store.infos()) {
    auto it = tensors.find(kParamPrefix + info.name);
    check(it != tensors.end(), "checkpoint lacks parameter '", info.name,
          "' (a checkpoint of another model?)");
    check(it->second.shape() == info.shape, "checkpoint parameter '", info.name, "' has shape ",
          shape_str(it->second.shape()), ", the model expects ", shape_str(info.shape));
  }
  check(found == store.size(), "checkpoint parameter count differs from the model's");
  for (const ParamInfo& info : store.infos()) {
    const Tensor<float>& t = tensors.at(kParamPrefix + info.name);
    std::copy(t.data(), t.data() + t.numel(), store.values().data() + info.offset);
  }
}

void Checkpoint::put_rng(const std::string& key, const Rng& rng) {
  const Rng::Snapshot s = rng.snapshot();
  nlohmann::json state = nlohmann::json::array();
  for (uint64_t word : s.state) state.push_back(u64_hex(word));
  uint64_t spare_bits = 0;
  std::memcpy(&spare_bits, &s.spare_normal, sizeof spare_bits);
  meta["rng"][key] = {{"state", state},
                      {"has_spare_normal", s.has_spare_normal},
                      {"spare_normal", u64_hex(spare_bits)}};
}

void Checkpoint::get_rng(const std::string& key, Rng& rng) const {
  check(meta.contains("rng") && meta["rng"].contains(key), "checkpoint lacks random state '", key,
        "'");
  const auto& j = meta["rng"][key];
  check(j.contains("state") && j["state"].is_array() && j["state"].size() == 4,
        "checkpoint: random state '", key, "' is malformed");
  Rng::Snapshot s;
  for (size_t i = 0; i < 4; ++i) s.state[i] = hex_u64(j["state"][i], "random state");
  check(j.contains("has_spare_normal") && j["has_spare_normal"].is_boolean(),
        "checkpoint: random state '", key, "' is malformed");
  s.has_spare_normal = j["has_spare_normal"].get<bool>();
  const uint64_t spare_bits = hex_u64(j.value("spare_normal", nlohmann::json()), "spare normal");
  std::memcpy(&s.spare_normal, &spare_bits, sizeof spare_bits);
  rng.restore(s);
}

void Checkpoint::put_task_tensor(const std::string& name, Tensor<float> t) {
  tensors[kTaskPrefix + name] = std::move(t);
}

const Tensor<float>& Checkpoint::task_tensor(const std::string& name) const {
  auto it = tensors.find(kTaskPrefix + name);
  check(it != tensors.end(), "checkpoint lacks task tensor '", name, "'");
  return it->second;
}

bool Checkpoint::has_task_tensor(const std::string& name) const {
  return tensors.count(kTaskPrefix + name) != 0;
}

void Checkpoint::save(const std::string& path) const {
  for (const auto& [name, t] : tensors) {
    if (name.rfind(kParamPrefix, 0) != 0) continue;
    for (int64_t i = 0; i < t.numel(); ++i) {
      check(std::isfinite(t[i]), "refusing to write checkpoint '", path, "': parameter '",
            name.substr(std::strlen(kParamPrefix)), "' holds a non-finite value at index ", i);
    }
  }
  nlohmann::json full = meta;
  full["format"] = kFormat;
  const std::string meta_text = full.dump();
  SafetensorsFile file;
  for (const auto& [name, t] : tensors) file.put(name, t);
  file.metadata["rnn_checkpoint"] = meta_text;
  file.metadata["checksum"] = checksum(tensors, meta_text);
  write_safetensors(path, file);
}

Checkpoint Checkpoint::load(const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);
  auto meta_it = file.metadata.find("rnn_checkpoint");
  check(meta_it != file.metadata.end(), "'", path, "' is not an rnn.cpp checkpoint (no rnn_checkpoint metadata)");
  auto sum_it = file.metadata.find("checksum");
  check(sum_it != file.metadata.end(), "checkpoint '", path, "' has no checksum");
  Checkpoint c;
  for (const auto& [name, stored] : file.tensors) {
    check(stored.dtype == DType::F32, "checkpoint '", path, "': tensor '", name, "' is ",
          to_string(stored.dtype), ", expected F32");
    c.tensors[name] = stored.to<float>();
  }
  check(checksum(c.tensors, meta_it->second) == sum_it->second, "checkpoint '", path,
        "' is corrupted (checksum mismatch)");
  try {
    c.meta = nlohmann::json::parse(meta_it->second);
  } catch (const nlohmann::json::exception& e) {
    fail("checkpoint '", path, "': metadata is not valid JSON: ", e.what());
  }
  // Compared as JSON: value("format", 0) would throw nlohmann's error for a non-number.
  check(c.meta.is_object() && c.meta.contains("format") && c.meta["format"] == kFormat,
        "checkpoint '", path, "' has an unsupported format version");
  return c;
}

}  // namespace rnn
