// zrleTiles(values, width, height, shifts, out, outOffset) -> end offset
//
// Writes the uncompressed ZRLE tile stream of one width x height rect at out[outOffset],
// exactly as ZrleEncoder in backend/vnc/encoders/zrle.ts does before deflate (that file is the
// reference and says why):
//   values: Uint32Array, the rect's client pixel values, row-major, `width` per row;
//   shifts: Uint8Array of 1..4 entries, one per CPIXEL byte: byte k is value >> shifts[k]
//           (the TS PixelPacker's shifts, so any client pixel format works).
// 64x64 tiles left to right, top to bottom; per tile the cheapest of raw, solid, packed
// palette, plain RLE and palette RLE by exact size. A tile is written only when its raw size
// fits in `out` (every form is at most that), else RangeError: never a write past `out`.
#include "zrle.h"

#include "args.h"
#include "errors.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

namespace xenvfb {

namespace {

constexpr int kTile = 64;
constexpr int kMaxPalette = 127;  // 128 + n <= 255
constexpr unsigned kSlots = 512;
constexpr int64_t kMaxSide = 65535;
constexpr uint8_t kRaw = 0, kSolid = 1, kPlainRle = 128, kPaletteRleBase = 128;

int RunLengthBytes(int len) { return (len - 1) / 255 + 1; }

size_t PutRunLength(uint8_t* out, size_t o, int len) {
  int rest = len - 1;
  while (rest >= 255) {
    out[o++] = 255;
    rest -= 255;
  }
  out[o++] = static_cast<uint8_t>(rest);
  return o;
}

struct Encoder {
  const uint32_t* px;
  int stride;
  uint8_t shift[4];
  int cp;
  uint8_t* out;
  size_t outLen;
  uint32_t tile[kTile * kTile];
  uint8_t index[kTile * kTile];  // each tile pixel's palette index
  // Palette of the current tile: the most frequent colour (the first to appear among equals)
  // at 0, the others in order of appearance, the one first seen moved to where it was.
  uint32_t colour[kMaxPalette];
  int size = 0;
  uint32_t slotKey[kSlots];
  uint32_t slotStamp[kSlots] = {};
  uint8_t slotIndex[kSlots];
  uint32_t stamp = 0;

  size_t Put(size_t o, uint32_t v) {
    for (int k = 0; k < cp; k++) out[o + k] = static_cast<uint8_t>(v >> shift[k]);
    return o + cp;
  }

  // Colours of tile[0..n) in PaletteBuilder's 'first' order; each pixel's index in index[].
  // False past kMaxPalette.
  bool Palette(int n) {
    if (++stamp == 0) {
      std::memset(slotStamp, 0, sizeof slotStamp);
      stamp = 1;
    }
    uint32_t found[kMaxPalette];
    uint32_t count[kMaxPalette];
    int m = 0;
    uint32_t prev = 0;
    int prevIdx = -1;
    for (int i = 0; i < n; i++) {
      const uint32_t v = tile[i];
      if (prevIdx >= 0 && v == prev) {
        count[prevIdx]++;
        index[i] = static_cast<uint8_t>(prevIdx);
        continue;
      }
      unsigned slot = (v * 0x9e3779b1u) >> 23;
      while (slotStamp[slot] == stamp && slotKey[slot] != v) slot = (slot + 1) & (kSlots - 1);
      int idx;
      if (slotStamp[slot] == stamp) {
        idx = slotIndex[slot];
      } else {
        if (m >= kMaxPalette) return false;
        slotStamp[slot] = stamp;
        slotKey[slot] = v;
        slotIndex[slot] = static_cast<uint8_t>(m);
        found[m] = v;
        count[m] = 0;
        idx = m++;
      }
      count[idx]++;
      index[i] = static_cast<uint8_t>(idx);
      prev = v;
      prevIdx = idx;
    }
    int best = 0;
    for (int k = 1; k < m; k++)
      if (count[k] > count[best]) best = k;
    std::memcpy(colour, found, sizeof(uint32_t) * m);
    if (best != 0) {
      std::swap(colour[0], colour[best]);
      for (int i = 0; i < n; i++) {
        if (index[i] == 0) index[i] = static_cast<uint8_t>(best);
        else if (index[i] == best) index[i] = 0;
      }
    }
    size = m;
    return true;
  }

  size_t PutPalette(size_t o) {
    for (int k = 0; k < size; k++) o = Put(o, colour[k]);
    return o;
  }

