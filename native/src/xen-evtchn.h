// /dev/xen/evtchn: bind, notify and unbind event channel ports; fired ports arrive on the
// Node event loop through a libuv poll handle on the (non-blocking) device fd.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>

#include "xen-device.h"

namespace xenvfb {
namespace xen {

class Evtchn;

// Owned by libuv from uv_close() until its close callback frees it.
struct EvtchnPoll {
  uv_poll_t handle;
  Evtchn* owner = nullptr;  // null once the Evtchn closed
  // Set when closed by env teardown: Node waits for its removal before unloading us.
  napi_async_cleanup_hook_handle teardown = nullptr;
};

// new Evtchn(onEvents): opens /dev/xen/evtchn (O_NONBLOCK) and starts polling it.
// onEvents(null, ports) for fired ports (each stays masked until unmask(port));
// onEvents(error) when reading fails (EFBIG: ring overflow; polling stops until
// reset() + resume()).
class Evtchn : public Napi::ObjectWrap<Evtchn> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit Evtchn(const Napi::CallbackInfo& info);
  ~Evtchn() override;

  void OnReadable(int status);

 private:
  Napi::Value BindInterdomain(const Napi::CallbackInfo& info);
  Napi::Value BindUnboundPort(const Napi::CallbackInfo& info);
  Napi::Value Unbind(const Napi::CallbackInfo& info);
  Napi::Value Notify(const Napi::CallbackInfo& info);
  Napi::Value Unmask(const Napi::CallbackInfo& info);
  Napi::Value Reset(const Napi::CallbackInfo& info);
  Napi::Value Resume(const Napi::CallbackInfo& info);
  Napi::Value RefLoop(const Napi::CallbackInfo& info);
  Napi::Value UnrefLoop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);

  int PortIoctl(Napi::Env env, unsigned long request, void* arg, const char* what);
  void Deliver(Napi::Env env, napi_value error, const uint32_t* ports, size_t count);
  // Stops polling and closes the fd; no JS. `teardown`: the env's async cleanup hook,
  // whose removal the close callback signals.
  void Shutdown(napi_async_cleanup_hook_handle teardown = nullptr);
  static void AsyncCleanupHook(napi_async_cleanup_hook_handle handle, void* self);

  napi_env env_;
  std::shared_ptr<DeviceFd> fd_;
  EvtchnPoll* poll_ = nullptr;
  bool polling_ = false;
  bool selfRef_ = false;
  napi_async_cleanup_hook_handle cleanupHook_ = nullptr;
  Napi::FunctionReference onEvents_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace xen
}  // namespace xenvfb
