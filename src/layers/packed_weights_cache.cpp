#include "packed_weights_cache.h"

#include <array>
#include <cstring>
#include <vector>

namespace rnn::detail {

namespace fast = kernels::fast;

namespace {

// The source arrays of a packing, in a fixed order, with their lengths (null ones skipped).
struct Sources {
  std::array<const float*, 4> data{};
  std::array<size_t, 4> size{};
  size_t total = 0;
};
Sources sources_of(const GatePacking& w) {
  const size_t rows = static_cast<size_t>(fast::gate_count(w.cell) * w.hidden);
  const std::array<const float*, 4> ptr{w.w_x, w.b_x, w.w_h, w.b_h};
  const std::array<size_t, 4> len{rows * static_cast<size_t>(w.kx), rows,
                                  rows * static_cast<size_t>(w.kh), rows};
  Sources s;
  for (size_t i = 0; i < 4; ++i) {
    s.data[i] = len[i] > 0 ? ptr[i] : nullptr;
    s.size[i] = s.data[i] != nullptr ? len[i] : 0;
    s.total += s.size[i];
  }
  return s;
}

bool same_shape(const GatePacking& a, const GatePacking& b) {
  return a.panels == b.panels && a.input_apart == b.input_apart && a.wide == b.wide &&
         a.cell == b.cell && a.hidden == b.hidden && a.kx == b.kx && a.kh == b.kh &&
         a.w_x == b.w_x && a.b_x == b.b_x && a.w_h == b.w_h && a.b_h == b.b_h;
}

struct Entry {
  GatePacking what;
  std::vector<float> copy;  // the sources, concatenated, as they were when packed
  fast::PackedGates packed;
  uint64_t last_use = 0;
  bool used = false;
};

// Eight entries cover a 4-layer bidirectional stack without evictions.
constexpr size_t kEntries = 8;

struct Cache {
  std::array<Entry, kEntries> entries;
  uint64_t clock = 0;
};

bool unchanged(const Entry& e, const Sources& s) {
  if (e.copy.size() != s.total) return false;
  const float* c = e.copy.data();
  for (size_t i = 0; i < 4; ++i) {
    if (s.size[i] == 0) continue;
    if (std::memcmp(c, s.data[i], s.size[i] * sizeof(float)) != 0) return false;
    c += s.size[i];
  }
  return true;
}

void pack(fast::PackedGates& packed, const GatePacking& what) {
  // With the input apart the gate panels or blocks hold W_h only, and W_x is packed on its own.
  const int64_t kx = what.input_apart ? 0 : what.kx;
  const float* w_x = what.input_apart ? nullptr : what.w_x;
  if (what.panels) {
    fast::pack_gate_panels(packed, what.cell, what.hidden, kx, w_x, what.b_x, what.kh, what.w_h,
                           what.b_h);
  } else {
    fast::pack_gates(packed, what.cell, what.hidden, kx, w_x, what.b_x, what.kh, what.w_h, what.b_h,
                     what.wide);
  }
  packed.input.blocks = 0;
  if (what.input_apart) {
    fast::pack_matrix_transposed(packed.input, what.kx, fast::gate_count(what.cell) * what.hidden,
                                 what.w_x, 16);
  }
}

}  // namespace

const fast::PackedGates& packed_gates(const GatePacking& what, bool reuse) {
  if (!reuse) {
    static thread_local fast::PackedGates once;  // grow-only: no page faults per call
    pack(once, what);
    return once;
  }
  static thread_local Cache cache;
  const Sources src = sources_of(what);
  Entry* slot = nullptr;
  for (Entry& e : cache.entries) {
    if (e.used && same_shape(e.what, what)) {
      slot = &e;
      break;
    }
  }
  if (slot != nullptr && unchanged(*slot, src)) {
    slot->last_use = ++cache.clock;
    return slot->packed;
  }
  if (slot == nullptr) {  // a free entry, else the least recently used
    slot = &cache.entries[0];
    for (Entry& e : cache.entries) {
      if (!e.used) {
        slot = &e;
        break;
      }
      if (e.last_use < slot->last_use) slot = &e;
    }
  }
  slot->used = false;  // until packed and copied (an exception leaves it unused)
  pack(slot->packed, what);
  slot->copy.resize(src.total);
  float* c = slot->copy.data();
  for (size_t i = 0; i < 4; ++i) {
    if (src.size[i] == 0) continue;
    std::memcpy(c, src.data[i], src.size[i] * sizeof(float));
    c += src.size[i];
  }
  slot->what = what;
  slot->used = true;
  slot->last_use = ++cache.clock;
  return slot->packed;
}

}  // namespace rnn::detail
