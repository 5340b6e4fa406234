// Deflater: new Deflater(level), compress(data) -> Buffer, end(), storedRects.
//
// A zlib stream (2-byte header in the first output, then deflate blocks) whose every
// compress() output ends with a sync flush (an empty stored block, 00 00 ff ff) and never a
// final block: what Zlib, ZRLE and Tight rects carry. zlib comes from Node itself (its
// headers are in node-gyp's include directory and the node binary exports the symbols), so
// the addon needs no zlib of its own. The deflate state (about 270 KiB at memLevel 8) is
// reported to V8 as external memory, so a client that opens many streams makes the
// collector run; end() frees it at once and a finalizer frees it otherwise.
#include "deflate.h"

#include "args.h"
#include "errors.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace xenvfb {

namespace {

// Rects from this size on are checked for incompressible data (noise, video: deflate would
// spend ~17 ms on a 640x360 area to save nothing); such a rect goes through the same stream at
// level 0 (stored blocks), switched with deflateParams so the stream and its window stay one.
constexpr size_t kProbeMin = 64 * 1024;
// Bytes sampled, evenly spread, for the byte entropy.
constexpr size_t kProbeSamples = 4096;
// Sampled byte entropy (bits) from which a rect is stored: random bytes give ~7.95 on 4096
// samples; raw photos (a constant padding byte), gradient residuals and tile streams are lower.
constexpr double kStoredEntropyBits = 7.85;

bool LooksIncompressible(const uint8_t* data, size_t n) {
  uint32_t counts[256] = {};
  const size_t step = n / kProbeSamples;
  for (size_t i = 0; i < kProbeSamples; i++) counts[data[i * step]]++;
  double sum = 0;
  for (uint32_t c : counts) {
    if (c) sum += c * std::log2(static_cast<double>(c));
  }
  const double entropy = std::log2(static_cast<double>(kProbeSamples)) - sum / kProbeSamples;
  return entropy >= kStoredEntropyBits;
}

// deflateInit2's own estimate of its allocations at windowBits 15, memLevel 8, plus slack.
constexpr size_t kFirstOut = 256 * 1024;
constexpr size_t kKeepOut = 1024 * 1024;
constexpr int64_t kStateBytes = (int64_t{1} << 17) + (int64_t{1} << 16) + (int64_t{1} << 16) + 6 * 1024;

class Deflater : public Napi::ObjectWrap<Deflater> {
 public:
  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<Deflater>::DefineClass(env, "Deflater",
                                             {InstanceMethod<&Deflater::Compress>("compress"),
                                              InstanceMethod<&Deflater::End>("end"),
                                              InstanceAccessor<&Deflater::StoredRects>("storedRects")});
  }

  explicit Deflater(const Napi::CallbackInfo& info) : ObjectWrap<Deflater>(info) {
    Napi::Env env = info.Env();
    const int level = static_cast<int>(RequireInteger(env, info[0], "level", 0, 9));
    std::memset(&stream_, 0, sizeof stream_);
    const int rc = deflateInit2(&stream_, level, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
      throw Napi::Error::New(env, std::string("deflateInit2 failed: ") + (stream_.msg ? stream_.msg : std::to_string(rc)));
    }
    open_ = true;
    level_ = current_ = level;
    Napi::MemoryManagement::AdjustExternalMemory(env, kStateBytes);
  }

  ~Deflater() override {
    if (open_) deflateEnd(&stream_);
  }

  void Finalize(Napi::Env env) override {
    if (open_) Napi::MemoryManagement::AdjustExternalMemory(env, -kStateBytes);
  }

 private:
  Napi::Value Compress(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!open_) throw Napi::Error::New(env, "compress after end()");
    if (info.Length() != 1 || !IsTypedArrayOf(info[0], napi_uint8_array)) ThrowArgType(env, "data must be a Uint8Array");
    auto data = info[0].As<Napi::Uint8Array>();
    const size_t n = data.ByteLength();
    if (n > UINT32_MAX / 2) ThrowOutOfRange(env, "data is larger than 2 GiB");
    if (n == 0 && stream_.total_out > 0) {
      // zlib writes nothing for a flush with nothing new since the last one; the rect still
      // needs its bytes: an empty stored block (BFINAL 0, aligned after the last sync flush).
      static const uint8_t kEmptyStored[] = {0x00, 0x00, 0x00, 0xff, 0xff};
      return Napi::Buffer<uint8_t>::Copy(env, kEmptyStored, sizeof kEmptyStored);
    }
    // Compressed rects are mostly small: start at the bound capped to 256 KiB and double while
    // zlib asks for more (with Z_SYNC_FLUSH, avail_out == 0 means "call again").
    const size_t bound = deflateBound(&stream_, static_cast<uLong>(n)) + 64;
    out_.resize(std::max(out_.size(), std::min(bound, kFirstOut)));
    size_t written = 0;
    const int want = level_ > 0 && n >= kProbeMin && LooksIncompressible(data.Data(), n) ? 0 : level_;
    if (want != current_) {
      // Nothing is pending after the last sync flush, so this writes at most an empty block.
      stream_.next_in = nullptr;
      stream_.avail_in = 0;
      stream_.next_out = out_.data();
      stream_.avail_out = static_cast<uInt>(out_.size());
      const int rc = deflateParams(&stream_, want, Z_DEFAULT_STRATEGY);
      if (rc != Z_OK) throw Napi::Error::New(env, "deflateParams failed: " + std::to_string(rc));
      written = out_.size() - stream_.avail_out;
      current_ = want;
      if (want == 0) stored_++;
    }
    stream_.next_in = const_cast<Bytef*>(data.Data());
    stream_.avail_in = static_cast<uInt>(n);
    for (;;) {
      stream_.next_out = out_.data() + written;
      stream_.avail_out = static_cast<uInt>(out_.size() - written);
      const int rc = deflate(&stream_, Z_SYNC_FLUSH);
      written = out_.size() - stream_.avail_out;
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        throw Napi::Error::New(env, std::string("deflate failed: ") + (stream_.msg ? stream_.msg : std::to_string(rc)));
      }
      if (stream_.avail_out != 0) break;
      out_.resize(out_.size() * 2);
    }
    stream_.next_in = nullptr;
    Napi::Buffer<uint8_t> result = Napi::Buffer<uint8_t>::Copy(env, out_.data(), written);
    // Keep a scratch that fits typical rects; give back what one large incompressible rect took.
    if (out_.size() > kKeepOut) std::vector<uint8_t>(kFirstOut).swap(out_);
    return result;
  }

  Napi::Value End(const Napi::CallbackInfo& info) {
    if (open_) {
      deflateEnd(&stream_);
      open_ = false;
      Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -kStateBytes);
      std::vector<uint8_t>().swap(out_);
    }
    return info.Env().Undefined();
  }

  Napi::Value StoredRects(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(stored_));
  }

  z_stream stream_;
  bool open_ = false;
  // The level asked for, and the one the stream is at now (0 for a rect that looked incompressible).
  int level_ = 0;
  int current_ = 0;
  uint64_t stored_ = 0;
  std::vector<uint8_t> out_;
};

}  // namespace

void InitDeflate(Napi::Env env, Napi::Object exports) {
  exports.Set("Deflater", Deflater::DefineClass(env));
}

}  // namespace xenvfb