  size_t Tile(int tx, int ty, int w, int h, size_t o) {
    const int n = w * h;
    if (o + 1 + static_cast<size_t>(n) * cp > outLen) return SIZE_MAX;
    for (int y = 0; y < h; y++) std::memcpy(tile + y * w, px + static_cast<size_t>(ty + y) * stride + tx, sizeof(uint32_t) * w);
    const bool palette = Palette(n);
    if (palette && size == 1) {
      out[o] = kSolid;
      return Put(o + 1, tile[0]);
    }
    // Exact sizes of each candidate form.
    int64_t plainRle = 0, paletteRle = 0;
    for (int i = 0; i < n;) {
      int j = i + 1;
      while (j < n && tile[j] == tile[i]) j++;
      const int len = j - i;
      plainRle += cp + RunLengthBytes(len);
      paletteRle += len == 1 ? 1 : 1 + RunLengthBytes(len);
      i = j;
    }
    constexpr int64_t kNever = INT64_MAX;
    const int64_t raw = static_cast<int64_t>(n) * cp;
    const int m = palette ? size : 0;
    const int bits = m <= 2 ? 1 : m <= 4 ? 2 : 4;
    const int64_t rowBytes = (static_cast<int64_t>(w) * bits + 7) / 8;
    const int64_t packed = palette && m <= 16 ? static_cast<int64_t>(m) * cp + rowBytes * h : kNever;
    const int64_t palRle = palette ? static_cast<int64_t>(m) * cp + paletteRle : kNever;
    const int64_t best = std::min({raw, plainRle, packed, palRle});
    if (best == packed) {
      out[o++] = static_cast<uint8_t>(m);
      o = PutPalette(o);
      std::memset(out + o, 0, static_cast<size_t>(rowBytes * h));
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          const int bit = x * bits;
          out[o + y * rowBytes + (bit >> 3)] |= static_cast<uint8_t>(index[y * w + x] << (8 - bits - (bit & 7)));
        }
      }
      return o + static_cast<size_t>(rowBytes * h);
    }
    if (best == palRle) {
      out[o++] = static_cast<uint8_t>(kPaletteRleBase + m);
      o = PutPalette(o);
      for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && tile[j] == tile[i]) j++;
        if (j - i == 1) {
          out[o++] = index[i];
        } else {
          out[o++] = static_cast<uint8_t>(index[i] | 0x80);
          o = PutRunLength(out, o, j - i);
        }
        i = j;
      }
      return o;
    }
    if (best == plainRle) {
      out[o++] = kPlainRle;
      for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && tile[j] == tile[i]) j++;
        o = PutRunLength(out, Put(o, tile[i]), j - i);
        i = j;
      }
      return o;
    }
    out[o++] = kRaw;
    for (int i = 0; i < n; i++) o = Put(o, tile[i]);
    return o;
  }
};

Napi::Value ZrleTiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 6) ThrowArgType(env, "zrleTiles takes 6 arguments");
  if (!IsTypedArrayOf(info[0], napi_uint32_array)) ThrowArgType(env, "values must be a Uint32Array");
  if (!IsTypedArrayOf(info[3], napi_uint8_array)) ThrowArgType(env, "shifts must be a Uint8Array");
  if (!IsTypedArrayOf(info[4], napi_uint8_array)) ThrowArgType(env, "out must be a Uint8Array");
  auto values = info[0].As<Napi::Uint32Array>();
  const int64_t width = RequireInteger(env, info[1], "width", 1, kMaxSide);
  const int64_t height = RequireInteger(env, info[2], "height", 1, kMaxSide);
  auto shifts = info[3].As<Napi::Uint8Array>();
  auto out = info[4].As<Napi::Uint8Array>();
  const int64_t outOffset = RequireInteger(env, info[5], "outOffset", 0, static_cast<int64_t>(out.ByteLength()));
  if (shifts.ByteLength() < 1 || shifts.ByteLength() > 4) ThrowOutOfRange(env, "shifts must hold 1 to 4 entries");
  for (size_t k = 0; k < shifts.ByteLength(); k++)
    if (shifts[k] > 31) ThrowOutOfRange(env, "a shift must be 0..31");
  if (static_cast<int64_t>(values.ElementLength()) < width * height) {
    ThrowOutOfRange(env, "a " + std::to_string(width) + "x" + std::to_string(height) + " rect needs " +
                             std::to_string(width * height) + " values; got " + std::to_string(values.ElementLength()));
  }
  // Big (16 KB tile and index buffers): on the heap, not the stack of a worker thread.
  auto e = std::make_unique<Encoder>();
  e->px = values.Data();
  e->stride = static_cast<int>(width);
  e->cp = static_cast<int>(shifts.ByteLength());
  for (int k = 0; k < e->cp; k++) e->shift[k] = shifts[k];
  e->out = out.Data();
  e->outLen = out.ByteLength();
  size_t o = static_cast<size_t>(outOffset);
  for (int ty = 0; ty < height; ty += kTile) {
    for (int tx = 0; tx < width; tx += kTile) {
      const int w = std::min<int>(kTile, static_cast<int>(width) - tx);
      const int h = std::min<int>(kTile, static_cast<int>(height) - ty);
      o = e->Tile(tx, ty, w, h, o);
      if (o == SIZE_MAX) {
        ThrowOutOfRange(env, "out has " + std::to_string(out.ByteLength()) + " bytes: too few for the tile at " +
                                 std::to_string(tx) + "," + std::to_string(ty));
      }
    }
  }
  return Napi::Number::New(env, static_cast<double>(o));
}

}  // namespace

void InitZrle(Napi::Env env, Napi::Object exports) {
  exports.Set("zrleTiles", Napi::Function::New<ZrleTiles>(env, "zrleTiles"));
}

}  // namespace xenvfb
