// Event channels the way libxenevtchn uses the device (tools/libs/evtchn/linux.c): ioctls
// to bind/notify/unbind; read() yields u32 numbers of fired ports, each masked until its
// number is write()n back. Reads happen when libuv reports the fd readable (fd-poll.h).
#include "xen-evtchn.h"

#include <errno.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "xen-abi.h"

namespace xenvfb {
namespace xen {

namespace {

// Ports read per read() call; a ready fd is drained in a loop of these.
constexpr size_t kReadBatch = 256;

uint32_t RequirePort(Napi::Env env, const Napi::Value& value, const char* what) {
  return static_cast<uint32_t>(RequireInteger(env, value, what, 0, kU32Max));
}

}  // namespace

Napi::Function Evtchn::DefineClass(Napi::Env env) {
  return ObjectWrap<Evtchn>::DefineClass(env, "Evtchn",
                                         WithCommon({
                                             InstanceMethod<&Evtchn::BindInterdomain>("bindInterdomain"),
                                             InstanceMethod<&Evtchn::BindUnboundPort>("bindUnboundPort"),
                                             InstanceMethod<&Evtchn::Unbind>("unbind"),
                                             InstanceMethod<&Evtchn::Notify>("notify"),
                                             InstanceMethod<&Evtchn::Unmask>("unmask"),
                                             InstanceMethod<&Evtchn::Reset>("reset"),
                                             InstanceMethod<&Evtchn::Resume>("resume"),
                                         }));
}

// Closing the fd unbinds every port bound through it (evtchn_release).
Evtchn::Evtchn(const Napi::CallbackInfo& info) : PolledDevice(info, "onEvents", "xenvfb:evtchn", kEvtchnPath) {}

void Evtchn::OnReadable(int status) {
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  std::vector<uint32_t> ports;
  int failure = 0;
  if (status < 0) {
    // libuv reports POLLERR as UV_EBADF and has stopped the handle; read() says why
    // (EFBIG: the kernel's ring overflowed and ports were lost).
    poll_.Pause();
    uint32_t port;
    const ssize_t n = read(fd_->fd(), &port, sizeof port);
    failure = n < 0 && errno != EAGAIN ? errno : EIO;
  }
  while (failure == 0) {
    uint32_t buf[kReadBatch];
    const ssize_t n = read(fd_->fd(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) failure = errno;
      break;
    }
    ports.insert(ports.end(), buf, buf + n / sizeof(uint32_t));
    if (static_cast<size_t>(n) < sizeof buf) break;
  }
  if (failure != 0) poll_.Pause();
  if (!ports.empty()) Deliver(env, nullptr, ports.data(), ports.size());
  if (failure != 0 && poll_.open()) {
    Deliver(env,
            ErrnoError(env, "read", failure, "pending ports; polling stopped until reset() and resume()",
                       fd_->path())
                .Value(),
            nullptr, 0);
  }
}

void Evtchn::Deliver(Napi::Env env, napi_value error, const uint32_t* ports, size_t count) {
  Napi::Value errorArg = error != nullptr ? Napi::Value(env, error) : env.Null();
  Napi::Value portsArg = env.Null();
  if (error == nullptr) {
    Napi::Array list = Napi::Array::New(env, count);
    for (size_t k = 0; k < count; k++) list.Set(static_cast<uint32_t>(k), Napi::Number::New(env, ports[k]));
    portsArg = list;
  }
  CallListener(env, {errorArg, portsArg});
}

int Evtchn::PortIoctl(Napi::Env env, unsigned long request, void* arg, const char* what) {
  const DeviceFd& device = *RequireOpen(env, fd_, "ioctl");
  const int rc = Ioctl(device.fd(), request, arg);
  if (rc < 0) {
    const int err = errno;
    ThrowErrno(env, "ioctl", err, what, device.path());
  }
  return rc;
}

// bindInterdomain(remoteDomid, remotePort) -> local port
Napi::Value Evtchn::BindInterdomain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EvtchnBindInterdomain op{};
  op.remote_domain = RequireDomid(env, info[0], "remoteDomid", true);
  op.remote_port = RequirePort(env, info[1], "remotePort");
  const std::string what = "IOCTL_EVTCHN_BIND_INTERDOMAIN d" + std::to_string(op.remote_domain) +
                           " port " + std::to_string(op.remote_port);
  return Napi::Number::New(env, PortIoctl(env, kIoctlEvtchnBindInterdomain, &op, what.c_str()));
}

// bindUnboundPort(remoteDomid) -> new local port the remote domain may bind
Napi::Value Evtchn::BindUnboundPort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EvtchnBindUnboundPort op{};
  op.remote_domain = RequireDomid(env, info[0], "remoteDomid", true);
  const std::string what = "IOCTL_EVTCHN_BIND_UNBOUND_PORT for d" + std::to_string(op.remote_domain);
  return Napi::Number::New(env, PortIoctl(env, kIoctlEvtchnBindUnboundPort, &op, what.c_str()));
}

Napi::Value Evtchn::Unbind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EvtchnPort op{RequirePort(env, info[0], "port")};
  PortIoctl(env, kIoctlEvtchnUnbind, &op, ("IOCTL_EVTCHN_UNBIND port " + std::to_string(op.port)).c_str());
  return env.Undefined();
}

Napi::Value Evtchn::Notify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EvtchnPort op{RequirePort(env, info[0], "port")};
  PortIoctl(env, kIoctlEvtchnNotify, &op, ("IOCTL_EVTCHN_NOTIFY port " + std::to_string(op.port)).c_str());
  return env.Undefined();
}

// unmask(port): write the port number back, so it can fire again.
Napi::Value Evtchn::Unmask(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t port = RequirePort(env, info[0], "port");
  const DeviceFd& device = *RequireOpen(env, fd_, "write");
  ssize_t n;
  do {
    n = write(device.fd(), &port, sizeof port);
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  if (n < 0) ThrowErrno(env, "write", err, "unmask port " + std::to_string(port), device.path());
  return env.Undefined();
}

// reset(): empty the kernel's pending ring and clear its overflow (IOCTL_EVTCHN_RESET).
Napi::Value Evtchn::Reset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PortIoctl(env, kIoctlEvtchnReset, nullptr, "IOCTL_EVTCHN_RESET");
  return env.Undefined();
}

// resume(): poll again after a read error stopped it.
Napi::Value Evtchn::Resume(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, fd_, "uv_poll_start");
  poll_.Resume(env, fd_->path());
  return env.Undefined();
}

}  // namespace xen
}  // namespace xenvfb
