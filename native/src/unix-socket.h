// Unix stream sockets driven by libuv polls on their fds, for the embedded xenstored: a
// request/reply protocol where Node's net.Socket costs more than the work of a request
// (a stream pipeline, a Buffer per read and a write request per reply). A readable socket
// is read once into a buffer the caller lends (one JS call per read, no allocation); a
// reply is written at once with send(2), and only what the kernel refused waits for
// writability. The TS twin is net.Socket itself (shared/xenstore/server/socket-io.ts).
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "fd-poll.h"

namespace xenvfb {

// `new UnixListener(path, backlog, onConnection(error, fd))`: socket, bind and listen on
// `path` (which must not exist); each accepted connection is handed over as a non-blocking,
// close-on-exec fd for a UnixStream. An accept error (EMFILE...) pauses accepting until
// resume().
class UnixListener : public Napi::ObjectWrap<UnixListener>, private FdPollOwner {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit UnixListener(const Napi::CallbackInfo& info);
  ~UnixListener() override { Shutdown(); }

 private:
  void OnReadable(int status) override;
  void OnEnvTeardown(napi_async_cleanup_hook_handle handle) override { Shutdown(handle); }
  void Shutdown(napi_async_cleanup_hook_handle teardown = nullptr);
  Napi::Value Resume(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  napi_env env_;
  int fd_ = -1;
  std::string path_;
  FdPoll poll_;
  bool selfRef_ = false;
  Napi::FunctionReference listener_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

// `new UnixStream(fd, readBuffer, onEvent(kind, value))` owns `fd` (closed by close()).
// onEvent kinds: 0 data (value = bytes read into the start of readBuffer, valid only during
// the call), 1 end of stream, 2 error (value = errno; the stream stops reading), 3 writable.
class UnixStream : public Napi::ObjectWrap<UnixStream>, private FdPollOwner {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit UnixStream(const Napi::CallbackInfo& info);
  ~UnixStream() override { Shutdown(); }

 private:
  void OnReadable(int status) override { OnEvents(status, UV_READABLE); }
  void OnEvents(int status, int events) override;
  void OnEnvTeardown(napi_async_cleanup_hook_handle handle) override { Shutdown(handle); }
  void Shutdown(napi_async_cleanup_hook_handle teardown = nullptr);
  void Emit(Napi::Env env, int kind, double value);
  void Watch(Napi::Env env);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value SetReading(const Napi::CallbackInfo& info);
  Napi::Value SetWritable(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  napi_env env_;
  int fd_ = -1;
  FdPoll poll_;
  bool reading_ = true;
  bool wantWritable_ = false;
  bool selfRef_ = false;
  Napi::Reference<Napi::Buffer<uint8_t>> readBuffer_;
  uint8_t* readData_ = nullptr;
  size_t readLength_ = 0;
  Napi::FunctionReference listener_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

void InitUnixSocket(Napi::Env env, Napi::Object exports);

}  // namespace xenvfb
