// POSIX shared memory objects: the simulator's stand-in for a domain's memory.
#pragma once

#include <napi.h>

namespace xenvfb {

// shmOpen(name, { create, exclusive, size, readonly }) -> fd
Napi::Value ShmOpen(const Napi::CallbackInfo& info);

// shmUnlink(name)
Napi::Value ShmUnlink(const Napi::CallbackInfo& info);

}  // namespace xenvfb
