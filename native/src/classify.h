// Per-rect content sampling for the display core's classifier, the native twin of the
// 32-bit-word paths of backend/updates/classify.ts: the same solid test and the same sampled
// colour histogram, so analyseRect gives the same class, colour count and entropy
// (test/unit/updates/classify-twins.test.ts).
#pragma once

#include <napi.h>

namespace xenvfb {

// Adds `classify`: { solidWords, sampleWords } (see classify.cc).
void InitClassify(Napi::Env env, Napi::Object exports);

}  // namespace xenvfb
