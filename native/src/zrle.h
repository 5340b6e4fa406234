// ZRLE tiles (rfbproto §7.7.6) before deflate, the native twin of the tile loop in
// backend/vnc/encoders/zrle.ts: the same subencoding choice and bytes per tile
// (test/unit/vnc/encoders/zrle-twins.test.ts).
#pragma once

#include <napi.h>

namespace xenvfb {

// Adds `zrleTiles(values, width, height, shifts, out, outOffset) -> end offset`.
void InitZrle(Napi::Env env, Napi::Object exports);

}  // namespace xenvfb
