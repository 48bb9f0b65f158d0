#include <fmt/format.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <numbers>
#include <optional>

#include "earshot/audio/audio.hpp"

namespace earshot::audio {

std::string_view format_name(AudioFormat f) {
  switch (f) {
    case AudioFormat::kWav:
      return "wav";
    case AudioFormat::kFlac:
      return "flac";
    case AudioFormat::kOgg:
      return "ogg";
    case AudioFormat::kMp3:
      return "mp3";
    case AudioFormat::kAiff:
      return "aiff";
    case AudioFormat::kUnknown:
      break;
  }
  return "unknown";
}

namespace {

bool starts_with(std::span<const std::uint8_t> b, std::string_view magic, std::size_t at = 0) {
  if (b.size() < at + magic.size()) return false;
  return std::memcmp(b.data() + at, magic.data(), magic.size()) == 0;
}

// An MPEG audio frame header: 11 sync bits, a valid version, layer III/II/I, a valid
// bitrate index and sample-rate index.
bool mpeg_frame_at(std::span<const std::uint8_t> b, std::size_t i) {
  if (b.size() < i + 4) return false;
  if (b[i] != 0xFF || (b[i + 1] & 0xE0) != 0xE0) return false;
  const int version = (b[i + 1] >> 3) & 0x3;
  const int layer = (b[i + 1] >> 1) & 0x3;
  const int bitrate = (b[i + 2] >> 4) & 0xF;
  const int rate = (b[i + 2] >> 2) & 0x3;
  return version != 1 && layer != 0 && bitrate != 0xF && bitrate != 0 && rate != 3;
}

}  // namespace

AudioFormat detect_format(std::span<const std::uint8_t> b) {
  if ((starts_with(b, "RIFF") || starts_with(b, "RIFX") || starts_with(b, "RF64")) && starts_with(b, "WAVE", 8)) {
    return AudioFormat::kWav;
  }
  if (starts_with(b, "fLaC")) return AudioFormat::kFlac;
  if (starts_with(b, "OggS")) return AudioFormat::kOgg;
  if (starts_with(b, "FORM") && (starts_with(b, "AIFF", 8) || starts_with(b, "AIFC", 8))) {
    return AudioFormat::kAiff;
  }
  if (starts_with(b, "ID3")) return AudioFormat::kMp3;
  // A bare MPEG stream: accept a frame header at the start (some encoders leave a few
  // zero bytes first), confirmed by the bytes looking like nothing else.
  for (std::size_t i = 0; i < std::min<std::size_t>(b.size(), 64); ++i) {
    if (mpeg_frame_at(b, i)) return AudioFormat::kMp3;
    if (b[i] != 0) break;
  }
  return AudioFormat::kUnknown;
}

namespace {

struct MemoryFile {
  std::span<const std::uint8_t> data;
  sf_count_t pos = 0;
};

sf_count_t vio_len(void* user) {
  return static_cast<sf_count_t>(static_cast<MemoryFile*>(user)->data.size());
}
sf_count_t vio_seek(sf_count_t offset, int whence, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  const auto size = static_cast<sf_count_t>(f->data.size());
  sf_count_t next = whence == SEEK_SET ? offset : whence == SEEK_CUR ? f->pos + offset : size + offset;
  f->pos = std::clamp<sf_count_t>(next, 0, size);
  return f->pos;
}
sf_count_t vio_read(void* ptr, sf_count_t count, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  const auto size = static_cast<sf_count_t>(f->data.size());
  const sf_count_t n = std::max<sf_count_t>(0, std::min(count, size - f->pos));
  if (n > 0) std::memcpy(ptr, f->data.data() + f->pos, static_cast<std::size_t>(n));
  f->pos += n;
  return n;
}
sf_count_t vio_write(const void*, sf_count_t, void*) {
  return 0;
}
sf_count_t vio_tell(void* user) {
  return static_cast<MemoryFile*>(user)->pos;
}

std::string codec_name(int format) {
  switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
      return "pcm_s8";
    case SF_FORMAT_PCM_U8:
      return "pcm_u8";
    case SF_FORMAT_PCM_16:
      return "pcm_16";
    case SF_FORMAT_PCM_24:
      return "pcm_24";
    case SF_FORMAT_PCM_32:
      return "pcm_32";
    case SF_FORMAT_FLOAT:
      return "float";
    case SF_FORMAT_DOUBLE:
      return "double";
    case SF_FORMAT_ULAW:
      return "ulaw";
    case SF_FORMAT_ALAW:
      return "alaw";
    case SF_FORMAT_VORBIS:
      return "vorbis";
    case SF_FORMAT_OPUS:
      return "opus";
    case SF_FORMAT_MPEG_LAYER_I:
      return "mp1";
    case SF_FORMAT_MPEG_LAYER_II:
      return "mp2";
    case SF_FORMAT_MPEG_LAYER_III:
      return "mp3";
    case SF_FORMAT_GSM610:
      return "gsm610";
    case SF_FORMAT_IMA_ADPCM:
      return "ima_adpcm";
    case SF_FORMAT_MS_ADPCM:
      return "ms_adpcm";
    default:
      return fmt::format("0x{:04x}", format & SF_FORMAT_SUBMASK);
  }
}

// Expected payload bytes for uncompressed WAV data, to recognise truncation that libsndfile
// quietly tolerates (it shortens the frame count to what is there).
std::optional<std::uint64_t> wav_declared_data_bytes(std::span<const std::uint8_t> b) {
  if (!starts_with(b, "RIFF")) return std::nullopt;
  std::size_t i = 12;
  while (i + 8 <= b.size()) {
    std::uint32_t len = 0;
    std::memcpy(&len, b.data() + i + 4, 4);  // little endian on every supported host
    if (starts_with(b, "data", i)) return len;
    i += 8 + len + (len & 1);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> wav_data_offset(std::span<const std::uint8_t> b) {
  std::size_t i = 12;
  while (i + 8 <= b.size()) {
    std::uint32_t len = 0;
    std::memcpy(&len, b.data() + i + 4, 4);
    if (starts_with(b, "data", i)) return i + 8;
    i += 8 + len + (len & 1);
  }
  return std::nullopt;
}

}  // namespace

namespace {

// Where decoded frames go. `begin` learns the layout and a bound on the frames the bytes
// present can hold (0 when the codec compresses: nothing is reserved from a header's claim);
// each block then arrives interleaved, either as floats clamped to [-1, 1] or, for 16-bit
// PCM, as the stored integers (sample s stands for s / 32768, as libsndfile's float reading
// scales it). An error from a block stops the decode. A null sink only checks.
struct BlockSink {
  std::function<void(int channels, std::uint64_t frames_bound)> begin;
  std::function<Status(std::span<const float> interleaved, int channels)> floats;
  std::function<Status(std::span<const std::int16_t> interleaved, int channels)> shorts;
  [[nodiscard]] bool active() const { return static_cast<bool>(floats); }
};

// Bytes per sample of the uncompressed codecs (0 for the compressed ones).
std::uint64_t pcm_bytes_per_sample(int format) {
  switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
    case SF_FORMAT_ULAW:
    case SF_FORMAT_ALAW:
      return 1;
    case SF_FORMAT_PCM_16:
      return 2;
    case SF_FORMAT_PCM_24:
      return 3;
    case SF_FORMAT_PCM_32:
    case SF_FORMAT_FLOAT:
      return 4;
    case SF_FORMAT_DOUBLE:
      return 8;
    default:
      return 0;
  }
}

// The one decode loop: checks, then libsndfile block by block into `sink`, stopping as soon
// as the duration limit is passed. `held_outside` tells how many samples the sink holds
// (for the accounting in `stats`).
Result<AudioInfo> decode_blocks(std::span<const std::uint8_t> bytes, const DecodeLimits& limits, const BlockSink& sink,
                                const std::function<std::uint64_t()>& held_outside, DecodeStats* stats) {
  if (bytes.empty()) return make_error(ErrorCode::kInvalidArgument, "audio is empty (0 bytes)");
  if (bytes.size() > limits.max_bytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("audio is {} bytes, above the limit of {} bytes", bytes.size(), limits.max_bytes));
  }
  const AudioFormat format = detect_format(bytes);
  if (format == AudioFormat::kUnknown) {
    std::string head;
    for (std::size_t i = 0; i < std::min<std::size_t>(bytes.size(), 8); ++i) {
      head += fmt::format("{:02x}", bytes[i]);
    }
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("not a recognised audio file (first bytes {}); accepted: WAV, "
                                  "FLAC, OGG/Vorbis, MP3",
                                  head));
  }

