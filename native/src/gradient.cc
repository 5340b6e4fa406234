// tightFilters.smoothScore(px, width, channels, step[, limit]) -> mean residual fraction, or -1
// tightFilters.gradient(px, width, channels, out)     -> undefined
// tightFilters.pack24(px, channels, out)              -> undefined
//
//   px:       Uint32Array, a rect's client pixel values row-major, `width` per row;
//   channels: Uint32Array [redShift, redMax, greenShift, greenMax, blueShift, blueMax];
//   out:      gradient: a Uint32Array of px.length (residual pixel values), or a Uint8Array of
//             3 * px.length (24-bit TPIXELs R, G, B: every max must be 255);
//             pack24: a Uint8Array of 3 * px.length.
// Residual per channel (rfbproto §7.7.5): P = clamp(left + up - upleft, 0, max),
// D = (V - P) & max, neighbours outside the rect 0. smoothScore is the mean over every
// step-th pixel from index width + 1 of min(D, max + 1 - D) / max per channel: integer sums per
// channel, then (red / max + green / max + blue / max) / (3 * samples) in doubles, as the TS twin
// does, so the double is the same. With a limit, the sum stops once the part summed so far
// (checked every 1024 samples, over the same 3 * samples) reaches it, and that part is returned:
// the mean is at least that much, so a caller asking "below the limit?" gets the same answer
// (noise stops after a tenth of its samples). Sizes are checked before anything is read.
#include "gradient.h"

#include "args.h"
#include "errors.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

namespace xenvfb {

namespace {

// smoothScore compares the part summed with its limit every this many samples.
constexpr size_t kSmoothCheckEvery = 1024;

struct Channels {
  uint32_t shift[3];
  uint32_t max[3];
};

Channels RequireChannels(Napi::Env env, const Napi::Value& value) {
  if (!IsTypedArrayOf(value, napi_uint32_array)) ThrowArgType(env, "channels must be a Uint32Array");
  auto a = value.As<Napi::Uint32Array>();
  if (a.ElementLength() != 6) ThrowArgValue(env, "channels must hold 6 values (shift, max per channel)");
  Channels c{};
  for (int k = 0; k < 3; k++) {
    c.shift[k] = a[2 * k];
    c.max[k] = a[2 * k + 1];
    if (c.shift[k] > 31 || c.max[k] == 0 || c.max[k] > 0xffff) ThrowOutOfRange(env, "channel shift must be 0..31 and max 1..65535");
  }
  return c;
}

inline uint32_t Residual(const uint32_t* px, size_t i, size_t x, size_t width, uint32_t sh, uint32_t mx) {
  const int64_t left = x > 0 ? (px[i - 1] >> sh) & mx : 0;
  const int64_t up = i >= width ? (px[i - width] >> sh) & mx : 0;
  const int64_t upLeft = x > 0 && i >= width ? (px[i - width - 1] >> sh) & mx : 0;
  int64_t p = left + up - upLeft;
  p = p < 0 ? 0 : p > mx ? mx : p;
  return static_cast<uint32_t>((static_cast<int64_t>((px[i] >> sh) & mx) - p)) & mx;
}

// The (px, width, channels) that smoothScore and gradient start with, checked.
struct Pixels {
  const uint32_t* px;
  size_t n;
  size_t width;
  Channels c;
};

Pixels RequirePixels(const Napi::CallbackInfo& info, const char* call, size_t maxArgs = 4) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || info.Length() > maxArgs)
    ThrowArgType(env, std::string(call) + (maxArgs == 4 ? " takes 4 arguments" : " takes 4 or 5 arguments"));
  if (!IsTypedArrayOf(info[0], napi_uint32_array)) ThrowArgType(env, "px must be a Uint32Array");
  auto pxArray = info[0].As<Napi::Uint32Array>();
  const size_t width = static_cast<size_t>(RequireInteger(env, info[1], "width", 1, 65535));
  return Pixels{pxArray.Data(), pxArray.ElementLength(), width, RequireChannels(env, info[2])};
}

