// /dev/xen/evtchn: bind, notify and unbind event channel ports; fired ports arrive on the
// Node event loop through a libuv poll handle on the (non-blocking) device fd.
#pragma once

#include <napi.h>

#include "xen-polled-device.h"

namespace xenvfb {
namespace xen {

// new Evtchn(onEvents): opens /dev/xen/evtchn (O_NONBLOCK) and starts polling it.
// onEvents(null, ports) for fired ports (each stays masked until unmask(port));
// onEvents(error) when reading fails (EFBIG: ring overflow; polling stops until
// reset() + resume()).
class Evtchn : public PolledDevice<Evtchn> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit Evtchn(const Napi::CallbackInfo& info);

 private:
  void OnReadable(int status) override;

  Napi::Value BindInterdomain(const Napi::CallbackInfo& info);
  Napi::Value BindUnboundPort(const Napi::CallbackInfo& info);
  Napi::Value Unbind(const Napi::CallbackInfo& info);
  Napi::Value Notify(const Napi::CallbackInfo& info);
  Napi::Value Unmask(const Napi::CallbackInfo& info);
  Napi::Value Reset(const Napi::CallbackInfo& info);
  Napi::Value Resume(const Napi::CallbackInfo& info);

  int PortIoctl(Napi::Env env, unsigned long request, void* arg, const char* what);
  void Deliver(Napi::Env env, napi_value error, const uint32_t* ports, size_t count);
};

}  // namespace xen
}  // namespace xenvfb
