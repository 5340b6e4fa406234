// See heap.h. Node's own headers ship v8.h; the isolate is the one running the caller.
#include "heap.h"

#include <v8.h>

namespace xenvfb {

namespace {

Napi::Value LowMemoryNotification(const Napi::CallbackInfo& info) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
  return info.Env().Undefined();
}

}  // namespace

void InitHeap(Napi::Env env, Napi::Object exports) {
  exports.Set("lowMemoryNotification", Napi::Function::New<LowMemoryNotification>(env, "lowMemoryNotification"));
}

}  // namespace xenvfb
