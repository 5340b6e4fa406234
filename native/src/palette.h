// Colour counting with per-pixel indices, the native twin of PaletteBuilder.build (order
// 'all') in backend/vnc/encoders/palette.ts plus Tight's index pass over the same pixels
// (backend/vnc/encoders/tight.ts): same colours in the same order, each pixel's index in them
// (test/unit/vnc/encoders/tight-palette-twins.test.ts).
#pragma once

#include <napi.h>

namespace xenvfb {

// Adds `paletteIndex(px, n, max, colours, indices) -> size (0: more than max colours)`.
void InitPalette(Napi::Env env, Napi::Object exports);

}  // namespace xenvfb
