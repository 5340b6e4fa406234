#include "xen-xenbus.h"

#include <errno.h>
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
  return ObjectWrap<XenbusDev>::DefineClass(env, "XenbusDev", WithCommon({InstanceMethod<&XenbusDev::Write>("write")}));
}

// Closing the fd makes the kernel end our transactions and drop our watches (xenbus_file_release).
XenbusDev::XenbusDev(const Napi::CallbackInfo& info) : PolledDevice(info, "onData", "xenvfb:xenbus", kXenbusPath) {}

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
  if (!bytes.empty()) CallListener(env, {env.Null(), Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size())});
  if (!poll_.open()) return;  // the listener closed the handle
  if (failure != 0) {
    CallListener(env, {ErrnoError(env, "read", failure, "xenstore replies; the connection is unusable", fd_->path()).Value(),
                       env.Undefined()});
  } else if (eof) {
    CallListener(env, {env.Null(), env.Null()});
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

}  // namespace xen
}  // namespace xenvfb