  MemoryFile mem{bytes, 0};
  SF_VIRTUAL_IO vio{vio_len, vio_seek, vio_read, vio_write, vio_tell};
  SF_INFO info{};
  SNDFILE* sf = sf_open_virtual(&vio, SFM_READ, &info, &mem);
  if (sf == nullptr) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("{} audio cannot be decoded: {}", format_name(format), sf_strerror(nullptr)));
  }
  struct Closer {
    SNDFILE* f;
    ~Closer() { sf_close(f); }
  } closer{sf};

  if (info.channels <= 0 || info.channels > 8 || info.samplerate < 1000 || info.samplerate > 384000) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("{} audio has an implausible layout ({} channels at {} Hz)", format_name(format),
                                  info.channels, info.samplerate));
  }
  const auto max_frames = static_cast<sf_count_t>(limits.max_duration.count()) * info.samplerate / 1000;
  if (info.frames > max_frames && info.frames != SF_COUNT_MAX) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("audio lasts {} s, above the limit of {} s", info.frames / info.samplerate,
                                  limits.max_duration.count() / 1000));
  }

  AudioInfo out;
  out.sample_rate = info.samplerate;
  out.channels = info.channels;
  out.format = format;
  out.codec = codec_name(info.format);
  const bool pcm16 = (info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16 && sink.active() && sink.shorts;
  if (sink.active() && sink.begin) {
    // The frames the bytes present can hold, for uncompressed codecs: never more than the
    // file's size allows, whatever its header says.
    const std::uint64_t bps = pcm_bytes_per_sample(info.format);
    std::uint64_t bound = 0;
    if (bps > 0) {
      bound = bytes.size() / (bps * static_cast<std::uint64_t>(info.channels));
      if (info.frames > 0 && info.frames != SF_COUNT_MAX)
        bound = std::min(bound, static_cast<std::uint64_t>(info.frames));
      bound = std::min(bound, static_cast<std::uint64_t>(std::max<sf_count_t>(0, max_frames)));
    }
    sink.begin(info.channels, bound);
  }
  // Integer PCM read as floats is scaled into [-1, 1).
  sf_command(sf, SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);
  const auto block_samples = static_cast<std::uint64_t>(kDecodeBlockFrames) * static_cast<std::uint64_t>(info.channels);
  std::vector<float> buf(pcm16 ? 0 : static_cast<std::size_t>(block_samples));
  std::vector<std::int16_t> sbuf(pcm16 ? static_cast<std::size_t>(block_samples) : 0);
  sf_count_t total = 0;
  auto account = [&] {
    if (stats == nullptr) return;
    stats->frames_read = static_cast<std::uint64_t>(total);
    stats->peak_samples_held = std::max(stats->peak_samples_held, block_samples + held_outside());
  };
  while (true) {
    // Never read past the limit by more than one block.
    const sf_count_t n = pcm16 ? sf_readf_short(sf, sbuf.data(), kDecodeBlockFrames)
                               : sf_readf_float(sf, buf.data(), kDecodeBlockFrames);
    if (n <= 0) break;
    total += n;
    if (total > max_frames) {
      account();
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("audio lasts more than the limit of {} s", limits.max_duration.count() / 1000));
    }
    const auto used = static_cast<std::size_t>(n * info.channels);
    Status st;
    if (pcm16) {
      st = sink.shorts(std::span<const std::int16_t>(sbuf.data(), used), info.channels);
    } else {
      for (std::size_t k = 0; k < used; ++k) {
        float v = buf[k];
        if (!std::isfinite(v)) v = 0.0f;
        buf[k] = std::clamp(v, -1.0f, 1.0f);
      }
      if (sink.active()) st = sink.floats(std::span<const float>(buf.data(), used), info.channels);
    }
    if (!st) {
      account();
      return std::unexpected(st.error());
    }
    account();
  }
  account();
  if (const int err = sf_error(sf); err != SF_ERR_NO_ERROR) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("{} audio is corrupt: {}", format_name(format), sf_error_number(err)));
  }
  if (total == 0) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("{} audio contains no samples", format_name(format)));
  }
  if (format == AudioFormat::kWav) {
    // libsndfile shortens a truncated data chunk silently; a recording cut in transfer must
    // not pass as a shorter call.
    auto declared = wav_declared_data_bytes(bytes);
    auto offset = wav_data_offset(bytes);
    if (declared && offset && *declared != 0xFFFFFFFFu && *declared != 0 && *offset + *declared > bytes.size() + 1) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("wav audio is truncated: the data chunk declares {} bytes "
                                    "but {} are present",
                                    *declared, bytes.size() - *offset));
    }
  } else if (info.frames > 0 && info.frames != SF_COUNT_MAX && format != AudioFormat::kMp3 &&
             total < info.frames * 99 / 100) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("{} audio is truncated: {} of {} frames decoded",
                                                               format_name(format), total, info.frames));
  }
  out.frames = total;
  return out;
}

