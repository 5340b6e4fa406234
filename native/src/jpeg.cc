// turbojpeg.compress(pixels, offset, width, height, stride, pixelFormat, quality, subsampling)
// -> Buffer holding one baseline JFIF image. `pixels` is any Uint8Array (a surface's memory,
// shared or not): the image starts at byte `offset`, rows are `stride` bytes apart, 4 bytes
// per pixel in the byte order `pixelFormat` names (PIXEL_FORMATS below). Every size is
// checked against the view before libjpeg-turbo reads a byte. One JpegCompressor (jpeg.h:
// a tjhandle and its output buffer) per environment (main thread or worker), made on first
// use and reused: tjInitCompress allocates libjpeg's whole compressor state.
#include "jpeg.h"

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "jpeg-pool.h"

#ifdef XENVFB_HAVE_TURBOJPEG
#include <turbojpeg.h>

#include <cstdint>
#include <string>

namespace xenvfb {

// libjpeg-turbo failed (out of memory, or an internal error): Error with code TJ_E_COMPRESS.
void ThrowTurboError(Napi::Env env, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, "TJ_E_COMPRESS"));
  throw e;
}

namespace {

// Widest/tallest image compress() takes: JPEG's own 16-bit limit.
constexpr int64_t kMaxJpegSide = 65535;

struct PixelFormatName {
  const char* name;
  int tjpf;
};

// 4-byte formats, named by their byte order in memory.
constexpr PixelFormatName kPixelFormats[] = {
    {"RGBX", TJPF_RGBX}, {"BGRX", TJPF_BGRX}, {"XRGB", TJPF_XRGB}, {"XBGR", TJPF_XBGR}};

int RequirePixelFormat(Napi::Env env, const Napi::Value& value) {
  if (!value.IsString()) ThrowArgType(env, "pixelFormat must be a string");
  const std::string name = value.As<Napi::String>().Utf8Value();
  for (const auto& f : kPixelFormats) {
    if (name == f.name) return f.tjpf;
  }
  ThrowArgValue(env, "pixelFormat must be RGBX, BGRX, XRGB or XBGR, got " + name);
}

JpegCompressor& Compressor(Napi::Env env) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data->jpegCompressor == nullptr) data->jpegCompressor = new JpegCompressor();
  return *static_cast<JpegCompressor*>(data->jpegCompressor);
}

Napi::Value Compress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const JpegArgs a = RequireJpegArgs(info);
  const unsigned char* out = nullptr;
  unsigned long size = 0;
  std::string error;
  JpegCompressor& compressor = Compressor(env);
  const bool ok = compressor.Compress(a.pixels.Data() + a.offset, a.width, a.height, a.stride, a.pf, a.quality,
                                      a.subsamp, &out, &size, &error);
  // A copy the size of the image: the compressor's buffer is reused by the next call.
  Napi::Buffer<unsigned char> image;
  if (ok) image = Napi::Buffer<unsigned char>::Copy(env, out, size);
  compressor.ReleaseLarge();  // after a failure too, as the pool threads do
  if (!ok) ThrowTurboError(env, error);
  return image;
}

}  // namespace

