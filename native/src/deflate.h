// One persistent zlib deflate stream, the native twin of DeflateStream in
// backend/vnc/encoders/zstream.ts: every compress() call ends on a Z_SYNC_FLUSH boundary,
// so an RFB client's single inflater reads the rects as one zlib stream (rfbproto §7.7.4-6).
// The TS twin re-primes a 32 KiB preset dictionary for every rect; this one keeps the
// z_stream, so nothing is primed again. Both decode to the same bytes
// (test/unit/vnc/encoders/zstream-twins.test.ts).
#pragma once

#include <napi.h>

namespace xenvfb {

// Adds `Deflater`: new Deflater(level 0..9); compress(Uint8Array) -> Buffer; end().
void InitDeflate(Napi::Env env, Napi::Object exports);

}  // namespace xenvfb
