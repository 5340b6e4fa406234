// /dev/xen/xenbus: xenstore through the guest kernel (drivers/xen/xenbus/
// xenbus_dev_frontend.c), for domains without a xenstored socket. Each write() must carry
// one whole message (header + payload, at most 4096 bytes); replies and watch events come
// back as a byte stream. The fd is O_NONBLOCK and read only when libuv reports it readable
// (fd-poll.h): a blocking read would hold a thread-pool thread per connection, and closing
// the fd does not end it.
#pragma once

#include <napi.h>

#include <memory>

#include "fd-poll.h"
#include "xen-device.h"

namespace xenvfb {
namespace xen {

// new XenbusDev(onData, path?): opens the device and starts polling it.
// onData(null, bytes) for each drained batch of the reply stream; onData(null, null) at
// end of file; onData(error) when reading fails (polling stops). write(bytes) sends one
// message; close() ends the connection (the kernel drops its watches and transactions).
class XenbusDev : public Napi::ObjectWrap<XenbusDev>, private FdPollOwner {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit XenbusDev(const Napi::CallbackInfo& info);
  ~XenbusDev() override;

 private:
  void OnReadable(int status) override;
  void OnEnvTeardown(napi_async_cleanup_hook_handle handle) override;

  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value RefLoop(const Napi::CallbackInfo& info);
  Napi::Value UnrefLoop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);

  void Deliver(Napi::Env env, Napi::Value error, Napi::Value bytes);
  void Shutdown(napi_async_cleanup_hook_handle teardown = nullptr);

  napi_env env_;
  std::shared_ptr<DeviceFd> fd_;
  FdPoll poll_;
  bool selfRef_ = false;
  Napi::FunctionReference onData_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace xen
}  // namespace xenvfb
