// /dev/xen/xenbus: xenstore through the guest kernel (drivers/xen/xenbus/
// xenbus_dev_frontend.c), for domains without a xenstored socket. Each write() must carry
// one whole message (header + payload, at most 4096 bytes); replies and watch events come
// back as a byte stream. The fd is O_NONBLOCK and read only when libuv reports it readable
// (fd-poll.h): a blocking read would hold a thread-pool thread per connection, and closing
// the fd does not end it.
#pragma once

#include <napi.h>

#include "xen-polled-device.h"

namespace xenvfb {
namespace xen {

// new XenbusDev(onData, path?): opens the device and starts polling it.
// onData(null, bytes) for each drained batch of the reply stream; onData(null, null) at
// end of file; onData(error) when reading fails (polling stops). write(bytes) sends one
// message; close() ends the connection (the kernel drops its watches and transactions).
class XenbusDev : public PolledDevice<XenbusDev> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit XenbusDev(const Napi::CallbackInfo& info);

 private:
  void OnReadable(int status) override;
  Napi::Value Write(const Napi::CallbackInfo& info);
};

}  // namespace xen
}  // namespace xenvfb
