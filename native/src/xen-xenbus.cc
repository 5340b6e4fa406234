#include "xen-xenbus.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "errors.h"
#include "xen-abi.h"

namespace xenvfb {
namespace xen {

namespace {

// Reads per readable callback: a burst of watch events is handed over in batches of at most
// this many pages, and the (level-triggered) poll comes back for the rest.
constexpr int kReadsPerWakeup = 16;

}  // namespace

Napi::Function XenbusDev::DefineClass(Napi::Env env) {
  return ObjectWrap<XenbusDev>::DefineClass(env, "XenbusDev",
                                            {
                                                InstanceMethod<&XenbusDev::Write>("write"),
                                                InstanceMethod<&XenbusDev::RefLoop>("ref"),
                                                InstanceMethod<&XenbusDev::UnrefLoop>("unref"),
                                                InstanceMethod<&XenbusDev::Close>("close"),
                                                InstanceAccessor<&XenbusDev::GetClosed>("closed"),
                                            });
}

XenbusDev::XenbusDev(const Napi::CallbackInfo& info) : Napi::ObjectWrap<XenbusDev>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) ThrowArgType(env, "onData must be a function");
  onData_ = Napi::Persistent(info[0].As<Napi::Function>());
  context_ = std::make_unique<Napi::AsyncContext>(env, "xenvfb:xenbus");
  fd_ = OpenDevice(env, DevicePath(env, info[1], kXenbusPath), O_NONBLOCK);
  try {
    poll_.Start(env, fd_->fd(), fd_->path(), this);
  } catch (...) {
    fd_.reset();
    throw;
  }
  // Like a socket: alive (and keeping the loop alive) until close().
  Ref();
  selfRef_ = true;
}

// Only reached with the poll still open if the env's cleanup hook could not be added.
XenbusDev::~XenbusDev() { Shutdown(); }

void XenbusDev::OnEnvTeardown(napi_async_cleanup_hook_handle handle) { Shutdown(handle); }

void XenbusDev::Shutdown(napi_async_cleanup_hook_handle teardown) {
  if (!poll_.open()) return;
  poll_.Close(teardown);
  fd_.reset();  // the kernel ends our transactions and drops our watches (xenbus_file_release)
}

void XenbusDev::OnReadable(int status) {
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  std::vector<uint8_t> bytes;
  int failure = 0;
  bool eof = false;
  if (status < 0) failure = -status;  // POLLERR; the device never raises it
  for (int k = 0; failure == 0 && k < kReadsPerWakeup; k++) {
    uint8_t buf[kXenbusMessageMax];
    const ssize_t n = read(fd_->fd(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        k--;
        continue;
      }
      if (errno != EAGAIN) failure = errno;
      break;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    bytes.insert(bytes.end(), buf, buf + n);
  }
  // An fd at EOF or in error stays readable: stop polling it, or this would spin.
  if (failure != 0 || eof) poll_.Pause();
  if (!bytes.empty()) Deliver(env, env.Null(), Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size()));
  if (!poll_.open()) return;  // the listener closed the handle
  if (failure != 0) {
    Deliver(env, ErrnoError(env, "read", failure, "xenstore replies; the connection is unusable", fd_->path()).Value(),
            env.Undefined());
  } else if (eof) {
    Deliver(env, env.Null(), env.Null());
  }
}

void XenbusDev::Deliver(Napi::Env env, Napi::Value error, Napi::Value bytes) {
  try {
    onData_.MakeCallback(Value(), {error, bytes}, *context_);
  } catch (Napi::Error& e) {
    // Nobody up the stack to catch it: an uncaught exception, as from a socket callback.
    napi_fatal_exception(env, e.Value());
  }
}

// write(bytes): one whole xenstore message (header + payload) per call, as the driver wants.
Napi::Value XenbusDev::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowArgType(env, "bytes must be a Buffer or Uint8Array");
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  if (bytes.ByteLength() == 0 || bytes.ByteLength() > kXenbusMessageMax) {
    ThrowOutOfRange(env, "a xenbus message is 1.." + std::to_string(kXenbusMessageMax) + " bytes, got " +
                             std::to_string(bytes.ByteLength()));
  }
  const DeviceFd& device = *RequireOpen(env, fd_, "write");
  ssize_t n;
  do {
    n = write(device.fd(), bytes.Data(), bytes.ByteLength());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    const int err = errno;
    ThrowErrno(env, "write", err, "xenstore message of " + std::to_string(bytes.ByteLength()) + " bytes", device.path());
  }
  if (static_cast<size_t>(n) != bytes.ByteLength()) {
    ThrowErrno(env, "write", EIO,
               "short write: " + std::to_string(n) + " of " + std::to_string(bytes.ByteLength()) + " bytes",
               device.path());
  }
  return env.Undefined();
}

Napi::Value XenbusDev::RefLoop(const Napi::CallbackInfo& info) {
  poll_.Ref();
  return info.Env().Undefined();
}

Napi::Value XenbusDev::UnrefLoop(const Napi::CallbackInfo& info) {
  poll_.Unref();
  return info.Env().Undefined();
}

Napi::Value XenbusDev::Close(const Napi::CallbackInfo& info) {
  Shutdown();
  if (selfRef_) {
    selfRef_ = false;
    Unref();
  }
  return info.Env().Undefined();
}

Napi::Value XenbusDev::GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !poll_.open()); }

}  // namespace xen
}  // namespace xenvfb
