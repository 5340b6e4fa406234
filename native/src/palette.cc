// paletteIndex(px, n, max, colours, indices) -> size, or 0 when px[0..n) holds more than
// `max` colours (1..256).
//
// The colours of px[0..n) (a Uint32Array of client pixel values) go to `colours` (a
// Uint32Array of at least `max`), most frequent first, ties in order of first appearance:
// exactly what PaletteBuilder.build(..., 'all') in backend/vnc/encoders/palette.ts gives.
// When `indices` (a Uint8Array of at least n, or null) is given, indices[i] is the index of
// px[i] in `colours`: Tight's indexed-palette data (rfbproto §7.7.5). On 0 the outputs hold
// garbage. Sizes are checked before anything is read or written.
#include "palette.h"

#include "args.h"
#include "errors.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>

namespace xenvfb {

namespace {

constexpr int kMaxColours = 256;
// Open addressing: four times the colours, so probes stay short.
constexpr unsigned kSlots = 1024;

Napi::Value PaletteIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5) ThrowArgType(env, "paletteIndex takes 5 arguments");
  if (!IsTypedArrayOf(info[0], napi_uint32_array)) ThrowArgType(env, "px must be a Uint32Array");
  if (!IsTypedArrayOf(info[3], napi_uint32_array)) ThrowArgType(env, "colours must be a Uint32Array");
  const bool withIndices = !info[4].IsNull();
  if (withIndices && !IsTypedArrayOf(info[4], napi_uint8_array)) ThrowArgType(env, "indices must be a Uint8Array or null");
  auto pxArray = info[0].As<Napi::Uint32Array>();
  const int64_t n = RequireInteger(env, info[1], "n", 1, static_cast<int64_t>(pxArray.ElementLength()));
  const int max = static_cast<int>(RequireInteger(env, info[2], "max", 1, kMaxColours));
  auto coloursArray = info[3].As<Napi::Uint32Array>();
  if (static_cast<int64_t>(coloursArray.ElementLength()) < max)
    ThrowOutOfRange(env, "colours holds " + std::to_string(coloursArray.ElementLength()) + ", max is " + std::to_string(max));
  uint8_t* indices = nullptr;
  if (withIndices) {
    auto indicesArray = info[4].As<Napi::Uint8Array>();
    if (static_cast<int64_t>(indicesArray.ByteLength()) < n)
      ThrowOutOfRange(env, "indices holds " + std::to_string(indicesArray.ByteLength()) + ", n is " + std::to_string(n));
    indices = indicesArray.Data();
  }
  const uint32_t* px = pxArray.Data();

  uint32_t slotKey[kSlots];
  int16_t slotIndex[kSlots];
  std::fill(slotIndex, slotIndex + kSlots, int16_t{-1});
  uint32_t colour[kMaxColours];
  uint32_t count[kMaxColours];
  int size = 0;
  uint32_t prev = 0;
  int prevIdx = -1;
  for (int64_t i = 0; i < n; i++) {
    const uint32_t v = px[i];
    if (prevIdx >= 0 && v == prev) {
      count[prevIdx]++;
      if (indices) indices[i] = static_cast<uint8_t>(prevIdx);
      continue;
    }
    unsigned slot = (v * 0x9e3779b1u) >> 22;
    while (slotIndex[slot] >= 0 && slotKey[slot] != v) slot = (slot + 1) & (kSlots - 1);
    int idx = slotIndex[slot];
    if (idx < 0) {
      if (size >= max) return Napi::Number::New(env, 0);
      slotKey[slot] = v;
      slotIndex[slot] = static_cast<int16_t>(size);
      colour[size] = v;
      count[size] = 0;
      idx = size++;
    }
    count[idx]++;
    if (indices) indices[i] = static_cast<uint8_t>(idx);
    prev = v;
    prevIdx = idx;
  }
  // Most frequent first; stable, so ties keep their order of first appearance.
  int order[kMaxColours];
  std::iota(order, order + size, 0);
  std::stable_sort(order, order + size, [&](int a, int b) { return count[a] > count[b]; });
  uint8_t moved[kMaxColours];
  bool anyMoved = false;
  uint32_t* out = coloursArray.Data();
  for (int k = 0; k < size; k++) {
    out[k] = colour[order[k]];
    moved[order[k]] = static_cast<uint8_t>(k);
    anyMoved = anyMoved || order[k] != k;
  }
  if (indices && anyMoved)
    for (int64_t i = 0; i < n; i++) indices[i] = moved[indices[i]];
  return Napi::Number::New(env, size);
}

}  // namespace

void InitPalette(Napi::Env env, Napi::Object exports) {
  exports.Set("paletteIndex", Napi::Function::New<PaletteIndex>(env, "paletteIndex"));
}

}  // namespace xenvfb
