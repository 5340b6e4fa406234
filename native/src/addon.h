// Per-environment state (one per main thread / worker that loads the addon).
#pragma once

#include <napi.h>

namespace xenvfb {

struct AddonData {
  Napi::FunctionReference mappingConstructor;
};

}  // namespace xenvfb
