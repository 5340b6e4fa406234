// A libuv poll on a non-blocking device fd, for the handles whose device signals readiness
// (/dev/xen/evtchn, /dev/xen/xenbus): JS never blocks and no thread-pool thread sits in
// read(). The poll block is owned by libuv from uv_close() until its close callback frees
// it. When a worker's env goes away with the handle still open, an async cleanup hook
// closes it first, so neither the loop nor the addon goes while the handle is alive.
#pragma once

#include <napi.h>
#include <uv.h>

namespace xenvfb {

class FdPollOwner {
 public:
  // The fd is readable (status 0), or libuv reports POLLERR (status < 0; polling stopped).
  // Napi::Errors it lets out (N-API failures in a terminating env) are dropped.
  virtual void OnReadable(int status) = 0;
  // Every poll callback: `events` is what libuv saw (UV_READABLE | UV_WRITABLE). Owners that
  // poll for readability only keep this default.
  virtual void OnEvents(int status, int /*events*/) { OnReadable(status); }
  // The env is being torn down: stop (FdPoll::Close(handle)) and release the fd.
  virtual void OnEnvTeardown(napi_async_cleanup_hook_handle handle) = 0;

 protected:
  ~FdPollOwner() = default;
};

class FdPoll {
 public:
  FdPoll() = default;
  FdPoll(const FdPoll&) = delete;
  FdPoll& operator=(const FdPoll&) = delete;
  ~FdPoll() { Close(); }

  // Starts polling `fd` for `events` (readability unless told); throws the errno error of
  // uv_poll_* (with `path`).
  void Start(Napi::Env env, int fd, const char* path, FdPollOwner* owner, int events = UV_READABLE);
  // Stops polling for good. `teardown`: the env cleanup hook whose removal the close
  // callback signals (env teardown only). Idempotent.
  void Close(napi_async_cleanup_hook_handle teardown = nullptr);
  // Pauses after an error / resumes polling; both no-ops once closed.
  void Pause();
  void Resume(Napi::Env env, const char* path);
  // Polls for `events` from now on (0 pauses; Resume() then restores the last non-zero set).
  void SetEvents(Napi::Env env, int events, const char* path);
  // Whether the poll keeps the event loop alive.
  void Ref();
  void Unref();

  bool open() const { return block_ != nullptr; }
  bool polling() const { return polling_; }

 private:
  struct Block {
    uv_poll_t handle;
    FdPollOwner* owner = nullptr;  // null once closed
    napi_async_cleanup_hook_handle teardown = nullptr;
  };
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnClosed(uv_handle_t* handle);
  static void OnCleanup(napi_async_cleanup_hook_handle handle, void* self);

  Block* block_ = nullptr;
  bool polling_ = false;
  int events_ = UV_READABLE;
  napi_async_cleanup_hook_handle cleanupHook_ = nullptr;
};

}  // namespace xenvfb
