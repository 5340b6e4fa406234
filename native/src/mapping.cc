#include "mapping.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "errors.h"

namespace xenvfb {

namespace {

// Set by Adopt() just before it calls the constructor, so JS cannot build a Mapping
// over memory of its choosing (`new (mapping.constructor)()` finds nothing pending).
thread_local std::shared_ptr<MapState> pendingState;

constexpr int64_t kMaxOffset = std::numeric_limits<off_t>::max();

int Prot(bool writable) { return PROT_READ | (writable ? PROT_WRITE : 0); }

// Mapping a regular file (shm objects are regular files on tmpfs) past its end "works"
// but the first touch of such a page is SIGBUS; refuse up front with POSIX's ENXIO.
void CheckWithinObject(Napi::Env env, int fd, int64_t end) {
  struct stat st;
  if (fstat(fd, &st) != 0) ThrowErrno(env, "fstat", errno);
  if (S_ISREG(st.st_mode) && end > st.st_size) {
    ThrowErrno(env, "mmap", ENXIO,
               "range ends at byte " + std::to_string(end) + " but the object has " +
                   std::to_string(st.st_size) + " bytes");
  }
}

}  // namespace

void MapState::Release() {
  if (!mapped) return;
  munmap(addr, length);
  mapped = false;
  if (afterUnmap) {
    std::function<void()> hook = std::move(afterUnmap);
    afterUnmap = nullptr;
    hook();
  }
}

Napi::Function Mapping::DefineClass(Napi::Env env) {
  return ObjectWrap<Mapping>::DefineClass(
      env, "NativeMapping",
      {
          InstanceAccessor<&Mapping::GetBuffer>("buffer"),
          InstanceAccessor<&Mapping::GetLength>("length"),
          InstanceAccessor<&Mapping::GetWritable>("writable"),
          InstanceAccessor<&Mapping::GetMapped>("mapped"),
          InstanceMethod<&Mapping::Unmap>("unmap"),
      });
}

Napi::Object Mapping::Adopt(Napi::Env env, void* addr, size_t length, bool writable,
                            std::function<void()> afterUnmap) {
  auto state = std::make_shared<MapState>();
  state->addr = addr;
  state->length = length;
  state->writable = writable;
  state->mapped = true;
  state->afterUnmap = std::move(afterUnmap);
  pendingState = state;
  try {
    return env.GetInstanceData<AddonData>()->mappingConstructor.New({});
  } catch (...) {
    pendingState.reset();
    state->Release();
    throw;
  }
}

Mapping::Mapping(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Mapping>(info) {
  Napi::Env env = info.Env();
  if (!pendingState) {
    throw Napi::TypeError::New(env, "NativeMapping objects come from mapFd() or mapPages()");
  }
  state_ = std::move(pendingState);
  pendingState.reset();
  auto hint = std::make_unique<std::shared_ptr<MapState>>(state_);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
      env, state_->addr, state_->length,
      [](Napi::Env, void*, std::shared_ptr<MapState>* held) {
        (*held)->Release();
        delete held;
      },
      hint.get());
  hint.release();  // owned by the finalizer from here on
  buffer_ = Napi::Persistent(buffer);
}

Napi::Value Mapping::GetBuffer(const Napi::CallbackInfo&) { return buffer_.Value(); }

Napi::Value Mapping::GetLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), state_->mapped ? static_cast<double>(state_->length) : 0);
}

Napi::Value Mapping::GetWritable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), state_->writable);
}

Napi::Value Mapping::GetMapped(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), state_->mapped);
}

Napi::Value Mapping::Unmap(const Napi::CallbackInfo& info) {
  if (state_->mapped) {
    // Detach first: if it failed we must not leave a live buffer over unmapped pages.
    buffer_.Value().Detach();
    state_->Release();
  }
  return info.Env().Undefined();
}

Napi::Value MapFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long page = PageSize();
  const int fd = RequireFd(env, info[0]);
  const int64_t offset = RequireInteger(env, info[1], "offset", 0, kMaxSafeInteger);
  const int64_t maxLength = std::min<uint64_t>(kMaxSafeInteger, SIZE_MAX);
  const int64_t length = RequireInteger(env, info[2], "length", 1, maxLength);
  const bool writable = RequireBoolean(env, info[3], "writable");
  if (offset % page != 0) {
    ThrowOutOfRange(env, "offset must be a multiple of PAGE_SIZE (" + std::to_string(page) +
                             "), got " + std::to_string(offset));
  }
  CheckWithinObject(env, fd, offset + length);
  void* addr = mmap(nullptr, static_cast<size_t>(length), Prot(writable), MAP_SHARED, fd,
                    static_cast<off_t>(offset));
  if (addr == MAP_FAILED) ThrowErrno(env, "mmap", errno);
  return Mapping::Adopt(env, addr, static_cast<size_t>(length), writable);
}

namespace {

std::vector<int64_t> RequirePageIndices(Napi::Env env, const Napi::Value& value, long page) {
  if (!value.IsArray()) ThrowArgType(env, "pageIndices must be an array");
  Napi::Array list = value.As<Napi::Array>();
  const size_t count = list.Length();
  if (count == 0) ThrowOutOfRange(env, "pageIndices must not be empty");
  if (count > kMaxMapPages) {
    ThrowOutOfRange(env, "pageIndices has " + std::to_string(count) + " entries, more than " +
                             std::to_string(kMaxMapPages));
  }
  std::vector<int64_t> indices(count);
  const int64_t maxIndex = std::min<int64_t>(kMaxSafeInteger, kMaxOffset / page - 1);
  for (size_t k = 0; k < count; k++) {
    const std::string what = "pageIndices[" + std::to_string(k) + "]";
    indices[k] = RequireInteger(env, list.Get(static_cast<uint32_t>(k)), what.c_str(), 0, maxIndex);
  }
  return indices;
}

}  // namespace

Napi::Value MapPages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long page = PageSize();
  const int fd = RequireFd(env, info[0]);
  const std::vector<int64_t> indices = RequirePageIndices(env, info[1], page);
  const bool writable = RequireBoolean(env, info[2], "writable");

  int64_t highest = 0;
  for (int64_t index : indices) highest = std::max(highest, index);
  CheckWithinObject(env, fd, (highest + 1) * page);

  // Reserve the whole view first so each MAP_FIXED below lands in address space we own.
  const size_t total = indices.size() * static_cast<size_t>(page);
  char* base = static_cast<char*>(
      mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (base == MAP_FAILED) ThrowErrno(env, "mmap", errno, "reserving the view");

  // One mmap per run of consecutive indices (k, k+1, ...): fewer VMAs, fewer syscalls.
  size_t k = 0;
  while (k < indices.size()) {
    size_t run = 1;
    while (k + run < indices.size() && indices[k + run] == indices[k] + static_cast<int64_t>(run)) {
      run++;
    }
    void* at = mmap(base + k * page, run * page, Prot(writable), MAP_SHARED | MAP_FIXED, fd,
                    static_cast<off_t>(indices[k] * page));
    if (at == MAP_FAILED) {
      const int err = errno;
      munmap(base, total);
      ThrowErrno(env, "mmap", err, "page " + std::to_string(indices[k]) + " at view page " +
                                       std::to_string(k));
    }
    k += run;
  }
  return Mapping::Adopt(env, base, total, writable);
}

long PageSize() {
  static const long size = sysconf(_SC_PAGESIZE);
  return size;
}

}  // namespace xenvfb
