#include "unix-socket.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "args.h"
#include "errors.h"

namespace xenvfb {

namespace {

// Connections accepted per readiness callback: a burst is taken in one go without
// starving the rest of the loop.
constexpr int kAcceptBatch = 64;

void CloseFd(int fd) {
  // close() is not retried on EINTR on Linux: the fd is gone either way.
  if (fd >= 0) close(fd);
}

Napi::Function RequireListener(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!value.IsFunction()) ThrowArgType(env, std::string(what) + " must be a function");
  return value.As<Napi::Function>();
}

}  // namespace

// ---- UnixListener ---------------------------------------------------------------------

Napi::Function UnixListener::DefineClass(Napi::Env env) {
  return ObjectWrap<UnixListener>::DefineClass(env, "UnixListener",
                                               {
                                                   InstanceMethod<&UnixListener::Resume>("resume"),
                                                   InstanceMethod<&UnixListener::Close>("close"),
                                               });
}

UnixListener::UnixListener(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UnixListener>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowArgType(env, "path must be a string");
  path_ = info[0].As<Napi::String>().Utf8Value();
  const int backlog = static_cast<int>(RequireInteger(env, info[1], "backlog", 1, 65535));
  listener_ = Napi::Persistent(RequireListener(env, info[2], "onConnection"));
  context_ = std::make_unique<Napi::AsyncContext>(env, "xenvfb:unix-listener");

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.empty() || path_.size() >= sizeof addr.sun_path) {
    ThrowErrno(env, "bind", ENAMETOOLONG, "a unix socket path is 1.." + std::to_string(sizeof addr.sun_path - 1) + " bytes",
               path_.c_str());
  }
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) ThrowErrno(env, "socket", errno, "", path_.c_str());
  const bool bound = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (!bound || listen(fd_, backlog) != 0) {
    const int err = errno;
    CloseFd(fd_);
    fd_ = -1;
    if (bound) unlink(path_.c_str());  // the socket file bind() made
    ThrowErrno(env, bound ? "listen" : "bind", err, "", path_.c_str());
  }
  try {
    poll_.Start(env, fd_, path_.c_str(), this);
  } catch (...) {
    CloseFd(fd_);
    fd_ = -1;
    throw;
  }
  Ref();
  selfRef_ = true;
}

void UnixListener::OnReadable(int status) {
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  int failure = status < 0 ? -status : 0;
  for (int k = 0; k < kAcceptBatch && failure == 0 && fd_ >= 0; k++) {
    const int conn = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) failure = errno;
      break;
    }
    try {
      listener_.MakeCallback(Value(), {env.Null(), Napi::Number::New(env, conn)}, *context_);
    } catch (Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }
  if (failure != 0 && fd_ >= 0) {
    // Out of fds (EMFILE, ENFILE) or memory: a level-triggered poll would spin on the
    // pending connection, so accepting waits until the owner resumes it.
    poll_.Pause();
    try {
      listener_.MakeCallback(Value(), {ErrnoError(env, "accept4", failure, "accepting paused", path_.c_str()).Value(), env.Null()},
                             *context_);
    } catch (Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }
}

Napi::Value UnixListener::Resume(const Napi::CallbackInfo& info) {
  if (fd_ >= 0) poll_.Resume(info.Env(), path_.c_str());
  return info.Env().Undefined();
}

void UnixListener::Shutdown(napi_async_cleanup_hook_handle teardown) {
  if (fd_ < 0) return;
  poll_.Close(teardown);
  CloseFd(fd_);
  fd_ = -1;
}

// Stops accepting and closes the socket; the path is the owner's to unlink.
Napi::Value UnixListener::Close(const Napi::CallbackInfo& info) {
  Shutdown();
  if (selfRef_) {
    selfRef_ = false;
    Unref();
  }
  return info.Env().Undefined();
}

// ---- UnixStream -----------------------------------------------------------------------

Napi::Function UnixStream::DefineClass(Napi::Env env) {
  return ObjectWrap<UnixStream>::DefineClass(env, "UnixStream",
                                             {
                                                 InstanceMethod<&UnixStream::Write>("write"),
                                                 InstanceMethod<&UnixStream::SetReading>("setReading"),
                                                 InstanceMethod<&UnixStream::SetWritable>("setWritable"),
                                                 InstanceMethod<&UnixStream::Close>("close"),
                                             });
}

