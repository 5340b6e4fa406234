// The call sequences follow libxengnttab / libxengntshr on Linux (tools/libs/gnttab/linux.c):
//  gntdev:   MAP_GRANT_REF -> mmap(offset = index) [-> SET_UNMAP_NOTIFY];
//            unmap: munmap, then UNMAP_GRANT_REF.
//  gntalloc: ALLOC_GREF -> mmap(offset = index) [-> SET_UNMAP_NOTIFY] -> DEALLOC_GREF at
//            once; the grants then end when the mapping goes (munmap).
#include "xen-grants.h"

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

// A zeroed, 8-byte aligned buffer for a struct with a variable-length tail.
std::vector<uint64_t> IoctlBuffer(size_t bytes) { return std::vector<uint64_t>((bytes + 7) / 8, 0); }

void UnmapGrants(int fd, uint64_t index, uint32_t count) {
  GntdevUnmapGrantRef op{};
  op.index = index;
  op.count = count;
  Ioctl(fd, kIoctlGntdevUnmapGrantRef, &op);  // nothing to do on failure but leak the slot
}

void DeallocGrefs(int fd, uint64_t index, uint32_t count) {
  GntallocDeallocGref op{};
  op.index = index;
  op.count = count;
  Ioctl(fd, kIoctlGntallocDeallocGref, &op);
}

// SET_UNMAP_NOTIFY (same request layout for both devices); returns 0 or errno.
int SetUnmapNotify(int fd, uint32_t request, uint64_t index, const UnmapNotifyRequest& notify) {
  UnmapNotify op{};
  op.index = index + notify.offset;
  op.action = (notify.clearByte ? kUnmapNotifyClearByte : 0) |
              (notify.sendEvent ? kUnmapNotifySendEvent : 0);
  op.event_channel_port = notify.port;
  return Ioctl(fd, request, &op) < 0 ? errno : 0;
}

}  // namespace

// ---- gntdev ----------------------------------------------------------------------------

Napi::Function Gntdev::DefineClass(Napi::Env env) {
  return ObjectWrap<Gntdev>::DefineClass(
      env, "Gntdev",
      {
          InstanceMethod<&Gntdev::MapGrants>("mapGrants"),
          InstanceMethod<&Gntdev::Close>("close"),
          InstanceAccessor<&Gntdev::GetClosed>("closed"),
      });
}

Gntdev::Gntdev(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Gntdev>(info) {
  fd_ = OpenDevice(info.Env(), DevicePath(info.Env(), info[0], kGntdevPath));
}

// mapGrants(domid, refs, writable, notify?)
Napi::Value Gntdev::MapGrants(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t domid = RequireDomid(env, info[0], "domid");
  const std::vector<uint64_t> refs = RequireU64List(env, info[1], "refs", kMaxGrantsPerCall, kU32Max);
  const bool writable = RequireBoolean(env, info[2], "writable");
  const size_t length = refs.size() * static_cast<size_t>(PageSize());
  const UnmapNotifyRequest notify = ReadUnmapNotify(env, info[3], length);
  std::shared_ptr<DeviceFd> device = RequireOpen(env, fd_, "ioctl");
  const int fd = device->fd();
  const uint32_t count = static_cast<uint32_t>(refs.size());

  // u32 count | u32 pad | u64 index (out) | {u32 domid; u32 ref}[count]
  std::vector<uint64_t> buf = IoctlBuffer(sizeof(GntdevMapGrantRef) + (count - 1) * sizeof(GntdevGrantRef));
  auto* op = reinterpret_cast<GntdevMapGrantRef*>(buf.data());
  op->count = count;
  for (uint32_t k = 0; k < count; k++) {
    op->refs[k].domid = domid;
    op->refs[k].ref = static_cast<uint32_t>(refs[k]);
  }
  if (Ioctl(fd, kIoctlGntdevMapGrantRef, op) < 0) {
    const int err = errno;
    ThrowErrno(env, "ioctl", err, "IOCTL_GNTDEV_MAP_GRANT_REF of " + std::to_string(count) +
                                        " grants of d" + std::to_string(domid),
               device->path());
  }
  const uint64_t index = op->index;

  // The grant hypercalls happen here; a bad or foreign ref, or a writable map of a
  // read-only grant, fails the mmap (EINVAL from gntdev_map_grant_pages, EPERM for ro).
  const int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* addr = mmap(nullptr, length, prot, MAP_SHARED, fd, static_cast<off_t>(index));
  if (addr == MAP_FAILED) {
    const int err = errno;
    UnmapGrants(fd, index, count);
    ThrowErrno(env, "mmap", err, std::to_string(count) + " grants of d" + std::to_string(domid) +
                                     " through " + device->path(),
               device->path());
  }
  if (notify.present) {
    const int err = SetUnmapNotify(fd, kIoctlGntdevSetUnmapNotify, index, notify);
    if (err != 0) {
      munmap(addr, length);
      UnmapGrants(fd, index, count);
      ThrowErrno(env, "ioctl", err, "IOCTL_GNTDEV_SET_UNMAP_NOTIFY", device->path());
    }
  }
  return Mapping::Adopt(env, addr, length, writable,
                        [device, index, count]() { UnmapGrants(device->fd(), index, count); });
}

Napi::Value Gntdev::Close(const Napi::CallbackInfo& info) {
  fd_.reset();  // live mappings keep the fd until their unmap has told gntdev
  return info.Env().Undefined();
}

Napi::Value Gntdev::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !fd_);
}

