// Giving memory back to the system when a backend goes idle (V8's LowMemoryNotification).
#pragma once

#include <napi.h>

namespace xenvfb {

// exports.lowMemoryNotification(): on the calling (JS) thread, V8 collects all the garbage it
// can, compacting, and returns unused heap pages to the system. Synchronous; tens of ms on a
// backend's heap. The one V8 call of the addon (N-API has no equivalent).
void InitHeap(Napi::Env env, Napi::Object exports);

}  // namespace xenvfb
