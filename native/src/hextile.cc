// hextile(values, bytes, width, height, bpp, out, outOffset) -> end offset
//
// Encodes one width x height rect as Hextile tiles into out[outOffset...], exactly as
// HextileEncoder in backend/vnc/encoders/hextile.ts does (that file is the reference and says
// why each rule is there):
//   values: Uint32Array, the rect's client pixel values, row-major, `width` per row;
//   bytes:  Uint8Array, the same pixels as client wire bytes (`bpp` = 1, 2 or 4 per pixel).
// A colour is written by copying the wire bytes of a pixel that has it, so no pixel format
// knowledge is needed here. Every size is checked before a byte is read or written; a tile
// that would not fit in `out` is a RangeError, never a write past it.
#include "hextile.h"

#include "args.h"
#include "errors.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace xenvfb {

namespace {

constexpr int kTile = 16;
// Past this many colours a tile goes raw (HEXTILE_MAX_COLOURS in hextile.ts).
constexpr int kMaxColours = 96;
constexpr uint8_t kRaw = 1, kBackground = 2, kForeground = 4, kAnySubrects = 8, kColoured = 16;
// Largest rect side RFB can express.
constexpr int64_t kMaxSide = 65535;

// The first i in [x, end) with p[i] != v, or end. Four pixels a compare where SSE2 is there (every
// x86-64): runs of one colour (a text tile's background, a glyph's stem) were one branch a pixel.
inline int FirstNotEqual(const uint32_t* p, int x, int end, uint32_t v) {
#ifdef __SSE2__
  const __m128i want = _mm_set1_epi32(static_cast<int>(v));
  for (; x + 4 <= end; x += 4) {
    const __m128i got = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + x));
    const int equal = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(got, want)));
    if (equal != 0xF) return x + __builtin_ctz(~equal & 0xF);
  }
#endif
  while (x < end && p[x] == v) x++;
  return x;
}

struct Rect {
  const uint32_t* px;     // values
  const uint8_t* bytes;   // wire bytes
  int stride;             // pixels per row
  int bpp;
};

// Colours of one tile in order of first appearance, with counts and where each first appears.
// Build() also copies the tile's pixels into `px`, row after row, so the subrect search reads
// one small contiguous array and marks what it covers by overwriting it (no stride arithmetic
// and no separate covered map: the search was a quarter of a text frame's Hextile time).
struct TilePalette {
  uint32_t px[kTile * kTile];
  uint32_t colour[kMaxColours];
  uint32_t count[kMaxColours];
  int first[kMaxColours];  // pixel index (in the rect) of the colour's first appearance
  int size = 0;
  // Open addressing over 256 slots (plenty for 96 colours); a slot is live when its stamp
  // equals the current one, so nothing is cleared between tiles.
  uint32_t slotKey[256];
  uint32_t slotStamp[256] = {};
  uint8_t slotIndex[256];
  uint32_t stamp = 0;

  // Counts the tile's colours; false once there are more than kMaxColours. Then puts the most
  // frequent colour first (ties: the first to appear), as PaletteBuilder 'first' does.
  bool Build(const Rect& r, int off, int w, int h) {
    if (++stamp == 0) {
      std::memset(slotStamp, 0, sizeof slotStamp);
      stamp = 1;
    }
    size = 0;
    uint32_t prev = 0;
    int prevIdx = -1;
    // Pixels of the current run of `prev`, added to its count when the run ends: one add per
    // run, not a read-modify-write of count[] per pixel (a dependency chain through memory).
    uint32_t run = 0;
    uint32_t* __restrict to = px;
    for (int y = 0; y < h; y++) {
      const int row = off + y * r.stride;
      const uint32_t* __restrict from = r.px + row;
      std::memcpy(to, from, static_cast<size_t>(w) * sizeof(uint32_t));
      to += w;
      for (int x = 0; x < w; x++) {
        if (prevIdx >= 0) {
          const int end = FirstNotEqual(from, x, w, prev);
          run += static_cast<uint32_t>(end - x);
          x = end;
          if (x >= w) break;
          count[prevIdx] += run;
        }
        const uint32_t v = from[x];
        unsigned slot = (v * 0x9e3779b1u) >> 24;
        while (slotStamp[slot] == stamp && slotKey[slot] != v) slot = (slot + 1) & 255;
        int idx;
        if (slotStamp[slot] == stamp) {
          idx = slotIndex[slot];
        } else {
          if (size >= kMaxColours) return false;
          slotStamp[slot] = stamp;
          slotKey[slot] = v;
          slotIndex[slot] = static_cast<uint8_t>(size);
          colour[size] = v;
          count[size] = 0;
          first[size] = row + x;
          idx = size++;
        }
        run = 1;
        prev = v;
        prevIdx = idx;
      }
    }
    if (prevIdx >= 0) count[prevIdx] += run;
    int best = 0;
    for (int k = 1; k < size; k++)
      if (count[k] > count[best]) best = k;
    if (best != 0) {
      std::swap(colour[0], colour[best]);
      std::swap(count[0], count[best]);
      std::swap(first[0], first[best]);
    }
    return true;
  }
};

