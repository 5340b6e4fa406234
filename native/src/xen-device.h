// Shared pieces of the /dev/xen/* handles: an fd owned by whoever needs it last (the
// handle, or a mapping whose unmap still has to tell the device), open/ioctl wrappers that
// throw the addon's errno-carrying errors, and the Xen-specific argument checks.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace xenvfb {
namespace xen {

// One open /dev/xen/* file. Closed when the last shared_ptr goes (handle closed and every
// mapping that must still ioctl on it released).
class DeviceFd {
 public:
  DeviceFd(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~DeviceFd();
  DeviceFd(const DeviceFd&) = delete;
  DeviceFd& operator=(const DeviceFd&) = delete;

  int fd() const { return fd_; }
  const char* path() const { return path_.c_str(); }

 private:
  int fd_;
  std::string path_;
};

// The device path: `value` when it is a string (another node, e.g. /proc/xen/privcmd on
// old kernels, or a stand-in in tests), `fallback` when undefined; TypeError otherwise.
std::string DevicePath(Napi::Env env, const Napi::Value& value, const char* fallback);

// open(path, O_RDWR | O_CLOEXEC | extraFlags); throws errno/code/syscall 'open'/path.
std::shared_ptr<DeviceFd> OpenDevice(Napi::Env env, const std::string& path, int extraFlags = 0);

// ioctl retried on EINTR; returns its result (>= 0) or -1 with errno set.
int Ioctl(int fd, unsigned long request, void* arg);

// A handle's fd, or EBADF ('ioctl' / `syscall`) once close() was called.
const std::shared_ptr<DeviceFd>& RequireOpen(Napi::Env env, const std::shared_ptr<DeviceFd>& fd,
                                             const char* syscall);

// domid of a real domain: 0..0x7FEF (allowSelf: also DOMID_SELF 0x7FF0).
uint32_t RequireDomid(Napi::Env env, const Napi::Value& value, const char* what,
                      bool allowSelf = false);

// An array of 1..maxCount integers in [0, max].
std::vector<uint64_t> RequireU64List(Napi::Env env, const Napi::Value& value, const char* what,
                                     size_t maxCount, int64_t max);

// Optional { offset?: number, port?: number } of SET_UNMAP_NOTIFY, checked against the
// mapping's byte length. `present` false when the argument is undefined.
struct UnmapNotifyRequest {
  bool present = false;
  bool clearByte = false;
  uint64_t offset = 0;
  bool sendEvent = false;
  uint32_t port = 0;
};
UnmapNotifyRequest ReadUnmapNotify(Napi::Env env, const Napi::Value& value, uint64_t length);

}  // namespace xen
}  // namespace xenvfb