Napi::Value SmoothScore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto [px, n, width, c] = RequirePixels(info, "smoothScore", 5);
  const size_t step = static_cast<size_t>(RequireInteger(env, info[3], "step", 1, 65535));
  double limit = std::numeric_limits<double>::infinity();
  if (info.Length() == 5 && !info[4].IsUndefined()) {
    if (!info[4].IsNumber()) ThrowArgType(env, "limit must be a number");
    limit = info[4].As<Napi::Number>().DoubleValue();
  }
  // Integer sums per channel, divided once at the end (no division or modulo per sample).
  uint64_t sum[3] = {0, 0, 0};
  const size_t samples = n > width + 1 ? (n - width - 1 + step - 1) / step : 0;
  if (samples == 0) return Napi::Number::New(env, -1);
  const double scale = 3.0 * static_cast<double>(samples);
  auto partial = [&]() {
    return (static_cast<double>(sum[0]) / c.max[0] + static_cast<double>(sum[1]) / c.max[1] +
            static_cast<double>(sum[2]) / c.max[2]) /
           scale;
  };
  const size_t stepX = step % width;
  size_t done = 0;
  for (size_t i = width + 1, x = 1 % width; i < n; i += step) {
    for (int k = 0; k < 3; k++) {
      const uint32_t d = Residual(px, i, x, width, c.shift[k], c.max[k]);
      sum[k] += std::min(d, c.max[k] + 1 - d);
    }
    x += stepX;
    if (x >= width) x -= width;
    // Every term is >= 0: once the part summed reaches the limit, so does the mean.
    if (++done % kSmoothCheckEvery == 0 && partial() >= limit) break;
  }
  return Napi::Number::New(env, partial());
}

Napi::Value Gradient(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto [px, n, width, c] = RequirePixels(info, "gradient");
  if (IsTypedArrayOf(info[3], napi_uint32_array)) {
    auto outArray = info[3].As<Napi::Uint32Array>();
    if (outArray.ElementLength() < n) ThrowOutOfRange(env, "out holds fewer values than px");
    uint32_t* out = outArray.Data();
    for (size_t i = 0, x = 0; i < n; i++, x = x + 1 == width ? 0 : x + 1) {
      out[i] = (Residual(px, i, x, width, c.shift[0], c.max[0]) << c.shift[0]) |
               (Residual(px, i, x, width, c.shift[1], c.max[1]) << c.shift[1]) |
               (Residual(px, i, x, width, c.shift[2], c.max[2]) << c.shift[2]);
    }
    return env.Undefined();
  }
  if (!IsTypedArrayOf(info[3], napi_uint8_array)) ThrowArgType(env, "out must be a Uint32Array or a Uint8Array");
  if (c.max[0] != 255 || c.max[1] != 255 || c.max[2] != 255) ThrowArgValue(env, "24-bit TPIXELs need 8-bit channels");
  auto outArray = info[3].As<Napi::Uint8Array>();
  if (outArray.ByteLength() / 3 < n) ThrowOutOfRange(env, "out holds fewer than 3 bytes per pixel");
  uint8_t* out = outArray.Data();
  for (size_t i = 0, x = 0; i < n; i++, x = x + 1 == width ? 0 : x + 1) {
    for (int k = 0; k < 3; k++) out[3 * i + k] = static_cast<uint8_t>(Residual(px, i, x, width, c.shift[k], 255));
  }
  return env.Undefined();
}

Napi::Value Pack24(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3) ThrowArgType(env, "pack24 takes 3 arguments");
  if (!IsTypedArrayOf(info[0], napi_uint32_array)) ThrowArgType(env, "px must be a Uint32Array");
  if (!IsTypedArrayOf(info[2], napi_uint8_array)) ThrowArgType(env, "out must be a Uint8Array");
  auto pxArray = info[0].As<Napi::Uint32Array>();
  const size_t n = pxArray.ElementLength();
  const Channels c = RequireChannels(env, info[1]);
  auto outArray = info[2].As<Napi::Uint8Array>();
  if (outArray.ByteLength() / 3 < n) ThrowOutOfRange(env, "out holds fewer than 3 bytes per pixel");
  const uint32_t* px = pxArray.Data();
  uint8_t* out = outArray.Data();
  for (size_t i = 0; i < n; i++) {
    const uint32_t v = px[i];
    out[3 * i] = static_cast<uint8_t>(v >> c.shift[0]);
    out[3 * i + 1] = static_cast<uint8_t>(v >> c.shift[1]);
    out[3 * i + 2] = static_cast<uint8_t>(v >> c.shift[2]);
  }
  return env.Undefined();
}

}  // namespace

void InitGradient(Napi::Env env, Napi::Object exports) {
  Napi::Object filters = Napi::Object::New(env);
  filters.Set("smoothScore", Napi::Function::New<SmoothScore>(env, "smoothScore"));
  filters.Set("gradient", Napi::Function::New<Gradient>(env, "gradient"));
  filters.Set("pack24", Napi::Function::New<Pack24>(env, "pack24"));
  exports.Set("tightFilters", filters);
}

}  // namespace xenvfb
