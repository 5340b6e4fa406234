// classify.solidWords(words, stride, x, y, width, height, mask) -> boolean
// classify.sampleWords(words, stride, x, y, width, height, mask, step, limit, cLog2c, out) -> undefined
//
//   words:  Uint32Array, the surface as little-endian 32-bit pixels; stride in words;
//   mask:   the colour bits (padding bits ignored);
//   step:   sample every step-th row, and every step-th pixel of it, odd sample rows starting
//           half a step in; at most `limit` samples in all;
//   cLog2c: Float64Array, c * log2(c) for every count the histogram can hold (classify.ts's
//           table, so the sums are the same doubles);
//   out:    Float64Array(3) <- [samples, distinct colours, sum of cLog2c over the colours in
//           order of first appearance].
// The rect is checked against the words before anything is read.
#include "classify.h"

#include "args.h"
#include "errors.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace xenvfb {

namespace {

constexpr unsigned kBits = 14;
constexpr unsigned kSlots = 1u << kBits;

struct Rect {
  const uint32_t* px;
  size_t stride;
  size_t x, y, width, height;
};

Rect RequireRect(Napi::Env env, const Napi::CallbackInfo& info) {
  if (!IsTypedArrayOf(info[0], napi_uint32_array)) ThrowArgType(env, "words must be a Uint32Array");
  auto words = info[0].As<Napi::Uint32Array>();
  Rect r{};
  r.px = words.Data();
  r.stride = static_cast<size_t>(RequireInteger(env, info[1], "stride", 1, kMaxSafeInteger));
  r.x = static_cast<size_t>(RequireInteger(env, info[2], "x", 0, 65535));
  r.y = static_cast<size_t>(RequireInteger(env, info[3], "y", 0, 65535));
  r.width = static_cast<size_t>(RequireInteger(env, info[4], "width", 1, 65535));
  r.height = static_cast<size_t>(RequireInteger(env, info[5], "height", 1, 65535));
  if (r.x + r.width > r.stride) ThrowOutOfRange(env, "the rect is wider than a row");
  const size_t end = (r.y + r.height - 1) * r.stride + r.x + r.width;
  if (end > words.ElementLength()) {
    ThrowOutOfRange(env, "the rect ends at word " + std::to_string(end) + ", the view has " +
                             std::to_string(words.ElementLength()));
  }
  return r;
}

uint32_t RequireMask(Napi::Env env, const Napi::Value& v) {
  return static_cast<uint32_t>(RequireInteger(env, v, "mask", 0, UINT32_MAX));
}

Napi::Value SolidWords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 7) ThrowArgType(env, "solidWords takes 7 arguments");
  const Rect r = RequireRect(env, info);
  const uint32_t mask = RequireMask(env, info[6]);
  const uint32_t first = r.px[r.y * r.stride + r.x] & mask;
  for (size_t y = r.y; y < r.y + r.height; y++) {
    const uint32_t* row = r.px + y * r.stride + r.x;
    for (size_t i = 0; i < r.width; i++) {
      if ((row[i] & mask) != first) return Napi::Boolean::New(env, false);
    }
  }
  return Napi::Boolean::New(env, true);
}

// One rect's histogram: open addressing with generation stamps (nothing cleared between
// rects), and the colours in order of first appearance for the entropy sum.
struct Histogram {
  uint32_t keys[kSlots];
  uint32_t counts[kSlots];
  uint32_t stamps[kSlots] = {};
  uint32_t order[kSlots];
  uint32_t generation = 0;
  uint32_t size = 0;

  void Reset() {
    size = 0;
    if (++generation == 0) {
      std::fill(stamps, stamps + kSlots, 0u);
      generation = 1;
    }
  }

  void Add(uint32_t v) {
    uint32_t i = (v * 0x9e3779b1u) >> (32 - kBits);
    for (;;) {
      if (stamps[i] != generation) {
        stamps[i] = generation;
        keys[i] = v;
        counts[i] = 1;
        order[size++] = i;
        return;
      }
      if (keys[i] == v) {
        counts[i]++;
        return;
      }
      i = (i + 1) & (kSlots - 1);
    }
  }
};

Napi::Value SampleWords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 11) ThrowArgType(env, "sampleWords takes 11 arguments");
  const Rect r = RequireRect(env, info);
  const uint32_t mask = RequireMask(env, info[6]);
  const size_t step = static_cast<size_t>(RequireInteger(env, info[7], "step", 1, 65535));
  const size_t limit = static_cast<size_t>(RequireInteger(env, info[8], "limit", 1, kSlots / 2));
  if (!IsTypedArrayOf(info[9], napi_float64_array)) ThrowArgType(env, "cLog2c must be a Float64Array");
  auto table = info[9].As<Napi::Float64Array>();
  if (table.ElementLength() <= limit) ThrowOutOfRange(env, "cLog2c must cover every count up to limit");
  if (!IsTypedArrayOf(info[10], napi_float64_array)) ThrowArgType(env, "out must be a Float64Array");
  auto out = info[10].As<Napi::Float64Array>();
  if (out.ElementLength() < 3) ThrowOutOfRange(env, "out must hold 3 numbers");

  // One table per thread (encode workers are threads): a few hundred KB, reused.
  static thread_local std::vector<Histogram> holder(1);
  Histogram& h = holder[0];
  h.Reset();
  size_t n = 0;
  const size_t end = r.x + r.width;
  for (size_t y = r.y; y < r.y + r.height && n < limit; y += step) {
    const size_t x0 = r.x + ((((y - r.y) / step) & 1) ? step >> 1 : 0);
    const uint32_t* row = r.px + y * r.stride;
    for (size_t x = x0; x < end && n < limit; x += step, n++) h.Add(row[x] & mask);
  }
  double sum = 0;
  const double* c = table.Data();
  for (uint32_t k = 0; k < h.size; k++) sum += c[h.counts[h.order[k]]];
  out[0] = static_cast<double>(n);
  out[1] = static_cast<double>(h.size);
  out[2] = sum;
  return env.Undefined();
}

}  // namespace

void InitClassify(Napi::Env env, Napi::Object exports) {
  Napi::Object classify = Napi::Object::New(env);
  classify.Set("solidWords", Napi::Function::New<SolidWords>(env, "solidWords"));
  classify.Set("sampleWords", Napi::Function::New<SampleWords>(env, "sampleWords"));
  exports.Set("classify", classify);
}

}  // namespace xenvfb
