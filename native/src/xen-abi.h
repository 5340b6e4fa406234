// The Linux user-space ABI of /dev/xen/{privcmd,gntdev,gntalloc,evtchn}, written out here so
// the addon builds on hosts without Xen or kernel headers. Sources: Linux
// include/uapi/xen/{privcmd,gntdev,gntalloc,evtchn}.h; the numbers are the x86_64 ones
// those headers compile to. Every struct has its offsets and size
// pinned by static_assert, and every ioctl number is built with the kernel's _IOC formula
// and compared with the documented constant.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xenvfb {
namespace xen {

// _IOC(_IOC_NONE, type, nr, size) on x86/arm: dir (0) << 30 | size << 16 | type << 8 | nr.
constexpr uint32_t IocNone(char type, uint32_t nr, size_t size) {
  return (static_cast<uint32_t>(size) << 16) | (static_cast<uint32_t>(type) << 8) | nr;
}

// Device nodes (Linux drivers/xen: privcmd.c, gntdev.c, gntalloc.c, evtchn.c,
// xenbus/xenbus_dev_frontend.c).
constexpr const char* kPrivcmdPath = "/dev/xen/privcmd";
constexpr const char* kGntdevPath = "/dev/xen/gntdev";
constexpr const char* kGntallocPath = "/dev/xen/gntalloc";
constexpr const char* kEvtchnPath = "/dev/xen/evtchn";
constexpr const char* kXenbusPath = "/dev/xen/xenbus";
// xenbus_dev_frontend.c buffers one message, header + payload, in a page.
constexpr size_t kXenbusMessageMax = 4096;

// xen/include/public/xen.h: domid_t is u16; ids from DOMID_FIRST_RESERVED (0x7FF0) on are
// special (DOMID_SELF = 0x7FF0). Real domains are 0..0x7FEF.
constexpr int64_t kDomidMax = 0x7FEF;
constexpr int64_t kDomidSelf = 0x7FF0;

// Grants and event channel ports are u32 on the wire (grant_ref_t, evtchn_port_t).
constexpr int64_t kU32Max = 0xFFFFFFFF;

// ---- privcmd (include/uapi/xen/privcmd.h) ----------------------------------------------

// struct privcmd_mmapbatch_v2: u32 num @0 | u16 dom @4 | u64 addr @8 | xen_pfn_t *arr @16 |
// int *err @24. addr is the start of an mmap of the privcmd fd, exactly num pages long.
struct PrivcmdMmapBatchV2 {
  uint32_t num;
  uint16_t dom;
  uint64_t addr;
  const uint64_t* arr;  // xen_pfn_t: unsigned long (64-bit on x86_64/arm64)
  int* err;             // out: 0 or -errno per page
};
static_assert(offsetof(PrivcmdMmapBatchV2, num) == 0, "privcmd_mmapbatch_v2.num");
static_assert(offsetof(PrivcmdMmapBatchV2, dom) == 4, "privcmd_mmapbatch_v2.dom");
static_assert(offsetof(PrivcmdMmapBatchV2, addr) == 8, "privcmd_mmapbatch_v2.addr");
static_assert(offsetof(PrivcmdMmapBatchV2, arr) == 16, "privcmd_mmapbatch_v2.arr");
static_assert(offsetof(PrivcmdMmapBatchV2, err) == 24, "privcmd_mmapbatch_v2.err");
static_assert(sizeof(PrivcmdMmapBatchV2) == 32, "privcmd_mmapbatch_v2 size");

constexpr uint32_t kIoctlPrivcmdMmapBatchV2 = IocNone('P', 4, sizeof(PrivcmdMmapBatchV2));
static_assert(kIoctlPrivcmdMmapBatchV2 == 0x00205004, "IOCTL_PRIVCMD_MMAPBATCH_V2");

// ---- gntdev (include/uapi/xen/gntdev.h) ------------------------------------------------

// struct ioctl_gntdev_grant_ref: u32 domid @0 | u32 ref @4
struct GntdevGrantRef {
  uint32_t domid;
  uint32_t ref;
};
static_assert(sizeof(GntdevGrantRef) == 8, "ioctl_gntdev_grant_ref size");

// struct ioctl_gntdev_map_grant_ref: u32 count @0 | u32 pad @4 | u64 index @8 (out) |
// grant_ref refs[count] @16. sizeof counts one ref (24); the kernel reads count of them.
struct GntdevMapGrantRef {
  uint32_t count;
  uint32_t pad;
  uint64_t index;
  GntdevGrantRef refs[1];
};
static_assert(offsetof(GntdevMapGrantRef, count) == 0, "ioctl_gntdev_map_grant_ref.count");
static_assert(offsetof(GntdevMapGrantRef, index) == 8, "ioctl_gntdev_map_grant_ref.index");
static_assert(offsetof(GntdevMapGrantRef, refs) == 16, "ioctl_gntdev_map_grant_ref.refs");
static_assert(sizeof(GntdevMapGrantRef) == 24, "ioctl_gntdev_map_grant_ref size");

// struct ioctl_gntdev_unmap_grant_ref: u64 index @0 | u32 count @8 | u32 pad @12
struct GntdevUnmapGrantRef {
  uint64_t index;
  uint32_t count;
  uint32_t pad;
};
static_assert(offsetof(GntdevUnmapGrantRef, count) == 8, "ioctl_gntdev_unmap_grant_ref.count");
static_assert(sizeof(GntdevUnmapGrantRef) == 16, "ioctl_gntdev_unmap_grant_ref size");

// struct ioctl_gntdev_unmap_notify (gntalloc's is identical): u64 index @0 |
// u32 action @8 | u32 event_channel_port @12. index = mmap offset of the byte to clear.
struct UnmapNotify {
  uint64_t index;
  uint32_t action;
  uint32_t event_channel_port;
};
static_assert(offsetof(UnmapNotify, action) == 8, "ioctl_*_unmap_notify.action");
static_assert(offsetof(UnmapNotify, event_channel_port) == 12, "ioctl_*_unmap_notify.port");
static_assert(sizeof(UnmapNotify) == 16, "ioctl_*_unmap_notify size");

constexpr uint32_t kUnmapNotifyClearByte = 0x1;
constexpr uint32_t kUnmapNotifySendEvent = 0x2;

constexpr uint32_t kIoctlGntdevMapGrantRef = IocNone('G', 0, sizeof(GntdevMapGrantRef));
constexpr uint32_t kIoctlGntdevUnmapGrantRef = IocNone('G', 1, sizeof(GntdevUnmapGrantRef));
constexpr uint32_t kIoctlGntdevSetUnmapNotify = IocNone('G', 7, sizeof(UnmapNotify));
static_assert(kIoctlGntdevMapGrantRef == 0x00184700, "IOCTL_GNTDEV_MAP_GRANT_REF");
static_assert(kIoctlGntdevUnmapGrantRef == 0x00104701, "IOCTL_GNTDEV_UNMAP_GRANT_REF");
static_assert(kIoctlGntdevSetUnmapNotify == 0x00104707, "IOCTL_GNTDEV_SET_UNMAP_NOTIFY");

// ---- gntalloc (include/uapi/xen/gntalloc.h) --------------------------------------------

// struct ioctl_gntalloc_alloc_gref: u16 domid @0 | u16 flags @2 | u32 count @4 |
// u64 index @8 (out) | u32 gref_ids[count] @16 (out). sizeof = 24 (one id + tail pad).
struct GntallocAllocGref {
  uint16_t domid;
  uint16_t flags;
  uint32_t count;
  uint64_t index;
  uint32_t gref_ids[1];
};
static_assert(offsetof(GntallocAllocGref, flags) == 2, "ioctl_gntalloc_alloc_gref.flags");
static_assert(offsetof(GntallocAllocGref, count) == 4, "ioctl_gntalloc_alloc_gref.count");
static_assert(offsetof(GntallocAllocGref, index) == 8, "ioctl_gntalloc_alloc_gref.index");
static_assert(offsetof(GntallocAllocGref, gref_ids) == 16, "ioctl_gntalloc_alloc_gref.gref_ids");
static_assert(sizeof(GntallocAllocGref) == 24, "ioctl_gntalloc_alloc_gref size");

constexpr uint16_t kGntallocFlagWritable = 1;

// struct ioctl_gntalloc_dealloc_gref: u64 index @0 | u32 count @8 (| 4 bytes tail pad)
struct GntallocDeallocGref {
  uint64_t index;
  uint32_t count;
};
static_assert(offsetof(GntallocDeallocGref, count) == 8, "ioctl_gntalloc_dealloc_gref.count");
static_assert(sizeof(GntallocDeallocGref) == 16, "ioctl_gntalloc_dealloc_gref size");

constexpr uint32_t kIoctlGntallocAllocGref = IocNone('G', 5, sizeof(GntallocAllocGref));
constexpr uint32_t kIoctlGntallocDeallocGref = IocNone('G', 6, sizeof(GntallocDeallocGref));
constexpr uint32_t kIoctlGntallocSetUnmapNotify = IocNone('G', 7, sizeof(UnmapNotify));
static_assert(kIoctlGntallocAllocGref == 0x00184705, "IOCTL_GNTALLOC_ALLOC_GREF");
static_assert(kIoctlGntallocDeallocGref == 0x00104706, "IOCTL_GNTALLOC_DEALLOC_GREF");
static_assert(kIoctlGntallocSetUnmapNotify == 0x00104707, "IOCTL_GNTALLOC_SET_UNMAP_NOTIFY");

// ---- evtchn (include/uapi/xen/evtchn.h) ------------------------------------------------

// struct ioctl_evtchn_bind_interdomain: u32 remote_domain @0 | u32 remote_port @4
struct EvtchnBindInterdomain {
  uint32_t remote_domain;
  uint32_t remote_port;
};
static_assert(offsetof(EvtchnBindInterdomain, remote_port) == 4, "bind_interdomain.remote_port");
static_assert(sizeof(EvtchnBindInterdomain) == 8, "ioctl_evtchn_bind_interdomain size");

// struct ioctl_evtchn_bind_unbound_port: u32 remote_domain @0
struct EvtchnBindUnboundPort {
  uint32_t remote_domain;
};
static_assert(sizeof(EvtchnBindUnboundPort) == 4, "ioctl_evtchn_bind_unbound_port size");

// struct ioctl_evtchn_unbind / ioctl_evtchn_notify: u32 port @0
struct EvtchnPort {
  uint32_t port;
};
static_assert(sizeof(EvtchnPort) == 4, "ioctl_evtchn_{unbind,notify} size");

constexpr uint32_t kIoctlEvtchnBindInterdomain = IocNone('E', 1, sizeof(EvtchnBindInterdomain));
constexpr uint32_t kIoctlEvtchnBindUnboundPort = IocNone('E', 2, sizeof(EvtchnBindUnboundPort));
constexpr uint32_t kIoctlEvtchnUnbind = IocNone('E', 3, sizeof(EvtchnPort));
constexpr uint32_t kIoctlEvtchnNotify = IocNone('E', 4, sizeof(EvtchnPort));
constexpr uint32_t kIoctlEvtchnReset = IocNone('E', 5, 0);
static_assert(kIoctlEvtchnBindInterdomain == 0x00084501, "IOCTL_EVTCHN_BIND_INTERDOMAIN");
static_assert(kIoctlEvtchnBindUnboundPort == 0x00044502, "IOCTL_EVTCHN_BIND_UNBOUND_PORT");
static_assert(kIoctlEvtchnUnbind == 0x00044503, "IOCTL_EVTCHN_UNBIND");
static_assert(kIoctlEvtchnNotify == 0x00044504, "IOCTL_EVTCHN_NOTIFY");
static_assert(kIoctlEvtchnReset == 0x00004505, "IOCTL_EVTCHN_RESET");

}  // namespace xen
}  // namespace xenvfb
