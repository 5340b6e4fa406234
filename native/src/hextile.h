// Hextile tile analysis and output (rfbproto §7.7.4), the native twin of
// backend/vnc/encoders/hextile.ts: the same greedy subrectangle search, byte for byte, so the
// TS encoder stays the reference (test/unit/vnc/encoders/hextile-twins.test.ts).
#pragma once

#include <napi.h>

namespace xenvfb {

// Adds `hextile(values, bytes, width, height, bpp, out, outOffset) -> end offset`.
void InitHextile(Napi::Env env, Napi::Object exports);

}  // namespace xenvfb