// ---- gntalloc --------------------------------------------------------------------------

Napi::Function Gntalloc::DefineClass(Napi::Env env) {
  return ObjectWrap<Gntalloc>::DefineClass(
      env, "Gntalloc",
      {
          InstanceMethod<&Gntalloc::Share>("share"),
          InstanceMethod<&Gntalloc::Close>("close"),
          InstanceAccessor<&Gntalloc::GetClosed>("closed"),
      });
}

Gntalloc::Gntalloc(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Gntalloc>(info) {
  fd_ = OpenDevice(info.Env(), DevicePath(info.Env(), info[0], kGntallocPath));
}

// share(domid, count, writable, notify?) -> { refs, mapping }. The pages come zeroed from
// the kernel and are always mapped read-write here: `writable` is what the remote domain
// may do (GNTALLOC_FLAG_WRITABLE).
Napi::Value Gntalloc::Share(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t domid = RequireDomid(env, info[0], "domid");
  const uint32_t count = static_cast<uint32_t>(
      RequireInteger(env, info[1], "count", 1, static_cast<int64_t>(kMaxGrantsPerCall)));
  const bool writable = RequireBoolean(env, info[2], "writable");
  const size_t length = count * static_cast<size_t>(PageSize());
  const UnmapNotifyRequest notify = ReadUnmapNotify(env, info[3], length);
  const DeviceFd& device = *RequireOpen(env, fd_, "ioctl");
  const int fd = device.fd();

  // u16 domid | u16 flags | u32 count | u64 index (out) | u32 gref_ids[count] (out)
  std::vector<uint64_t> buf = IoctlBuffer(sizeof(GntallocAllocGref) + (count - 1) * sizeof(uint32_t));
  auto* op = reinterpret_cast<GntallocAllocGref*>(buf.data());
  op->domid = static_cast<uint16_t>(domid);
  op->flags = writable ? kGntallocFlagWritable : 0;
  op->count = count;
  if (Ioctl(fd, kIoctlGntallocAllocGref, op) < 0) {
    // ENOSPC/ENOMEM: gntalloc's `limit` (module parameter, default 1024) or the grant table.
    const int err = errno;
    ThrowErrno(env, "ioctl", err, "IOCTL_GNTALLOC_ALLOC_GREF of " + std::to_string(count) +
                                        " pages for d" + std::to_string(domid),
               device.path());
  }
  const uint64_t index = op->index;

  void* addr = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(index));
  if (addr == MAP_FAILED) {
    const int err = errno;
    DeallocGrefs(fd, index, count);
    ThrowErrno(env, "mmap", err, std::to_string(count) + " pages of " + device.path(), device.path());
  }
  if (notify.present) {
    const int err = SetUnmapNotify(fd, kIoctlGntallocSetUnmapNotify, index, notify);
    if (err != 0) {
      munmap(addr, length);
      DeallocGrefs(fd, index, count);
      ThrowErrno(env, "ioctl", err, "IOCTL_GNTALLOC_SET_UNMAP_NOTIFY", device.path());
    }
  }
  // Drop the file's reference now: the pages (and their grants) live until the munmap.
  DeallocGrefs(fd, index, count);

  // Adopt first: from here on a JS exception releases the pages instead of leaking them.
  Napi::Object mapping = Mapping::Adopt(env, addr, length, true);
  Napi::Array refs = Napi::Array::New(env, count);
  for (uint32_t k = 0; k < count; k++) refs.Set(k, Napi::Number::New(env, op->gref_ids[k]));
  Napi::Object result = Napi::Object::New(env);
  result.Set("refs", refs);
  result.Set("mapping", mapping);
  return result;
}

Napi::Value Gntalloc::Close(const Napi::CallbackInfo& info) {
  fd_.reset();  // shared pages stay until their mapping is unmapped
  return info.Env().Undefined();
}

Napi::Value Gntalloc::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !fd_);
}

}  // namespace xen
}  // namespace xenvfb
