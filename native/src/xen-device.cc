#include "xen-device.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "args.h"
#include "errors.h"
#include "xen-abi.h"

namespace xenvfb {
namespace xen {

DeviceFd::~DeviceFd() {
  if (fd_ >= 0) close(fd_);
}

std::string DevicePath(Napi::Env env, const Napi::Value& value, const char* fallback) {
  if (value.IsUndefined()) return fallback;
  if (!value.IsString()) ThrowArgType(env, "path must be a string");
  std::string path = value.As<Napi::String>().Utf8Value();
  if (path.empty() || path.find('\0') != std::string::npos) {
    ThrowArgValue(env, "path must be a non-empty string without NUL");
  }
  return path;
}

std::shared_ptr<DeviceFd> OpenDevice(Napi::Env env, const std::string& path, int extraFlags) {
  int fd;
  do {
    fd = open(path.c_str(), O_RDWR | O_CLOEXEC | extraFlags);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int err = errno;
    ThrowErrno(env, "open", err, path, path.c_str());
  }
  return std::make_shared<DeviceFd>(fd, path);
}

int Ioctl(int fd, unsigned long request, void* arg) {
  int rc;
  do {
    rc = ioctl(fd, request, arg);
  } while (rc < 0 && errno == EINTR);
  return rc;
}

const std::shared_ptr<DeviceFd>& RequireOpen(Napi::Env env, const std::shared_ptr<DeviceFd>& fd,
                                             const char* syscall) {
  if (!fd) ThrowErrno(env, syscall, EBADF, "the handle is closed");
  return fd;
}

uint32_t RequireDomid(Napi::Env env, const Napi::Value& value, const char* what, bool allowSelf) {
  if (allowSelf && value.IsNumber() && value.As<Napi::Number>().DoubleValue() == kDomidSelf) {
    return static_cast<uint32_t>(kDomidSelf);
  }
  return static_cast<uint32_t>(RequireInteger(env, value, what, 0, kDomidMax));
}

std::vector<uint64_t> RequireU64List(Napi::Env env, const Napi::Value& value, const char* what,
                                     size_t maxCount, int64_t max) {
  if (!value.IsArray()) ThrowArgType(env, std::string(what) + " must be an array");
  Napi::Array list = value.As<Napi::Array>();
  const size_t count = list.Length();
  if (count == 0) ThrowOutOfRange(env, std::string(what) + " must not be empty");
  if (count > maxCount) {
    ThrowOutOfRange(env, std::string(what) + " has " + std::to_string(count) +
                             " entries, more than " + std::to_string(maxCount));
  }
  std::vector<uint64_t> out(count);
  for (size_t k = 0; k < count; k++) {
    const std::string item = std::string(what) + "[" + std::to_string(k) + "]";
    out[k] = static_cast<uint64_t>(
        RequireInteger(env, list.Get(static_cast<uint32_t>(k)), item.c_str(), 0, max));
  }
  return out;
}

UnmapNotifyRequest ReadUnmapNotify(Napi::Env env, const Napi::Value& value, uint64_t length) {
  UnmapNotifyRequest req;
  if (value.IsUndefined()) return req;
  if (!value.IsObject() || value.IsArray()) ThrowArgType(env, "notify must be an object");
  Napi::Object object = value.As<Napi::Object>();
  req.present = true;
  Napi::Value offset = object.Get("offset");
  if (!offset.IsUndefined()) {
    req.clearByte = true;
    req.offset = static_cast<uint64_t>(RequireInteger(env, offset, "notify.offset", 0,
                                                      static_cast<int64_t>(length) - 1));
  }
  Napi::Value port = object.Get("port");
  if (!port.IsUndefined()) {
    req.sendEvent = true;
    req.port = static_cast<uint32_t>(RequireInteger(env, port, "notify.port", 0, kU32Max));
  }
  if (!req.clearByte && !req.sendEvent) {
    ThrowArgValue(env, "notify needs offset (clear a byte) and/or port (send an event)");
  }
  return req;
}

}  // namespace xen
}  // namespace xenvfb
