// `rnn demo charlm`: a small character-level LSTM language model, trained on a text file
// and sampled from. A demonstration of the library until `rnn lm train` exists: no run
// folder, no checkpoints, one fixed model shape.
//
// Model (letters: T = --seq-len, B = --batch, V = distinct code points, E = --embed,
// H = --hidden, L = --layers):
//   ids [T,B] -> Embedding [V,E] -> LSTM (L layers, H) -> Linear [V,H] -> logits [T,B,V]
//   loss = cross_entropy(logits, next ids), Adam, clip_grad_norm.
//
// Truncated BPTT over contiguous streams: the training text (the first 95%) is cut into B
// equal streams read side by side, T characters per window; h and c carry from one window
// to the next, but gradients stop at the window edge. At the end of the streams reading
// starts over from their beginning with zero state.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "rnn/core/error.h"
#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/layers/recurrent.h"
#include "rnn/nn/embedding.h"
#include "rnn/nn/linear.h"
#include "rnn/train/clipping.h"
#include "rnn/train/losses.h"
#include "rnn/train/optimizers.h"

namespace rnn::cli {
namespace {

struct CharLmOptions {
  std::string text_path;
  int64_t hidden = 256;
  int64_t layers = 2;
  int64_t embed = 64;
  int64_t seq_len = 64;
  int64_t batch = 32;
  int64_t steps = 1000;
  double lr = 2e-3;
  double clip = 5.0;
  uint64_t seed = 1;
  int64_t sample_len = 400;
  double temperature = 0.8;
  std::string prime;
  int64_t log_every = 0;  // 0: about 20 progress lines
  bool json = false;
};

// ---- UTF-8 ----------------------------------------------------------------------------

std::vector<char32_t> decode_utf8(const std::string& bytes, const std::string& path) {
  std::vector<char32_t> out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    int extra = 0;
    char32_t cp = 0;
    if (lead < 0x80) {
      cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1, cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2, cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3, cp = lead & 0x07;
    } else {
      fail(path, ": invalid UTF-8 at byte ", i);
    }
    check(i + static_cast<size_t>(extra) < bytes.size(), path, ": truncated UTF-8 at byte ", i);
    for (int k = 1; k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(bytes[i + static_cast<size_t>(k)]);
      check((c & 0xC0) == 0x80, path, ": invalid UTF-8 at byte ", i + static_cast<size_t>(k));
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr char32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    check(cp >= kMin[extra] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF), path,
          ": invalid UTF-8 (overlong, surrogate or out of range) at byte ", i);
    out.push_back(cp);
    i += static_cast<size_t>(extra) + 1;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
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

std::string read_file(const std::string& path) {
  std::error_code ec;
  check(std::filesystem::is_regular_file(path, ec), "--text '", path,
        "': no such file (or not a regular file)");
  std::ifstream in(path, std::ios::binary);
  check(static_cast<bool>(in), "--text '", path, "': cannot open for reading");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  check(!in.bad(), "--text '", path, "': read error");
  return bytes;
}

// ---- the model ------------------------------------------------------------------------

struct CharLm {
  Parameters<float> store;
  nn::Embedding<float> embed;
  Recurrent<float> lstm;
  nn::Linear<float> decoder;

  CharLm(int64_t vocab, const CharLmOptions& o, Rng& rng)
      : embed(vocab, o.embed, store, rng, "embed."),
        lstm(RecurrentConfig{.mode = CellMode::LSTM,
                             .input_size = o.embed,
                             .hidden_size = o.hidden,
                             .num_layers = o.layers},
             store, rng, "lstm."),
        decoder(o.hidden, vocab, store, rng, "decoder.") {}
};

struct WindowResult {
  double loss_sum = 0;  // summed over the T*B predictions
  int64_t count = 0;
};

// One window: ids [T,B] predict targets [T*B]. `state` carries h/c in and out. With
// `train`, gradients are accumulated into the store (nothing flows into the carried state).
WindowResult run_window(CharLm& m, const Tensor<int64_t>& ids, const Tensor<int64_t>& targets,
                        RecurrentState<float>& state, bool train) {
  const int64_t steps = ids.dim(0), batch = ids.dim(1);
  const int64_t vocab = m.embed.num_embeddings();
  RecurrentInput<float> input;
  input.x = m.embed.forward(ids);  // [T,B,E]
  input.h0 = state.h;
  input.c0 = state.c;
  RecurrentCachePtr<float> cache;
  RecurrentOutput<float> out =
      m.lstm.forward(input, train ? Mode::Train : Mode::Eval, nullptr, train ? &cache : nullptr);
  Tensor<float> logits = m.decoder.forward(out.y);  // [T,B,V]
  logits.reshape({steps * batch, vocab});
  CrossEntropyOptions<float> ce;
  ce.reduction = Reduction::Sum;
  LossUpstream<float> upstream;
  upstream.want_grad = train;
  // Gradient of the mean loss: scale the summed loss's gradient by 1 / (T*B).
  upstream.scale = 1.0f / static_cast<float>(steps * batch);
  LossResult<float> loss = cross_entropy(logits, targets, ce, upstream);
  if (train) {
    loss.grad.reshape({steps, batch, vocab});
    RecurrentGradOutput<float> grad;
    grad.dy = m.decoder.backward(out.y, loss.grad);  // [T,B,H]
    const RecurrentGradInput<float> dinput = m.lstm.backward(*cache, grad);
    m.embed.backward(ids, dinput.dx);  // dh0/dc0 dropped: truncation at the window edge
  }
  state.h = std::move(out.h_n);
  state.c = std::move(out.c_n);
  return {static_cast<double>(loss.loss), steps * batch};
}

// B contiguous streams of `tokens`, read T at a time (targets one position ahead).
class StreamBatcher {
 public:
  StreamBatcher(const std::vector<int64_t>& tokens, int64_t batch, int64_t steps)
      : tokens_(&tokens), batch_(batch), steps_(steps) {
    stream_len_ = static_cast<int64_t>(tokens.size()) / batch;
  }
  int64_t stream_len() const { return stream_len_; }
  // Windows per pass over the streams (each needs T + 1 characters).
  int64_t windows() const { return (stream_len_ - 1) / steps_; }

  // Fills window `w` (0 <= w < windows()).
  void window(int64_t w, Tensor<int64_t>& ids, Tensor<int64_t>& targets) const {
    ids = Tensor<int64_t>({steps_, batch_});
    targets = Tensor<int64_t>({steps_ * batch_});
    for (int64_t t = 0; t < steps_; ++t) {
      for (int64_t b = 0; b < batch_; ++b) {
        const size_t at = static_cast<size_t>(b * stream_len_ + w * steps_ + t);
        ids.at(t, b) = (*tokens_)[at];
        targets[t * batch_ + b] = (*tokens_)[at + 1];
      }
    }
  }

 private:
  const std::vector<int64_t>* tokens_;
  int64_t batch_, steps_, stream_len_ = 0;
};

// Mean cross-entropy (nats per character) over every prediction the streams allow.
double evaluate(CharLm& m, const std::vector<int64_t>& tokens, int64_t batch, int64_t steps) {
  StreamBatcher batcher(tokens, batch, steps);
  RecurrentState<float> state = m.lstm.initial_state(batch);
  WindowResult total;
  Tensor<int64_t> ids, targets;
  for (int64_t w = 0; w < batcher.windows(); ++w) {
    batcher.window(w, ids, targets);
    const WindowResult r = run_window(m, ids, targets, state, false);
    total.loss_sum += r.loss_sum;
    total.count += r.count;
  }
  return total.loss_sum / static_cast<double>(total.count);
}

std::string sample(CharLm& m, const std::vector<int64_t>& prime, int64_t length, double temperature,
                   const std::vector<char32_t>& vocab, Rng& rng) {
  const int64_t V = static_cast<int64_t>(vocab.size());
  RecurrentState<float> state = m.lstm.initial_state(1);
  std::string out;
  Tensor<float> logits;
  auto feed = [&](int64_t id) {
    const Tensor<float> x = m.embed.forward(Tensor<int64_t>({1}, std::vector<int64_t>{id}));
    logits = m.decoder.forward(m.lstm.step(x, state));  // [1,V]
  };
  for (int64_t id : prime) {
    append_utf8(out, vocab[static_cast<size_t>(id)]);
    feed(id);
  }
  std::vector<double> p(static_cast<size_t>(V));
  for (int64_t n = 0; n < length; ++n) {
    // p = softmax(logits / temperature)
    double top = -INFINITY;
    for (int64_t v = 0; v < V; ++v) top = std::max(top, static_cast<double>(logits[v]) / temperature);
    double sum = 0;
    for (int64_t v = 0; v < V; ++v)
      sum += p[static_cast<size_t>(v)] = std::exp(static_cast<double>(logits[v]) / temperature - top);
    double u = rng.uniform() * sum;
    int64_t pick = V - 1;
    for (int64_t v = 0; v < V; ++v) {
      u -= p[static_cast<size_t>(v)];
      if (u < 0) {
        pick = v;
        break;
      }
    }
    append_utf8(out, vocab[static_cast<size_t>(pick)]);
    feed(pick);
  }
  return out;
}

void validate(const CharLmOptions& o) {
  auto positive = [](int64_t v, const char* name) {
    if (v < 1) throw UsageError(concat("--", name, " must be at least 1, got ", v));
  };
  positive(o.hidden, "hidden");
  positive(o.layers, "layers");
  positive(o.embed, "embed");
  positive(o.seq_len, "seq-len");
  positive(o.batch, "batch");
  positive(o.steps, "steps");
  if (o.sample_len < 0) throw UsageError(concat("--sample-len must be >= 0, got ", o.sample_len));
  if (o.log_every < 0) throw UsageError(concat("--log-every must be >= 0, got ", o.log_every));
  if (!(o.lr > 0) || !std::isfinite(o.lr))
    throw UsageError(concat("--lr must be a positive number, got ", o.lr));
  if (!(o.clip > 0) || !std::isfinite(o.clip))
    throw UsageError(concat("--clip must be a positive number, got ", o.clip));
  if (!(o.temperature > 0) || !std::isfinite(o.temperature))
    throw UsageError(concat("--temperature must be a positive number, got ", o.temperature));
}

void run_charlm(const CharLmOptions& o) {
  validate(o);
  const std::vector<char32_t> text = decode_utf8(read_file(o.text_path), o.text_path);
  check(!text.empty(), "--text '", o.text_path, "': the file is empty");
  const std::vector<char32_t> prime_cps = decode_utf8(o.prime, "--prime");

  // Vocabulary: the distinct code points, in code point order.
  std::vector<char32_t> vocab(text.begin(), text.end());
  std::sort(vocab.begin(), vocab.end());
  vocab.erase(std::unique(vocab.begin(), vocab.end()), vocab.end());
  auto id_of = [&](char32_t cp) -> std::optional<int64_t> {
    auto it = std::lower_bound(vocab.begin(), vocab.end(), cp);
    if (it == vocab.end() || *it != cp) return std::nullopt;
    return it - vocab.begin();
  };
  const int64_t V = static_cast<int64_t>(vocab.size());
  std::vector<int64_t> prime;
  for (char32_t cp : prime_cps) {
    auto id = id_of(cp);
    if (!id) {
      std::string shown;
      append_utf8(shown, cp);
      throw UsageError(concat("--prime: character '", shown, "' (U+", std::hex, std::uppercase,
                              static_cast<uint32_t>(cp), ") does not occur in ", o.text_path));
    }
    prime.push_back(*id);
  }
  if (prime.empty()) prime.push_back(*id_of(text.front()));

  // Train on the first 95%, validate on the last 5%.
  std::vector<int64_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) ids[i] = *id_of(text[i]);
  const size_t val_size = ids.size() / 20;
  const std::vector<int64_t> train(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(val_size));
  const std::vector<int64_t> val(ids.end() - static_cast<std::ptrdiff_t>(val_size), ids.end());
  const StreamBatcher batcher(train, o.batch, o.seq_len);
  check(batcher.windows() >= 1, "--text '", o.text_path, "': ", train.size(),
        " training characters are too few for --batch ", o.batch, " streams of --seq-len ",
        o.seq_len, " + 1; use a longer text or smaller values");
  // Validation streams: as many as fit (at most --batch), each at least one window long.
  const int64_t val_batch =
      std::min<int64_t>(o.batch, static_cast<int64_t>(val.size()) / (o.seq_len + 1));
  check(val_batch >= 1, "--text '", o.text_path, "': the validation part (last 5%, ", val.size(),
        " characters) is shorter than --seq-len ", o.seq_len, " + 1; use a longer text");

  // Unigram baseline: validation cross-entropy of the training characters' frequencies
  // (add-one smoothed), the loss a model without context reaches.
  std::vector<double> counts(static_cast<size_t>(V), 1.0);
  for (int64_t id : train) counts[static_cast<size_t>(id)] += 1.0;
  const double total_count = static_cast<double>(train.size() + static_cast<size_t>(V));
  double unigram_val = 0;
  for (int64_t id : val) unigram_val -= std::log(counts[static_cast<size_t>(id)] / total_count);
  unigram_val /= static_cast<double>(val.size());

  Rng rng(o.seed);
  CharLm m(V, o, rng);
  Adam<float> adam(AdamOptions{.lr = o.lr});
  std::cerr << "charlm: " << text.size() << " characters (" << train.size() << " train, "
            << val.size() << " validation), vocabulary " << V << ", " << m.store.numel()
            << " parameters; " << o.batch << " streams of " << batcher.stream_len()
            << " characters, " << batcher.windows() << " windows of " << o.seq_len
            << " per pass\n";

  const int64_t log_every = o.log_every > 0 ? o.log_every : std::max<int64_t>(1, o.steps / 20);
  const int64_t tail_from = o.steps - std::max<int64_t>(1, o.steps / 10);
  RecurrentState<float> state = m.lstm.initial_state(o.batch);
  Tensor<int64_t> window_ids, window_targets;
  double tail_loss = 0, log_loss = 0;
  int64_t tail_count = 0, log_count = 0, window = 0;
  double train_seconds = 0;
  auto log_start = std::chrono::steady_clock::now();
  int64_t log_tokens = 0;
  for (int64_t step = 0; step < o.steps; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    if (window == batcher.windows()) {  // a new pass starts from zero state
      window = 0;
      state = m.lstm.initial_state(o.batch);
    }
    batcher.window(window++, window_ids, window_targets);
    m.store.zero_grad();
    const WindowResult r = run_window(m, window_ids, window_targets, state, true);
    clip_grad_norm<float>(m.store.grads(), o.clip);
    adam.step(m.store.values(), m.store.grads());
    train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const double loss = r.loss_sum / static_cast<double>(r.count);
    check(std::isfinite(loss), "charlm: the training loss became ", loss, " at step ", step + 1,
          "; try a smaller --lr");
    log_loss += loss;
    ++log_count;
    log_tokens += r.count;
    if (step >= tail_from) tail_loss += loss, ++tail_count;
    if ((step + 1) % log_every == 0 || step + 1 == o.steps) {
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - log_start).count();
      char line[160];
      std::snprintf(line, sizeof line, "step %lld/%lld  loss %.4f  %.0f tokens/s\n",
                    static_cast<long long>(step + 1), static_cast<long long>(o.steps),
                    log_loss / static_cast<double>(log_count),
                    static_cast<double>(log_tokens) / seconds);
      std::cerr << line << std::flush;
      log_loss = 0, log_count = 0, log_tokens = 0;
      log_start = now;
    }
  }
  const double train_loss = tail_loss / static_cast<double>(tail_count);
  const double tokens_per_s =
      static_cast<double>(o.steps * o.batch * o.seq_len) / train_seconds;
  const double val_loss = evaluate(m, val, val_batch, o.seq_len);
  {
    char line[200];
    std::snprintf(line, sizeof line,
                  "train loss %.4f (mean of the last %lld steps)  validation loss %.4f nats/char "
                  "(unigram baseline %.4f)  %.0f tokens/s\n",
                  train_loss, static_cast<long long>(tail_count), val_loss, unigram_val,
                  tokens_per_s);
    std::cerr << line;
  }

