// JPEG compression on a few threads of our own, so the rects of one frame compress in
// parallel while the calling thread (an encode worker) writes the ones already done: the
// native side of backend/vnc/encoders/jpeg-prefetch.ts. Built only with libjpeg-turbo.
#pragma once

#include <napi.h>

namespace xenvfb {

// Adds turbojpeg.submit(...) -> JpegJob { take() -> Buffer } and turbojpeg.threads.
void InitJpegPool(Napi::Env env, Napi::Object turbojpeg);

}  // namespace xenvfb