UnixStream::UnixStream(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UnixStream>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  const int fd = RequireFd(env, info[0]);
  if (!info[1].IsBuffer()) ThrowArgType(env, "readBuffer must be a Buffer");
  auto buffer = info[1].As<Napi::Buffer<uint8_t>>();
  if (buffer.Length() == 0) ThrowArgValue(env, "readBuffer must not be empty");
  listener_ = Napi::Persistent(RequireListener(env, info[2], "onEvent"));
  readBuffer_ = Napi::Persistent(buffer);
  readData_ = buffer.Data();
  readLength_ = buffer.Length();
  context_ = std::make_unique<Napi::AsyncContext>(env, "xenvfb:unix-stream");
  poll_.Start(env, fd, "unix stream", this);
  fd_ = fd;  // owned from here on
  Ref();
  selfRef_ = true;
}

void UnixStream::Emit(Napi::Env env, int kind, double value) {
  try {
    listener_.MakeCallback(Value(), {Napi::Number::New(env, kind), Napi::Number::New(env, value)}, *context_);
  } catch (Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

void UnixStream::OnEvents(int status, int events) {
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  if (status < 0) {
    // POLLERR: libuv has stopped the handle.
    reading_ = false;
    wantWritable_ = false;
    Emit(env, 2, -status);
    return;
  }
  if ((events & UV_READABLE) != 0 && reading_) {
    ssize_t n;
    do {
      n = read(fd_, readData_, readLength_);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      Emit(env, 0, static_cast<double>(n));
    } else if (n == 0) {
      reading_ = false;
      Watch(env);
      Emit(env, 1, 0);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      const int err = errno;
      reading_ = false;
      Watch(env);
      Emit(env, 2, err);
    }
  }
  // The listener may have closed the stream or stopped wanting writability.
  if ((events & UV_WRITABLE) != 0 && fd_ >= 0 && wantWritable_) Emit(env, 3, 0);
}

void UnixStream::Watch(Napi::Env env) {
  if (fd_ < 0) return;
  poll_.SetEvents(env, (reading_ ? UV_READABLE : 0) | (wantWritable_ ? UV_WRITABLE : 0), "unix stream");
}

// write(buffer, offset, length) -> bytes the kernel took (0 when it is full), or -errno
// (EPIPE, ECONNRESET: the peer is gone). Never raises SIGPIPE.
Napi::Value UnixStream::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) ThrowArgType(env, "buffer must be a Uint8Array");
  auto bytes = info[0].As<Napi::Uint8Array>();
  const size_t total = bytes.ByteLength();
  const auto offset = static_cast<size_t>(RequireInteger(env, info[1], "offset", 0, static_cast<int64_t>(total)));
  const auto length = static_cast<size_t>(RequireInteger(env, info[2], "length", 0, static_cast<int64_t>(total - offset)));
  if (fd_ < 0) return Napi::Number::New(env, -EBADF);
  ssize_t n;
  do {
    n = send(fd_, bytes.Data() + offset, length, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return Napi::Number::New(env, static_cast<double>(n));
  if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, -errno);
}

// setReading(on): stop or restart reading (a client over its quota is not read from).
Napi::Value UnixStream::SetReading(const Napi::CallbackInfo& info) {
  reading_ = RequireBoolean(info.Env(), info[0], "on");
  Watch(info.Env());
  return info.Env().Undefined();
}

// setWritable(on): report writability (kind 3) while on; for output the kernel refused.
Napi::Value UnixStream::SetWritable(const Napi::CallbackInfo& info) {
  wantWritable_ = RequireBoolean(info.Env(), info[0], "on");
  Watch(info.Env());
  return info.Env().Undefined();
}

void UnixStream::Shutdown(napi_async_cleanup_hook_handle teardown) {
  if (fd_ < 0) return;
  poll_.Close(teardown);
  CloseFd(fd_);
  fd_ = -1;
}

Napi::Value UnixStream::Close(const Napi::CallbackInfo& info) {
  Shutdown();
  if (selfRef_) {
    selfRef_ = false;
    Unref();
  }
  return info.Env().Undefined();
}

void InitUnixSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("UnixListener", UnixListener::DefineClass(env));
  exports.Set("UnixStream", UnixStream::DefineClass(env));
}

}  // namespace xenvfb
