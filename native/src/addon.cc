// xenvfb_native: the few system calls Node lacks (shm_open, mmap with MAP_FIXED) that the
// simulator needs to share page-granular memory between processes, and the ioctls of the
// real /dev/xen devices (xen-*.cc), and JPEG through libjpeg-turbo when the build found it
// (jpeg.cc). See ../README.md.
#include <napi.h>

#include "addon.h"
#include "classify.h"
#include "deflate.h"
#include "gradient.h"
#include "heap.h"
#include "hextile.h"
#include "jpeg.h"
#include "mapping.h"
#include "palette.h"
#include "sched.h"
#include "shm.h"
#include "unix-socket.h"
#include "xen-addon.h"
#include "zrle.h"

namespace xenvfb {

AddonData::~AddonData() { DestroyJpegCompressor(jpegCompressor); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->mappingConstructor = Napi::Persistent(Mapping::DefineClass(env));
  env.SetInstanceData<AddonData>(data);

  exports.Set("PAGE_SIZE", Napi::Number::New(env, static_cast<double>(PageSize())));
  exports.Set("MAX_MAP_PAGES", Napi::Number::New(env, static_cast<double>(kMaxMapPages)));
  exports.Set("shmOpen", Napi::Function::New<ShmOpen>(env, "shmOpen"));
  exports.Set("shmUnlink", Napi::Function::New<ShmUnlink>(env, "shmUnlink"));
  exports.Set("mapFd", Napi::Function::New<MapFd>(env, "mapFd"));
  exports.Set("mapPages", Napi::Function::New<MapPages>(env, "mapPages"));
  InitXen(env, exports);
  InitJpeg(env, exports);
  InitHextile(env, exports);
  InitPalette(env, exports);
  InitZrle(env, exports);
  InitDeflate(env, exports);
  InitGradient(env, exports);
  InitClassify(env, exports);
  InitHeap(env, exports);
  InitSched(env, exports);
  InitUnixSocket(env, exports);
  return exports;
}

}  // namespace xenvfb

// NODE_API_MODULE pastes the name into an identifier, so it needs an unqualified one.
static Napi::Object InitXenvfbNative(Napi::Env env, Napi::Object exports) {
  return xenvfb::Init(env, exports);
}

NODE_API_MODULE(xenvfb_native, InitXenvfbNative)
