// JPEG compression through libjpeg-turbo's TurboJPEG API (tjCompress2), the native twin of
// the jpeg-js path in backend/vnc/encoders/jpeg.ts. Compiled only when the build found
// turbojpeg.h (binding.gyp, find-turbojpeg.js); otherwise InitJpeg exports nothing and the
// TS side uses jpeg-js.
#pragma once

#include <napi.h>

#include <string>

namespace xenvfb {

// Adds `turbojpeg: { compress(...) }` to the exports when built with libjpeg-turbo.
void InitJpeg(Napi::Env env, Napi::Object exports);

// Releases this environment's compressor (AddonData's destructor calls it).
void DestroyJpegCompressor(void* handle);

#ifdef XENVFB_HAVE_TURBOJPEG
// One tjhandle and the output buffer it compresses into, reused image after image: one per
// environment (compress()) and one per pool thread (jpeg-pool.cc). libjpeg-turbo writes into
// the buffer (TJFLAG_NOREALLOC, grown to tjBufSize when an image could need more), and the
// caller copies the bytes out. Letting libjpeg-turbo allocate a fresh buffer per image (the
// ~370 KB tjBufSize of a 1920x32 strip: fresh pages each time) cost 8-25% of the JPEG time of
// a 1080p frame here (native/README.md).
class JpegCompressor {
 public:
  JpegCompressor() = default;
  ~JpegCompressor();
  JpegCompressor(const JpegCompressor&) = delete;
  JpegCompressor& operator=(const JpegCompressor&) = delete;

  // Compresses one image. True with out/size set to bytes valid until the next call, or
  // false with *error set (never throws: pool threads call it).
  bool Compress(const unsigned char* src, int width, int height, int stride, int pf, int quality, int subsamp,
                const unsigned char** out, unsigned long* size, std::string* error);

  // Frees the buffer if it is larger than kKeptBufferBytes (call once the image is copied):
  // a one-off large image (a SPICE full-screen JPEG's tjBufSize is ~12 MB at 1080p) is not
  // kept for the life of the thread; Tight's strips (~370 KB) keep theirs.
  void ReleaseLarge();
  static constexpr unsigned long kKeptBufferBytes = 4ul << 20;

 private:
  void* handle_ = nullptr;
  unsigned char* buffer_ = nullptr;
  unsigned long capacity_ = 0;
};
#endif

#ifdef XENVFB_HAVE_TURBOJPEG
// compress()'s 8 arguments, checked: the image lies inside `pixels`.
struct JpegArgs {
  Napi::Uint8Array pixels;
  size_t offset = 0;
  int width = 0, height = 0, stride = 0, pf = 0, quality = 0, subsamp = 0;
};
JpegArgs RequireJpegArgs(const Napi::CallbackInfo& info);

// Error with code TJ_E_COMPRESS.
[[noreturn]] void ThrowTurboError(Napi::Env env, const std::string& message);
#endif

}  // namespace xenvfb
