#include "xen-addon.h"

#include <cstddef>

#include "xen-abi.h"
#include "xen-evtchn.h"
#include "xen-grants.h"
#include "xen-privcmd.h"
#include "xen-xenbus.h"

// When the kernel's uapi headers happen to be installed (linux-libc-dev ships
// /usr/include/xen/{gntdev,gntalloc,evtchn}.h), check xen-abi.h against them too. Never
// required: the build works without them (or with -DXENVFB_NO_UAPI_CHECK). Done only in
// this file because they need domid_t/grant_ref_t in the global namespace. privcmd.h is
// skipped: it includes <xen/interface/xen.h>, which is not a uapi header.
#if defined(__linux__) && defined(__has_include) && !defined(XENVFB_NO_UAPI_CHECK)
#if __has_include(<xen/gntdev.h>) && __has_include(<xen/gntalloc.h>) && __has_include(<xen/evtchn.h>)
#include <sys/ioctl.h>

#include <cstdint>
// The uapi headers expect these from Xen's public headers (as libxengnttab provides).
typedef uint16_t domid_t;
typedef uint32_t grant_ref_t;
#include <xen/evtchn.h>
#include <xen/gntalloc.h>
#include <xen/gntdev.h>
static_assert(IOCTL_GNTDEV_MAP_GRANT_REF == xenvfb::xen::kIoctlGntdevMapGrantRef, "uapi gntdev map");
static_assert(IOCTL_GNTDEV_UNMAP_GRANT_REF == xenvfb::xen::kIoctlGntdevUnmapGrantRef, "uapi gntdev unmap");
static_assert(IOCTL_GNTDEV_SET_UNMAP_NOTIFY == xenvfb::xen::kIoctlGntdevSetUnmapNotify, "uapi gntdev notify");
static_assert(IOCTL_GNTALLOC_ALLOC_GREF == xenvfb::xen::kIoctlGntallocAllocGref, "uapi gntalloc alloc");
static_assert(IOCTL_GNTALLOC_DEALLOC_GREF == xenvfb::xen::kIoctlGntallocDeallocGref, "uapi gntalloc dealloc");
static_assert(IOCTL_GNTALLOC_SET_UNMAP_NOTIFY == xenvfb::xen::kIoctlGntallocSetUnmapNotify, "uapi gntalloc notify");
static_assert(IOCTL_EVTCHN_BIND_INTERDOMAIN == xenvfb::xen::kIoctlEvtchnBindInterdomain, "uapi evtchn interdomain");
static_assert(IOCTL_EVTCHN_BIND_UNBOUND_PORT == xenvfb::xen::kIoctlEvtchnBindUnboundPort, "uapi evtchn unbound");
static_assert(IOCTL_EVTCHN_UNBIND == xenvfb::xen::kIoctlEvtchnUnbind, "uapi evtchn unbind");
static_assert(IOCTL_EVTCHN_NOTIFY == xenvfb::xen::kIoctlEvtchnNotify, "uapi evtchn notify");
static_assert(IOCTL_EVTCHN_RESET == xenvfb::xen::kIoctlEvtchnReset, "uapi evtchn reset");
#define XENVFB_CHECKED_AGAINST_UAPI 1
#endif
#endif
#ifndef XENVFB_CHECKED_AGAINST_UAPI
#define XENVFB_CHECKED_AGAINST_UAPI 0
#endif

