// Mapped memory handed to JS: an external ArrayBuffer over an mmap'd region, wrapped in
// a Mapping object with an explicit unmap(). Whoever lets go last (unmap(), or GC of the
// ArrayBuffer) releases the pages; unmap() also detaches the buffer so stale views read
// as length 0 instead of touching unmapped memory.
#pragma once

#include <napi.h>

#include <cstddef>
#include <functional>
#include <memory>

namespace xenvfb {

// Shared by the Mapping object and the ArrayBuffer finalizer, whichever outlives the other.
struct MapState {
  void* addr = nullptr;
  size_t length = 0;
  bool writable = false;
  bool mapped = false;
  // Runs once, right after the munmap (e.g. gntdev's IOCTL_GNTDEV_UNMAP_GRANT_REF).
  std::function<void()> afterUnmap;

  void Release();  // munmap once; later calls do nothing
};

class Mapping : public Napi::ObjectWrap<Mapping> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  // Takes ownership of [addr, addr+length), already mapped by the caller. `afterUnmap`, if
  // set, runs once after the munmap (also when Adopt itself fails).
  static Napi::Object Adopt(Napi::Env env, void* addr, size_t length, bool writable,
                            std::function<void()> afterUnmap = {});

  explicit Mapping(const Napi::CallbackInfo& info);

 private:
  Napi::Value GetBuffer(const Napi::CallbackInfo& info);
  Napi::Value GetLength(const Napi::CallbackInfo& info);
  Napi::Value GetWritable(const Napi::CallbackInfo& info);
  Napi::Value GetMapped(const Napi::CallbackInfo& info);
  Napi::Value Unmap(const Napi::CallbackInfo& info);

  std::shared_ptr<MapState> state_;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
};

// mapFd(fd, offset, length, writable): one MAP_SHARED mapping.
Napi::Value MapFd(const Napi::CallbackInfo& info);

// mapPages(fd, pageIndices, writable): pages of fd, in list order, as one contiguous view.
Napi::Value MapPages(const Napi::CallbackInfo& info);

// Upper bound on pageIndices.length (1 GiB of 4 KiB pages).
constexpr size_t kMaxMapPages = 262144;

long PageSize();

}  // namespace xenvfb
