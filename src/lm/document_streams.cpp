#include "rnn/lm/document_streams.h"

#include <algorithm>

#include "rnn/core/error.h"
#include "rnn/lm/model.h"

namespace rnn::lm {

DocumentStreams::DocumentStreams(std::span<const DocumentPart> parts, int64_t batch,
                                 int64_t seq_len, int64_t segment)
    : parts_(parts), batch_(batch), seq_len_(seq_len), segment_(segment) {
  check(batch >= 1, "document streams: batch must be at least 1, got ", batch);
  check(seq_len >= 1, "document streams: window length must be at least 1, got ", seq_len);
  check(segment >= 0, "document streams: segment length must be >= 0 (0 = whole documents), got ",
        segment);
  int64_t total_windows = 0;
  for (size_t d = 0; d < parts.size(); ++d) {
    const int64_t n = static_cast<int64_t>(parts[d].ids.size()) - 1;  // predictions
    const int64_t piece = segment > 0 ? segment : std::max<int64_t>(n, 1);
    for (int64_t b = 0; b < n; b += piece) {
      const Segment s{static_cast<int64_t>(d), parts[d].category, b, std::min(n, b + piece)};
      segments_.push_back(s);
      total_windows += (s.end - s.begin + seq_len - 1) / seq_len;
      predictions_ += s.end - s.begin;
    }
  }
  check(predictions_ > 0, "document streams: the documents hold nothing to predict");

  // Contiguous runs of segments with nearly equal windows: stream b takes segments until
  // the windows dealt reach (b + 1) / B of the total.
  std::vector<std::vector<int64_t>> runs(static_cast<size_t>(batch));
  int64_t dealt = 0;
  size_t stream = 0;
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    runs[stream].push_back(static_cast<int64_t>(i));
    dealt += (s.end - s.begin + seq_len - 1) / seq_len;
    if (stream + 1 < runs.size() &&
        dealt * batch >= static_cast<int64_t>(stream + 1) * total_windows)
      ++stream;
  }
  int64_t windows = 0;
  std::vector<std::vector<Cell>> columns(static_cast<size_t>(batch));
  for (size_t b = 0; b < runs.size(); ++b) {
    for (int64_t i : runs[b]) {
      const Segment& s = segments_[static_cast<size_t>(i)];
      for (int64_t off = 0; off < s.end - s.begin; off += seq_len) columns[b].push_back({i, off});
    }
    windows = std::max<int64_t>(windows, static_cast<int64_t>(columns[b].size()));
  }
  cells_.assign(static_cast<size_t>(windows * batch), Cell{});
  steps_.assign(static_cast<size_t>(windows), 0);
  for (size_t b = 0; b < columns.size(); ++b) {
    for (size_t w = 0; w < columns[b].size(); ++w) {
      const Cell c = columns[b][w];
      cells_[w * static_cast<size_t>(batch) + b] = c;
      const Segment& s = segments_[static_cast<size_t>(c.segment)];
      steps_[w] = std::max(steps_[w], std::min(seq_len, s.end - s.begin - c.offset));
    }
  }
}

void DocumentStreams::window(int64_t w, DocumentWindow& out) const {
  check(w >= 0 && w < windows(), "document streams: window ", w, " out of range [0, ", windows(),
        ")");
  const int64_t steps = steps_[static_cast<size_t>(w)], B = batch_;
  out.ids = Tensor<int64_t>({steps, B});
  out.targets = Tensor<int64_t>({steps, B});
  out.starts.assign(static_cast<size_t>(B), kCarry);
  out.categories.assign(static_cast<size_t>(B), -1);
  out.documents.assign(static_cast<size_t>(B), -1);
  out.count = 0;
  for (int64_t i = 0; i < out.targets.numel(); ++i) out.targets[i] = kIgnoreTarget;
  for (int64_t b = 0; b < B; ++b) {
    const Cell c = cells_[static_cast<size_t>(w * B + b)];
    if (c.segment < 0) continue;
    const Segment& s = segments_[static_cast<size_t>(c.segment)];
    const std::vector<int64_t>& ids = parts_[static_cast<size_t>(s.document)].ids;
    const int64_t n = std::min(steps, s.end - s.begin - c.offset);
    for (int64_t t = 0; t < n; ++t) {
      const auto at = static_cast<size_t>(s.begin + c.offset + t);
      out.ids[t * B + b] = ids[at];
      out.targets[t * B + b] = ids[at + 1];
    }
    out.count += n;
    out.categories[static_cast<size_t>(b)] = s.category;
    out.documents[static_cast<size_t>(b)] = s.document;
    if (c.offset == 0) out.starts[static_cast<size_t>(b)] = s.category;
  }
}

}  // namespace rnn::lm