struct Encoder {
  Rect r;
  uint8_t* out;
  size_t outLen;
  bool hasBg = false, hasFg = false;
  uint32_t bg = 0, fg = 0;
  TilePalette palette;

  void PutPixel(size_t o, int pixelIndex) {
    std::memcpy(out + o, r.bytes + static_cast<size_t>(pixelIndex) * r.bpp, r.bpp);
  }

  size_t RawTile(int tx, int ty, int w, int h, size_t o) {
    out[o++] = kRaw;
    for (int y = 0; y < h; y++) {
      const size_t from = (static_cast<size_t>(ty + y) * r.stride + tx) * r.bpp;
      std::memcpy(out + o, r.bytes + from, static_cast<size_t>(w) * r.bpp);
      o += static_cast<size_t>(w) * r.bpp;
    }
    hasBg = hasFg = false;
    return o;
  }

  // Greedy cover of every non-background pixel (widest run from the first uncovered pixel,
  // grown down while rows match); returns the end offset, or 0 once over `limit` subrects.
  // Works on the tile copy Build() made (w pixels a row); a covered pixel is overwritten with
  // the background, which no subrect's colour equals, so "background or covered" is one test.
  // BPP is the client's bytes per pixel as a constant, so a subrect's colour is one fixed-size
  // copy, not a call to memcpy (a text tile writes dozens of subrects).
  template <int BPP>
  size_t Subrects(int off, int w, int h, uint32_t background, bool two, int limit, size_t o) {
    uint32_t* __restrict t = palette.px;
    uint8_t* __restrict dst = out;
    constexpr int bpp = BPP;
    int n = 0;
    for (int y = 0; y < h; y++) {
      const uint32_t* const rowStart = t + y * w;
      for (int x = 0;; x++) {
        // Skip background (and covered) pixels.
        x = FirstNotEqual(rowStart, x, w, background);
        if (x >= w) break;
        uint32_t* const at = t + y * w + x;
        const uint32_t c = *at;
        const int sw = FirstNotEqual(at, 1, w - x, c);
        int sh = 1;
        while (y + sh < h && FirstNotEqual(at + sh * w, 0, sw, c) == sw) sh++;
        for (int q = 0; q < sh; q++) std::fill_n(at + q * w, sw, background);
        if (++n > limit) return 0;
        if (!two) {
          std::memcpy(dst + o, r.bytes + static_cast<size_t>(off + y * r.stride + x) * bpp, bpp);
          o += bpp;
        }
        dst[o++] = static_cast<uint8_t>((x << 4) | y);
        dst[o++] = static_cast<uint8_t>(((sw - 1) << 4) | (sh - 1));
        x += sw - 1;  // now covered
      }
    }
    return o;
  }

