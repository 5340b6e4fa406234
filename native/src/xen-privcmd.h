// /dev/xen/privcmd: map frames of another domain (needs a privileged domain, e.g. dom0).
#pragma once

#include <napi.h>

#include <memory>

#include "xen-device.h"

namespace xenvfb {
namespace xen {

// new Privcmd(): opens /dev/xen/privcmd.
// mapForeign(domid, frames, writable) -> NativeMapping; close().
class Privcmd : public Napi::ObjectWrap<Privcmd> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit Privcmd(const Napi::CallbackInfo& info);

 private:
  Napi::Value MapForeign(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);

  std::shared_ptr<DeviceFd> fd_;
};

}  // namespace xen
}  // namespace xenvfb
