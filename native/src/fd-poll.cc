#include "fd-poll.h"

#include <memory>

#include "errors.h"

namespace xenvfb {

void FdPoll::Start(Napi::Env env, int fd, const char* path, FdPollOwner* owner, int events) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "napi_get_uv_event_loop failed");
  auto block = std::make_unique<Block>();
  int rc = uv_poll_init(loop, &block->handle, fd);
  if (rc != 0) ThrowErrno(env, "uv_poll_init", -rc, path, path);  // not initialised: no uv_close
  block->owner = owner;
  block->handle.data = block.get();
  block_ = block.release();
  events_ = events;
  rc = uv_poll_start(&block_->handle, events_, OnPoll);
  if (rc != 0) {
    Close();
    ThrowErrno(env, "uv_poll_start", -rc, path, path);
  }
  polling_ = true;
  if (napi_add_async_cleanup_hook(env, OnCleanup, this, &cleanupHook_) != napi_ok) cleanupHook_ = nullptr;
}

void FdPoll::Close(napi_async_cleanup_hook_handle teardown) {
  if (block_ == nullptr) return;
  if (cleanupHook_ != nullptr) {
    napi_remove_async_cleanup_hook(cleanupHook_);
    cleanupHook_ = nullptr;
  }
  // libuv wants the poll stopped before its fd is closed (which the owner does next).
  uv_poll_stop(&block_->handle);
  block_->owner = nullptr;
  block_->teardown = teardown;
  uv_close(reinterpret_cast<uv_handle_t*>(&block_->handle), OnClosed);
  block_ = nullptr;
  polling_ = false;
}

void FdPoll::Pause() {
  if (block_ != nullptr && polling_) uv_poll_stop(&block_->handle);
  polling_ = false;
}

void FdPoll::Resume(Napi::Env env, const char* path) {
  if (block_ == nullptr || polling_) return;
  const int rc = uv_poll_start(&block_->handle, events_, OnPoll);
  if (rc != 0) ThrowErrno(env, "uv_poll_start", -rc, "", path);
  polling_ = true;
}

void FdPoll::SetEvents(Napi::Env env, int events, const char* path) {
  if (block_ == nullptr) return;
  if (events == 0) {
    Pause();
    return;
  }
  if (polling_ && events == events_) return;
  events_ = events;
  polling_ = false;
  Resume(env, path);  // uv_poll_start on a started handle just changes its events
}

void FdPoll::Ref() {
  if (block_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&block_->handle));
}

void FdPoll::Unref() {
  if (block_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&block_->handle));
}

void FdPoll::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* block = static_cast<Block*>(handle->data);
  if (block->owner == nullptr) return;
  try {
    block->owner->OnEvents(status, events);
  } catch (const Napi::Error&) {
    // No JS frame to throw into: an N-API call failed, which happens when a worker's env is
    // terminating (it can no longer run JS). Listener exceptions never get here (owners
    // pass them to napi_fatal_exception).
  }
}

// Runs on a later loop turn. At env teardown Node keeps the addon loaded until the hook is
// removed, so this code is still there to run.
void FdPoll::OnClosed(uv_handle_t* handle) {
  auto* block = static_cast<Block*>(handle->data);
  napi_async_cleanup_hook_handle teardown = block->teardown;
  delete block;
  if (teardown != nullptr) napi_remove_async_cleanup_hook(teardown);
}

void FdPoll::OnCleanup(napi_async_cleanup_hook_handle handle, void* self) {
  auto* poll = static_cast<FdPoll*>(self);
  poll->cleanupHook_ = nullptr;  // removed by OnClosed, once the handle is closed
  if (poll->block_ != nullptr && poll->block_->owner != nullptr) {
    poll->block_->owner->OnEnvTeardown(handle);
  } else {
    napi_remove_async_cleanup_hook(handle);
  }
}

}  // namespace xenvfb
