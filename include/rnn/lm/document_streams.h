// Batched streams over documents for conditional language models: every window knows
// each row's category, and a row whose piece of a document starts at this window starts
// from its category's state (a conditional model) or from zeros (an unconditional one).
//
// Letters: D documents, B streams (batch), T window length, N segment length.
//
// Each document part (ids, n tokens: n - 1 predictions) is cut into segments of at most
// N predictions (N = 0: the whole part): predictions [begin, end) read inputs ids[s] and
// predict ids[s + 1]. Segments, in document order, are dealt to the B streams as
// contiguous runs of nearly equal windows (as TokenStreams cuts one text into B pieces).
// A stream reads its segments one after the other, T steps per window; the state carries
// from window to window inside a segment and starts anew at every segment. A window has
// the length of its longest row (at most T); a row whose segment ends inside the window
// is padded (input 0, target kIgnoreTarget) and a stream with no segment left is idle.
// Every prediction of every part is made exactly once per pass.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "rnn/core/tensor.h"
#include "rnn/layers/recurrent.h"
#include "rnn/lm/documents.h"
#include "rnn/lm/model.h"

namespace rnn::lm {

struct Segment {
  int64_t document = 0;  // index into the parts
  int64_t category = 0;
  int64_t begin = 0;     // first prediction (input position)
  int64_t end = 0;       // one past the last prediction
};

struct DocumentWindow {
  Tensor<int64_t> ids;            // [Tw,B] inputs
  Tensor<int64_t> targets;        // [Tw,B] next tokens; kIgnoreTarget on padding
  std::vector<int64_t> starts;    // [B] the category of a row whose segment starts here, else kCarry
  std::vector<int64_t> categories;  // [B] the category of each row's segment, -1 when idle
  std::vector<int64_t> documents;   // [B] the document of each row's segment, -1 when idle
  int64_t count = 0;              // scored targets
};

class DocumentStreams {
 public:
  // `parts` must outlive the streams. Throws when there is nothing to predict or an
  // option is out of range.
  DocumentStreams(std::span<const DocumentPart> parts, int64_t batch, int64_t seq_len,
                  int64_t segment);

  int64_t batch() const { return batch_; }
  int64_t seq_len() const { return seq_len_; }
  int64_t segment_length() const { return segment_; }  // N (0 = whole parts)
  int64_t windows() const { return static_cast<int64_t>(steps_.size()); }  // per pass
  int64_t predictions() const { return predictions_; }  // per pass
  const std::vector<Segment>& segments() const { return segments_; }

  void window(int64_t w, DocumentWindow& out) const;

 private:
  struct Cell {
    int64_t segment = -1;  // -1: idle
    int64_t offset = 0;    // predictions of the segment read before this window
  };
  std::span<const DocumentPart> parts_;
  int64_t batch_, seq_len_, segment_;
  int64_t predictions_ = 0;
  std::vector<Segment> segments_;
  std::vector<Cell> cells_;     // [windows, B]
  std::vector<int64_t> steps_;  // Tw per window
};

// Zeroes the rows b of a carried state [L,B,...] whose starts[b] != kCarry (an
// unconditional model starting a segment). An empty state stays empty.
template <class T>
void reset_rows(RecurrentState<T>& state, std::span<const int64_t> starts) {
  for (Tensor<T>* s : {&state.h, &state.c}) {
    if (s->empty()) continue;
    const int64_t layers = s->dim(0), B = s->dim(1), F = s->dim(2);
    for (int64_t b = 0; b < B; ++b) {
      if (starts[static_cast<size_t>(b)] == kCarry) continue;
      for (int64_t l = 0; l < layers; ++l) std::fill_n(s->data() + (l * B + b) * F, F, T(0));
    }
  }
}

}  // namespace rnn::lm
