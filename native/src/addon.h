// Per-environment state (one per main thread / worker that loads the addon).
#pragma once

#include <napi.h>

namespace xenvfb {

struct AddonData {
  Napi::FunctionReference mappingConstructor;
  // This environment's TurboJPEG compressor (a tjhandle), made on first use (jpeg.cc).
  void* jpegCompressor = nullptr;
  AddonData() = default;
  AddonData(const AddonData&) = delete;
  AddonData& operator=(const AddonData&) = delete;
  ~AddonData();
};

}  // namespace xenvfb