  size_t Tile(int tx, int ty, int w, int h, size_t o) {
    const size_t rawSize = 1 + static_cast<size_t>(w) * h * r.bpp;
    // Every tile is at most its raw size (the subrect budget below keeps it so).
    if (o + rawSize > outLen) return SIZE_MAX;
    const int off = ty * r.stride + tx;
    if (!palette.Build(r, off, w, h)) return RawTile(tx, ty, w, h, o);
    const uint32_t background = palette.colour[0];
    const int colours = palette.size;
    uint8_t mask = 0;
    const size_t start = o++;
    if (!hasBg || bg != background) {
      mask |= kBackground;
      PutPixel(o, palette.first[0]);
      o += r.bpp;
    }
    if (colours == 1) {
      out[start] = mask;
      hasBg = true;
      bg = background;
      return o;
    }
    const bool two = colours == 2;
    const uint32_t foreground = two ? palette.colour[1] : 0;
    if (two && (!hasFg || fg != foreground)) {
      mask |= kForeground;
      PutPixel(o, palette.first[1]);
      o += r.bpp;
    }
    const int perSub = two ? 2 : 2 + r.bpp;
    const int64_t room = static_cast<int64_t>(rawSize) - static_cast<int64_t>(o - start) - 1;
    const int budget = static_cast<int>(std::min<int64_t>(room / perSub, 255));
    size_t end = 0;
    if (budget > 0) {
      if (r.bpp == 4)
        end = Subrects<4>(off, w, h, background, two, budget, o + 1);
      else if (r.bpp == 2)
        end = Subrects<2>(off, w, h, background, two, budget, o + 1);
      else
        end = Subrects<1>(off, w, h, background, two, budget, o + 1);
    }
    if (end == 0) return RawTile(tx, ty, w, h, start);
    out[o] = static_cast<uint8_t>((end - o - 1) / perSub);
    out[start] = mask | kAnySubrects | (two ? 0 : kColoured);
    hasBg = true;
    bg = background;
    hasFg = two;
    fg = foreground;
    return end;
  }
};

Napi::Value Hextile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 7) ThrowArgType(env, "hextile takes 7 arguments");
  if (!IsTypedArrayOf(info[0], napi_uint32_array))
    ThrowArgType(env, "values must be a Uint32Array");
  if (!IsTypedArrayOf(info[1], napi_uint8_array))
    ThrowArgType(env, "bytes must be a Uint8Array");
  if (!IsTypedArrayOf(info[5], napi_uint8_array))
    ThrowArgType(env, "out must be a Uint8Array");
  auto values = info[0].As<Napi::Uint32Array>();
  auto bytes = info[1].As<Napi::Uint8Array>();
  const int64_t width = RequireInteger(env, info[2], "width", 1, kMaxSide);
  const int64_t height = RequireInteger(env, info[3], "height", 1, kMaxSide);
  const int64_t bpp = RequireInteger(env, info[4], "bpp", 1, 4);
  auto out = info[5].As<Napi::Uint8Array>();
  const int64_t outOffset = RequireInteger(env, info[6], "outOffset", 0, static_cast<int64_t>(out.ByteLength()));
  if (bpp == 3) ThrowOutOfRange(env, "bpp must be 1, 2 or 4");
  const int64_t pixels = width * height;
  if (static_cast<int64_t>(values.ElementLength()) < pixels || static_cast<int64_t>(bytes.ByteLength()) < pixels * bpp) {
    ThrowOutOfRange(env, "a " + std::to_string(width) + "x" + std::to_string(height) + " rect needs " +
                             std::to_string(pixels) + " values and " + std::to_string(pixels * bpp) +
                             " bytes; got " + std::to_string(values.ElementLength()) + " and " +
                             std::to_string(bytes.ByteLength()));
  }
  Encoder e;
  e.r = Rect{values.Data(), bytes.Data(), static_cast<int>(width), static_cast<int>(bpp)};
  e.out = out.Data();
  e.outLen = out.ByteLength();
  size_t o = static_cast<size_t>(outOffset);
  for (int ty = 0; ty < height; ty += kTile) {
    for (int tx = 0; tx < width; tx += kTile) {
      const int w = std::min<int>(kTile, static_cast<int>(width) - tx);
      const int h = std::min<int>(kTile, static_cast<int>(height) - ty);
      o = e.Tile(tx, ty, w, h, o);
      if (o == SIZE_MAX) {
        ThrowOutOfRange(env, "out has " + std::to_string(out.ByteLength()) + " bytes: too few for the tile at " +
                                 std::to_string(tx) + "," + std::to_string(ty));
      }
    }
  }
  return Napi::Number::New(env, static_cast<double>(o));
}

}  // namespace

void InitHextile(Napi::Env env, Napi::Object exports) {
  exports.Set("hextile", Napi::Function::New<Hextile>(env, "hextile"));
}

}  // namespace xenvfb
