// JPEG compression through libjpeg-turbo's TurboJPEG API (tjCompress2), the native twin of
// the jpeg-js path in backend/vnc/encoders/jpeg.ts. Compiled only when the build found
// turbojpeg.h (binding.gyp, find-turbojpeg.js); otherwise InitJpeg exports nothing and the
// TS side uses jpeg-js.
#pragma once

#include <napi.h>

namespace xenvfb {

// Adds `turbojpeg: { compress(...) }` to the exports when built with libjpeg-turbo.
void InitJpeg(Napi::Env env, Napi::Object exports);

// Releases this environment's compressor (AddonData's destructor calls it).
void DestroyJpegCompressor(void* handle);

}  // namespace xenvfb
