// Grant tables from user space: gntdev maps pages other domains granted to us; gntalloc
// grants pages of ours to another domain.
#pragma once

#include <napi.h>

#include <memory>

#include "xen-device.h"

namespace xenvfb {
namespace xen {

// gntdev's default per-file limit (drivers/xen/gntdev.c `limit` = 64K grants); also the
// most pages one gntalloc share may ask for (gntalloc's own `limit` defaults to 1024).
constexpr size_t kMaxGrantsPerCall = 65536;

// new Gntdev(): opens /dev/xen/gntdev.
// mapGrants(domid, refs, writable, notify?) -> NativeMapping; close().
class Gntdev : public Napi::ObjectWrap<Gntdev> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit Gntdev(const Napi::CallbackInfo& info);

 private:
  Napi::Value MapGrants(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);

  std::shared_ptr<DeviceFd> fd_;
};

// new Gntalloc(): opens /dev/xen/gntalloc.
// share(domid, count, writable, notify?) -> { refs, mapping }; close().
class Gntalloc : public Napi::ObjectWrap<Gntalloc> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit Gntalloc(const Napi::CallbackInfo& info);

 private:
  Napi::Value Share(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);

  std::shared_ptr<DeviceFd> fd_;
};

}  // namespace xen
}  // namespace xenvfb