// Appends an interleaved block to per-channel vectors, converting each sample with `conv`.
template <typename T, typename Conv>
void deinterleave(std::span<const T> block, std::vector<std::vector<float>>& channels, Conv conv) {
  const std::size_t nch = channels.size();
  const std::size_t frames = block.size() / nch;
  if (nch == 1) {
    auto& dst = channels[0];
    const std::size_t at = dst.size();
    dst.resize(at + frames);
    for (std::size_t i = 0; i < frames; ++i) dst[at + i] = conv(block[i]);
    return;
  }
  for (std::size_t c = 0; c < nch; ++c) {
    auto& dst = channels[c];
    const std::size_t at = dst.size();
    dst.resize(at + frames);
    float* out = dst.data() + at;
    const T* in = block.data() + c;
    for (std::size_t i = 0; i < frames; ++i) out[i] = conv(in[i * nch]);
  }
}

}  // namespace

Result<AudioBuffer> decode(std::span<const std::uint8_t> bytes, const DecodeLimits& limits, DecodeStats* stats) {
  AudioBuffer out;
  std::uint64_t held = 0;
  BlockSink sink;
  // Channels are reserved only up to what the bytes present can hold, and grow with what
  // was decoded (never with what a header claims).
  sink.begin = [&](int channels, std::uint64_t frames_bound) {
    out.channels.assign(static_cast<std::size_t>(channels), {});
    for (auto& ch : out.channels) ch.reserve(static_cast<std::size_t>(frames_bound));
  };
  sink.floats = [&](std::span<const float> block, int) -> Status {
    deinterleave(block, out.channels, [](float v) { return v; });
    held += block.size();
    return {};
  };
  sink.shorts = [&](std::span<const std::int16_t> block, int) -> Status {
    constexpr float kScale = 1.0f / 32768.0f;
    deinterleave(block, out.channels, [](std::int16_t v) { return static_cast<float>(v) * kScale; });
    held += block.size();
    return {};
  };
  auto info = decode_blocks(
      bytes, limits, sink, [&] { return held; }, stats);
  if (!info) return std::unexpected(info.error());
  out.sample_rate = info->sample_rate;
  out.format = info->format;
  out.codec = info->codec;
  if (out.channels.empty()) out.channels.assign(static_cast<std::size_t>(info->channels), {});
  return out;
}