  Rng sample_rng(o.seed ^ 0x5A3D1E5ULL);
  const std::string text_out = sample(m, prime, o.sample_len, o.temperature, vocab, sample_rng);
  if (o.json) {
    nlohmann::json j;
    j["train_loss"] = train_loss;
    j["val_loss"] = val_loss;
    j["unigram_val_loss"] = unigram_val;
    j["tokens_per_s"] = tokens_per_s;
    j["steps"] = o.steps;
    j["vocab_size"] = V;
    j["parameters"] = m.store.numel();
    j["sample"] = text_out;
    std::cout << j.dump() << "\n";
  } else {
    std::cout << text_out << "\n";
  }
}

}  // namespace

void add_demo_command(CLI::App& app) {
  CLI::App* demo = app.add_subcommand("demo", "Small demonstrations of the library");
  demo->require_subcommand(1);
  auto options = std::make_shared<CharLmOptions>();
  CLI::App* charlm = demo->add_subcommand(
      "charlm",
      "Train a character-level LSTM language model on a UTF-8 text file (truncated BPTT, "
      "Adam), report the validation loss on its last 5%, and print a sample");
  charlm->add_option("--text", options->text_path, "UTF-8 text file to learn")->required();
  charlm->add_option("--hidden", options->hidden, "LSTM hidden size")->capture_default_str();
  charlm->add_option("--layers", options->layers, "LSTM layers")->capture_default_str();
  charlm->add_option("--embed", options->embed, "Character embedding size")->capture_default_str();
  charlm->add_option("--seq-len", options->seq_len, "Characters per BPTT window")
      ->capture_default_str();
  charlm->add_option("--batch", options->batch, "Parallel streams")->capture_default_str();
  charlm->add_option("--steps", options->steps, "Training updates")->capture_default_str();
  charlm->add_option("--lr", options->lr, "Adam learning rate")->capture_default_str();
  charlm->add_option("--clip", options->clip, "Gradient norm clipping threshold")
      ->capture_default_str();
  charlm->add_option("--seed", options->seed, "Random seed (initialisation and sampling)")
      ->capture_default_str();
  charlm->add_option("--sample-len", options->sample_len, "Characters to sample after training")
      ->capture_default_str();
  charlm->add_option("--temperature", options->temperature, "Sampling temperature")
      ->capture_default_str();
  charlm->add_option("--prime", options->prime,
                     "Text the sample starts from (default: the file's first character)");
  charlm->add_option("--log-every", options->log_every,
                     "Progress line every N steps (0: about 20 lines)")
      ->capture_default_str();
  charlm->add_flag("--json", options->json,
                   "Print one JSON object {train_loss, val_loss, unigram_val_loss, tokens_per_s, "
                   "steps, vocab_size, parameters, sample} on stdout");
  charlm->callback([options] { run_charlm(*options); });
}

static const CommandRegistrar registrar("demo", add_demo_command);

}  // namespace rnn::cli