namespace xenvfb {

namespace {

using namespace xen;

Napi::Object Fields(Napi::Env env, size_t size, std::initializer_list<std::pair<const char*, size_t>> offsets) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("size", Napi::Number::New(env, static_cast<double>(size)));
  for (const auto& [name, offset] : offsets) out.Set(name, Napi::Number::New(env, static_cast<double>(offset)));
  return out;
}

// xenLayout(): sizes and field offsets of the ABI structs as compiled, and the ioctl
// numbers, so tests can hold them against the documented values.
Napi::Value XenLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object structs = Napi::Object::New(env);
  structs.Set("privcmd_mmapbatch_v2",
              Fields(env, sizeof(PrivcmdMmapBatchV2),
                     {{"num", offsetof(PrivcmdMmapBatchV2, num)},
                      {"dom", offsetof(PrivcmdMmapBatchV2, dom)},
                      {"addr", offsetof(PrivcmdMmapBatchV2, addr)},
                      {"arr", offsetof(PrivcmdMmapBatchV2, arr)},
                      {"err", offsetof(PrivcmdMmapBatchV2, err)}}));
  structs.Set("ioctl_gntdev_grant_ref",
              Fields(env, sizeof(GntdevGrantRef),
                     {{"domid", offsetof(GntdevGrantRef, domid)}, {"ref", offsetof(GntdevGrantRef, ref)}}));
  structs.Set("ioctl_gntdev_map_grant_ref",
              Fields(env, sizeof(GntdevMapGrantRef),
                     {{"count", offsetof(GntdevMapGrantRef, count)},
                      {"pad", offsetof(GntdevMapGrantRef, pad)},
                      {"index", offsetof(GntdevMapGrantRef, index)},
                      {"refs", offsetof(GntdevMapGrantRef, refs)}}));
  structs.Set("ioctl_gntdev_unmap_grant_ref",
              Fields(env, sizeof(GntdevUnmapGrantRef),
                     {{"index", offsetof(GntdevUnmapGrantRef, index)},
                      {"count", offsetof(GntdevUnmapGrantRef, count)},
                      {"pad", offsetof(GntdevUnmapGrantRef, pad)}}));
  structs.Set("ioctl_unmap_notify",
              Fields(env, sizeof(UnmapNotify),
                     {{"index", offsetof(UnmapNotify, index)},
                      {"action", offsetof(UnmapNotify, action)},
                      {"event_channel_port", offsetof(UnmapNotify, event_channel_port)}}));
  structs.Set("ioctl_gntalloc_alloc_gref",
              Fields(env, sizeof(GntallocAllocGref),
                     {{"domid", offsetof(GntallocAllocGref, domid)},
                      {"flags", offsetof(GntallocAllocGref, flags)},
                      {"count", offsetof(GntallocAllocGref, count)},
                      {"index", offsetof(GntallocAllocGref, index)},
                      {"gref_ids", offsetof(GntallocAllocGref, gref_ids)}}));
  structs.Set("ioctl_gntalloc_dealloc_gref",
              Fields(env, sizeof(GntallocDeallocGref),
                     {{"index", offsetof(GntallocDeallocGref, index)},
                      {"count", offsetof(GntallocDeallocGref, count)}}));
  structs.Set("ioctl_evtchn_bind_interdomain",
              Fields(env, sizeof(EvtchnBindInterdomain),
                     {{"remote_domain", offsetof(EvtchnBindInterdomain, remote_domain)},
                      {"remote_port", offsetof(EvtchnBindInterdomain, remote_port)}}));
  structs.Set("ioctl_evtchn_bind_unbound_port",
              Fields(env, sizeof(EvtchnBindUnboundPort),
                     {{"remote_domain", offsetof(EvtchnBindUnboundPort, remote_domain)}}));
  structs.Set("ioctl_evtchn_port", Fields(env, sizeof(EvtchnPort), {{"port", offsetof(EvtchnPort, port)}}));

  Napi::Object ioctls = Napi::Object::New(env);
  const std::pair<const char*, uint32_t> numbers[] = {
      {"IOCTL_PRIVCMD_MMAPBATCH_V2", kIoctlPrivcmdMmapBatchV2},
      {"IOCTL_GNTDEV_MAP_GRANT_REF", kIoctlGntdevMapGrantRef},
      {"IOCTL_GNTDEV_UNMAP_GRANT_REF", kIoctlGntdevUnmapGrantRef},
      {"IOCTL_GNTDEV_SET_UNMAP_NOTIFY", kIoctlGntdevSetUnmapNotify},
      {"IOCTL_GNTALLOC_ALLOC_GREF", kIoctlGntallocAllocGref},
      {"IOCTL_GNTALLOC_DEALLOC_GREF", kIoctlGntallocDeallocGref},
      {"IOCTL_GNTALLOC_SET_UNMAP_NOTIFY", kIoctlGntallocSetUnmapNotify},
      {"IOCTL_EVTCHN_BIND_INTERDOMAIN", kIoctlEvtchnBindInterdomain},
      {"IOCTL_EVTCHN_BIND_UNBOUND_PORT", kIoctlEvtchnBindUnboundPort},
      {"IOCTL_EVTCHN_UNBIND", kIoctlEvtchnUnbind},
      {"IOCTL_EVTCHN_NOTIFY", kIoctlEvtchnNotify},
      {"IOCTL_EVTCHN_RESET", kIoctlEvtchnReset},
  };
  for (const auto& [name, value] : numbers) ioctls.Set(name, Napi::Number::New(env, value));

  Napi::Object out = Napi::Object::New(env);
  out.Set("structs", structs);
  out.Set("ioctls", ioctls);
  out.Set("checkedAgainstUapi", Napi::Boolean::New(env, XENVFB_CHECKED_AGAINST_UAPI != 0));
  return out;
}

}  // namespace

void InitXen(Napi::Env env, Napi::Object exports) {
  exports.Set("Privcmd", Privcmd::DefineClass(env));
  exports.Set("Gntdev", Gntdev::DefineClass(env));
  exports.Set("Gntalloc", Gntalloc::DefineClass(env));
  exports.Set("Evtchn", Evtchn::DefineClass(env));
  exports.Set("XenbusDev", XenbusDev::DefineClass(env));
  exports.Set("MAX_GRANTS_PER_CALL", Napi::Number::New(env, static_cast<double>(kMaxGrantsPerCall)));
  exports.Set("xenLayout", Napi::Function::New<XenLayout>(env, "xenLayout"));
}

}  // namespace xenvfb
