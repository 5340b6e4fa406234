// Tight's gradient filter and 24-bit TPIXEL packing (rfbproto §7.7.5), the native twins of
// isSmooth, gradientResiduals and packTpixels in backend/vnc/encoders/tight-filters.ts: the
// same score, the same residuals and the same bytes
// (test/unit/vnc/encoders/tight-gradient-twins.test.ts).
#pragma once

#include <napi.h>

namespace xenvfb {

// Adds `tightFilters`: { smoothScore, gradient, pack24 } (see gradient.cc).
void InitGradient(Napi::Env env, Napi::Object exports);

}  // namespace xenvfb