Result<AudioInfo> probe(std::span<const std::uint8_t> bytes, const DecodeLimits& limits, DecodeStats* stats) {
  return decode_blocks(
      bytes, limits, BlockSink{}, [] { return std::uint64_t{0}; }, stats);
}

Result<AudioBuffer> decode_file(const std::string& path, const DecodeLimits& limits) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return make_error(ErrorCode::kInvalidArgument, fmt::format("cannot read '{}'", path));
  const auto size = static_cast<std::uint64_t>(in.tellg());
  if (size > limits.max_bytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("audio is {} bytes, above the limit of {} bytes", size, limits.max_bytes));
  }
  std::vector<std::uint8_t> bytes(size);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in) return make_error(ErrorCode::kInvalidArgument, fmt::format("cannot read '{}'", path));
  return decode(bytes, limits);
}

std::vector<float> resample(std::span<const float> in, int from_rate, int to_rate) {
  if (from_rate == to_rate || in.empty() || from_rate <= 0 || to_rate <= 0) {
    return {in.begin(), in.end()};
  }
  // Windowed-sinc interpolation; the cutoff follows the lower of the two Nyquist rates so
  // downsampling does not alias.
  const double ratio = static_cast<double>(to_rate) / from_rate;
  const double cutoff = std::min(1.0, ratio) * 0.95;
  constexpr int kHalf = 12;  // taps each side, in input samples scaled by the cutoff
  const double half_width = kHalf / cutoff;
  const std::size_t n_out = static_cast<std::size_t>(static_cast<double>(in.size()) * ratio);
  std::vector<float> out(n_out);
  const auto n_in = static_cast<std::int64_t>(in.size());
  for (std::size_t j = 0; j < n_out; ++j) {
    const double t = static_cast<double>(j) / ratio;
    const auto lo = static_cast<std::int64_t>(std::ceil(t - half_width));
    const auto hi = static_cast<std::int64_t>(std::floor(t + half_width));
    double acc = 0, wsum = 0;
    for (std::int64_t k = std::max<std::int64_t>(lo, 0); k <= std::min(hi, n_in - 1); ++k) {
      const double x = (t - static_cast<double>(k)) * cutoff;
      const double sinc = x == 0 ? 1.0 : std::sin(std::numbers::pi * x) / (std::numbers::pi * x);
      const double w = 0.5 + 0.5 * std::cos(std::numbers::pi * (t - static_cast<double>(k)) / half_width);
      const double c = sinc * w;
      acc += c * in[static_cast<std::size_t>(k)];
      wsum += c;
    }
    out[j] = wsum != 0 ? static_cast<float>(acc / wsum) : 0.0f;
  }
  return out;
}

std::vector<float> mixdown(const AudioBuffer& audio) {
  if (audio.channels.size() == 1) return audio.channels[0];
  std::vector<float> out(audio.frames(), 0.0f);
  const float scale = 1.0f / static_cast<float>(audio.channels.size());
  for (const auto& ch : audio.channels) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] += ch[i] * scale;
  }
  return out;
}

std::vector<std::int16_t> to_pcm16(std::span<const float> in) {
  std::vector<std::int16_t> out(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    out[i] = static_cast<std::int16_t>(std::lround(std::clamp(in[i], -1.0f, 1.0f) * 32767.0f));
  }
  return out;
}

}  // namespace earshot::audio
