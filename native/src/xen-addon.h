// The real-Xen part of the addon's exports: Privcmd, Gntdev, Gntalloc, Evtchn classes and
// the xenLayout() self-check of the ABI structs (xen-abi.h).
#pragma once

#include <napi.h>

namespace xenvfb {

void InitXen(Napi::Env env, Napi::Object exports);

}  // namespace xenvfb
