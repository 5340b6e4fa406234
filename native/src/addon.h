// Per-environment state (one per main thread / worker that loads the addon).
#pragma once

#include <napi.h>

#include <memory>

namespace xenvfb {

struct AddonData {
  Napi::FunctionReference mappingConstructor;
  // This environment's JpegCompressor (jpeg.h), made on first use (jpeg.cc).
  void* jpegCompressor = nullptr;
  // The JPEG pool (jpeg-pool.cc), shared with the jobs still holding it; made on first use.
  std::shared_ptr<void> jpegPool;
  Napi::FunctionReference jpegJobConstructor;
  AddonData() = default;
  AddonData(const AddonData&) = delete;
  AddonData& operator=(const AddonData&) = delete;
  ~AddonData();
};

}  // namespace xenvfb
