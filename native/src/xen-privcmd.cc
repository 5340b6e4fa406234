// Foreign mapping as libxenforeignmemory does it on Linux (tools/libs/foreignmemory/
// linux.c): mmap the privcmd fd for the whole range (which only reserves a privcmd VMA),
// then IOCTL_PRIVCMD_MMAPBATCH_V2 fills it with the domain's frames and reports per page.
#include "xen-privcmd.h"

#include <errno.h>
#include <sys/mman.h>

#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "mapping.h"
#include "xen-abi.h"

namespace xenvfb {
namespace xen {

namespace {

// xen_pfn_t is 64-bit, but JS numbers are exact only up to 2^53 - 1; real frame numbers
// (at most 52 physical address bits - 12) are far below either.
constexpr int64_t kMaxFrame = kMaxSafeInteger;

[[noreturn]] void ThrowPageErrors(Napi::Env env, const std::vector<int>& errs, uint32_t dom,
                                  const char* path) {
  size_t bad = 0;
  int first = 0;
  for (int e : errs) {
    if (e == 0) continue;
    if (bad++ == 0) first = e < 0 ? -e : e;
  }
  Napi::Array list = Napi::Array::New(env, errs.size());
  for (size_t k = 0; k < errs.size(); k++) list.Set(static_cast<uint32_t>(k), errs[k]);
  try {
    ThrowErrno(env, "ioctl", first,
               "IOCTL_PRIVCMD_MMAPBATCH_V2: " + std::to_string(bad) + " of " +
                   std::to_string(errs.size()) + " frames of d" + std::to_string(dom) +
                   " did not map (see .errors)",
               path);
  } catch (Napi::Error& e) {
    e.Set("errors", list);
    throw;
  }
}

}  // namespace

Napi::Function Privcmd::DefineClass(Napi::Env env) {
  return ObjectWrap<Privcmd>::DefineClass(
      env, "Privcmd",
      {
          InstanceMethod<&Privcmd::MapForeign>("mapForeign"),
          InstanceMethod<&Privcmd::Close>("close"),
          InstanceAccessor<&Privcmd::GetClosed>("closed"),
      });
}

Privcmd::Privcmd(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Privcmd>(info) {
  fd_ = OpenDevice(info.Env(), DevicePath(info.Env(), info[0], kPrivcmdPath));
}

// mapForeign(domid, frames, writable)
Napi::Value Privcmd::MapForeign(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t dom = RequireDomid(env, info[0], "domid");
  const std::vector<uint64_t> frames = RequireU64List(env, info[1], "frames", kMaxMapPages, kMaxFrame);
  const bool writable = RequireBoolean(env, info[2], "writable");
  const DeviceFd& device = *RequireOpen(env, fd_, "mmap");
  const int fd = device.fd();

  const size_t length = frames.size() * static_cast<size_t>(PageSize());
  const int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* addr = mmap(nullptr, length, prot, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) {
    const int err = errno;
    ThrowErrno(env, "mmap", err, device.path(), device.path());
  }

  std::vector<int> errs(frames.size(), 0);
  PrivcmdMmapBatchV2 batch{};
  batch.num = static_cast<uint32_t>(frames.size());
  batch.dom = static_cast<uint16_t>(dom);
  batch.addr = reinterpret_cast<uintptr_t>(addr);
  batch.arr = frames.data();
  batch.err = errs.data();
  // ENOENT means "some frames are paged out" and still fills err[]; other failures are
  // global (EPERM: not privileged, ESRCH: no such domain, EINVAL, EFAULT).
  if (Ioctl(fd, kIoctlPrivcmdMmapBatchV2, &batch) < 0 && errno != ENOENT) {
    const int err = errno;
    munmap(addr, length);
    ThrowErrno(env, "ioctl", err, "IOCTL_PRIVCMD_MMAPBATCH_V2 of " + std::to_string(frames.size()) +
                                      " frames of d" + std::to_string(dom),
               device.path());
  }
  for (int e : errs) {
    if (e != 0) {
      munmap(addr, length);
      ThrowPageErrors(env, errs, dom, device.path());
    }
  }
  return Mapping::Adopt(env, addr, length, writable);
}

Napi::Value Privcmd::Close(const Napi::CallbackInfo& info) {
  fd_.reset();  // mappings made through it stay valid: each VMA holds the file
  return info.Env().Undefined();
}

Napi::Value Privcmd::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !fd_);
}

}  // namespace xen
}  // namespace xenvfb
