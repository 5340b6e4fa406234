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
