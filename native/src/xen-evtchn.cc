// Event channels the way libxenevtchn uses the device (tools/libs/evtchn/linux.c): ioctls
// to bind/notify/unbind; read() yields u32 numbers of fired ports, each masked until its
// number is write()n back. Reads happen when libuv reports the fd readable, so JS never
// blocks and no thread sits in read().
#include "xen-evtchn.h"

#include <errno.h>
#include <fcntl.h>
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

void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
  auto* poll = static_cast<EvtchnPoll*>(handle->data);
  if (poll->owner != nullptr) poll->owner->OnReadable(status);
}

// Runs on a later loop turn. At env teardown Node keeps the addon loaded until the hook
// is removed, so this code is still there to run.
void FreePoll(uv_handle_t* handle) {
  auto* poll = static_cast<EvtchnPoll*>(handle->data);
  napi_async_cleanup_hook_handle teardown = poll->teardown;
  delete poll;
  if (teardown != nullptr) napi_remove_async_cleanup_hook(teardown);
}

napi_value ErrnoValue(Napi::Env env, const char* syscall, int err, const std::string& detail,
                      const char* path) {
  try {
    ThrowErrno(env, syscall, err, detail, path);
  } catch (Napi::Error& e) {
    return e.Value();
  }
}

uint32_t RequirePort(Napi::Env env, const Napi::Value& value, const char* what) {
  return static_cast<uint32_t>(RequireInteger(env, value, what, 0, kU32Max));
}

}  // namespace

Napi::Function Evtchn::DefineClass(Napi::Env env) {
  return ObjectWrap<Evtchn>::DefineClass(
      env, "Evtchn",
      {
          InstanceMethod<&Evtchn::BindInterdomain>("bindInterdomain"),
          InstanceMethod<&Evtchn::BindUnboundPort>("bindUnboundPort"),
          InstanceMethod<&Evtchn::Unbind>("unbind"),
          InstanceMethod<&Evtchn::Notify>("notify"),
          InstanceMethod<&Evtchn::Unmask>("unmask"),
          InstanceMethod<&Evtchn::Reset>("reset"),
          InstanceMethod<&Evtchn::Resume>("resume"),
          InstanceMethod<&Evtchn::RefLoop>("ref"),
          InstanceMethod<&Evtchn::UnrefLoop>("unref"),
          InstanceMethod<&Evtchn::Close>("close"),
          InstanceAccessor<&Evtchn::GetClosed>("closed"),
      });
}

Evtchn::Evtchn(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Evtchn>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) ThrowArgType(env, "onEvents must be a function");
  onEvents_ = Napi::Persistent(info[0].As<Napi::Function>());
  context_ = std::make_unique<Napi::AsyncContext>(env, "xenvfb:evtchn");
  fd_ = OpenDevice(env, DevicePath(env, info[1], kEvtchnPath), O_NONBLOCK);

  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    fd_.reset();
    throw Napi::Error::New(env, "napi_get_uv_event_loop failed");
  }
  auto poll = std::make_unique<EvtchnPoll>();
  const std::string path = fd_->path();
  int rc = uv_poll_init(loop, &poll->handle, fd_->fd());
  if (rc != 0) {
    fd_.reset();  // the handle was not initialised, so it needs no uv_close
    ThrowErrno(env, "uv_poll_init", -rc, path, path.c_str());
  }
  poll->owner = this;
  poll->handle.data = poll.get();
  poll_ = poll.release();
  rc = uv_poll_start(&poll_->handle, UV_READABLE, OnPoll);
  if (rc != 0) {
    Shutdown();
    ThrowErrno(env, "uv_poll_start", -rc, path, path.c_str());
  }
  polling_ = true;
  // An open handle is like a socket: it stays alive (and keeps the loop alive) until close().
  Ref();
  selfRef_ = true;
  // A worker may end with the handle open: close it then, before the loop and the addon go.
  if (napi_add_async_cleanup_hook(env_, AsyncCleanupHook, this, &cleanupHook_) != napi_ok) {
    cleanupHook_ = nullptr;
  }
}

// Only reached with the poll still open if the env's cleanup hook could not be added.
Evtchn::~Evtchn() { Shutdown(); }

void Evtchn::AsyncCleanupHook(napi_async_cleanup_hook_handle handle, void* self) {
  auto* evtchn = static_cast<Evtchn*>(self);
  evtchn->cleanupHook_ = nullptr;  // removed by FreePoll, once the handle is closed
  evtchn->Shutdown(handle);
}

void Evtchn::Shutdown(napi_async_cleanup_hook_handle teardown) {
  if (poll_ == nullptr) return;
  if (cleanupHook_ != nullptr) {
    napi_remove_async_cleanup_hook(cleanupHook_);
    cleanupHook_ = nullptr;
  }
  // libuv wants the poll stopped before its fd is closed.
  uv_poll_stop(&poll_->handle);
  poll_->owner = nullptr;
  poll_->teardown = teardown;
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_->handle), FreePoll);
  poll_ = nullptr;
  polling_ = false;
  fd_.reset();  // unbinds every port bound through it (evtchn_release)
}

void Evtchn::OnReadable(int status) {
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  std::vector<uint32_t> ports;
  int failure = 0;
  if (status < 0) {
    // libuv reports POLLERR as UV_EBADF and has stopped the handle; read() says why
    // (EFBIG: the kernel's ring overflowed and ports were lost).
    polling_ = false;
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
  if (failure != 0 && polling_) {
    uv_poll_stop(&poll_->handle);
    polling_ = false;
  }
  if (!ports.empty()) Deliver(env, nullptr, ports.data(), ports.size());
  if (failure != 0 && poll_ != nullptr) {
    Deliver(env,
            ErrnoValue(env, "read", failure, "pending ports; polling stopped until reset() and resume()",
                       fd_->path()),
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
  try {
    onEvents_.MakeCallback(Value(), {errorArg, portsArg}, *context_);
  } catch (Napi::Error& e) {
    // Nobody up the stack to catch it: make it an uncaught exception, as an 'error'
    // thrown from a socket callback would be.
    napi_fatal_exception(env, e.Value());
  }
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
  if (!polling_) {
    const int rc = uv_poll_start(&poll_->handle, UV_READABLE, OnPoll);
    if (rc != 0) ThrowErrno(env, "uv_poll_start", -rc, "", fd_->path());
    polling_ = true;
  }
  return env.Undefined();
}

Napi::Value Evtchn::RefLoop(const Napi::CallbackInfo& info) {
  if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&poll_->handle));
  return info.Env().Undefined();
}

Napi::Value Evtchn::UnrefLoop(const Napi::CallbackInfo& info) {
  if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&poll_->handle));
  return info.Env().Undefined();
}

Napi::Value Evtchn::Close(const Napi::CallbackInfo& info) {
  Shutdown();
  if (selfRef_) {
    selfRef_ = false;
    Unref();
  }
  return info.Env().Undefined();
}

Napi::Value Evtchn::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), poll_ == nullptr);
}

}  // namespace xen
}  // namespace xenvfb
