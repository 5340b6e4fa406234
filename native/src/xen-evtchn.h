// /dev/xen/evtchn: bind, notify and unbind event channel ports; fired ports arrive on the
// Node event loop through a libuv poll handle on the (non-blocking) device fd.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>

#include "fd-poll.h"
#include "xen-device.h"

namespace xenvfb {
namespace xen {

// new Evtchn(onEvents): opens /dev/xen/evtchn (O_NONBLOCK) and starts polling it.
// onEvents(null, ports) for fired ports (each stays masked until unmask(port));
// onEvents(error) when reading fails (EFBIG: ring overflow; polling stops until
// reset() + resume()).
class Evtchn : public Napi::ObjectWrap<Evtchn>, private FdPollOwner {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit Evtchn(const Napi::CallbackInfo& info);
  ~Evtchn() override;

 private:
  void OnReadable(int status) override;
  void OnEnvTeardown(napi_async_cleanup_hook_handle handle) override;

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
  // Stops polling and closes the fd; no JS. `teardown`: see FdPoll::Close.
  void Shutdown(napi_async_cleanup_hook_handle teardown = nullptr);

  napi_env env_;
  std::shared_ptr<DeviceFd> fd_;
  FdPoll poll_;
  bool selfRef_ = false;
  Napi::FunctionReference onEvents_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace xen
}  // namespace xenvfb