JpegArgs RequireJpegArgs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 8) ThrowArgType(env, "compress takes 8 arguments");
  if (!IsTypedArrayOf(info[0], napi_uint8_array)) ThrowArgType(env, "pixels must be a Uint8Array");
  JpegArgs a{info[0].As<Napi::Uint8Array>()};
  const int64_t offset = RequireInteger(env, info[1], "offset", 0, kMaxSafeInteger);
  const int64_t width = RequireInteger(env, info[2], "width", 1, kMaxJpegSide);
  const int64_t height = RequireInteger(env, info[3], "height", 1, kMaxJpegSide);
  const int64_t stride = RequireInteger(env, info[4], "stride", width * 4, INT32_MAX);
  a.pf = RequirePixelFormat(env, info[5]);
  a.quality = static_cast<int>(RequireInteger(env, info[6], "quality", 1, 100));
  a.subsamp = static_cast<int>(RequireInteger(env, info[7], "subsampling", TJSAMP_444, TJSAMP_420));
  // The last row needs only width * 4 bytes, not a whole stride.
  const int64_t needed = offset + (height - 1) * stride + width * 4;
  if (needed > static_cast<int64_t>(a.pixels.ByteLength())) {
    ThrowOutOfRange(env, "image of " + std::to_string(width) + "x" + std::to_string(height) + " at offset " +
                             std::to_string(offset) + " with stride " + std::to_string(stride) + " needs " +
                             std::to_string(needed) + " bytes, the view has " + std::to_string(a.pixels.ByteLength()));
  }
  a.offset = static_cast<size_t>(offset);
  a.width = static_cast<int>(width);
  a.height = static_cast<int>(height);
  a.stride = static_cast<int>(stride);
  return a;
}

void InitJpeg(Napi::Env env, Napi::Object exports) {
  Napi::Object tj = Napi::Object::New(env);
  tj.Set("compress", Napi::Function::New<Compress>(env, "compress"));
  tj.Set("version", Napi::String::New(env, "libjpeg-turbo TurboJPEG API"));
  InitJpegPool(env, tj);
  exports.Set("turbojpeg", tj);
}

JpegCompressor::~JpegCompressor() {
  if (handle_ != nullptr) tjDestroy(static_cast<tjhandle>(handle_));
  tjFree(buffer_);
}

bool JpegCompressor::Compress(const unsigned char* src, int width, int height, int stride, int pf, int quality,
                              int subsamp, const unsigned char** out, unsigned long* size, std::string* error) {
  if (handle_ == nullptr) {
    handle_ = tjInitCompress();
    if (handle_ == nullptr) {
      *error = std::string("tjInitCompress failed: ") + tjGetErrorStr2(nullptr);
      return false;
    }
  }
  // The most a JPEG of this size and subsampling can take, so NOREALLOC never runs short.
  const unsigned long need = tjBufSize(width, height, subsamp);
  if (need == static_cast<unsigned long>(-1) || need > static_cast<unsigned long>(INT32_MAX)) {
    *error = "no JPEG buffer for a " + std::to_string(width) + "x" + std::to_string(height) + " image";
    return false;
  }
  if (need > capacity_) {
    tjFree(buffer_);
    buffer_ = tjAlloc(static_cast<int>(need));
    capacity_ = buffer_ == nullptr ? 0 : need;
    if (buffer_ == nullptr) {
      *error = "tjAlloc of " + std::to_string(need) + " bytes failed";
      return false;
    }
  }
  tjhandle tj = static_cast<tjhandle>(handle_);
  unsigned char* dst = buffer_;
  unsigned long dstSize = capacity_;
  // Fast integer DCT below quality 90, as libjpeg-turbo advises; accurate above, where the
  // fast one's error starts to show.
  const int flags = TJFLAG_NOREALLOC | (quality < 90 ? TJFLAG_FASTDCT : 0);
  if (tjCompress2(tj, src, width, stride, height, pf, &dst, &dstSize, subsamp, quality, flags) != 0) {
    *error = std::string("tjCompress2 failed: ") + tjGetErrorStr2(tj);
    return false;
  }
  *out = dst;
  *size = dstSize;
  return true;
}

void JpegCompressor::ReleaseLarge() {
  if (capacity_ <= kKeptBufferBytes) return;
  tjFree(buffer_);
  buffer_ = nullptr;
  capacity_ = 0;
}

void DestroyJpegCompressor(void* compressor) { delete static_cast<JpegCompressor*>(compressor); }

}  // namespace xenvfb

#else  // built without libjpeg-turbo: nothing exported, the TS path is used.

namespace xenvfb {

void InitJpeg(Napi::Env, Napi::Object) {}
void DestroyJpegCompressor(void*) {}

}  // namespace xenvfb

#endif
