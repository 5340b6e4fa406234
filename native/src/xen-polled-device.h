// The part every polled /dev/xen/* handle (evtchn, xenbus) shares: `new T(listener, path?)`
// opens the node O_NONBLOCK and polls it (fd-poll.h); the listener is called through an
// async context, and what it throws becomes an uncaught exception; an open handle keeps
// itself and the loop alive like a socket until close(); ref()/unref()/close()/closed.
#pragma once

#include <fcntl.h>
#include <napi.h>

#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

#include "errors.h"
#include "fd-poll.h"
#include "xen-device.h"

namespace xenvfb {
namespace xen {

template <typename T>
class PolledDevice : public Napi::ObjectWrap<T>, private FdPollOwner {
 public:
  ~PolledDevice() override { Shutdown(); }  // with the poll still open only if no cleanup hook

 protected:
  using Methods = std::vector<typename Napi::ObjectWrap<T>::PropertyDescriptor>;

  // info[0] must be the listener (`listenerName` in the TypeError), info[1] the optional path.
  PolledDevice(const Napi::CallbackInfo& info, const char* listenerName, const char* resource, const char* defaultPath)
      : Napi::ObjectWrap<T>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) ThrowArgType(env, std::string(listenerName) + " must be a function");
    listener_ = Napi::Persistent(info[0].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(env, resource);
    fd_ = OpenDevice(env, DevicePath(env, info[1], defaultPath), O_NONBLOCK);
    try {
      poll_.Start(env, fd_->fd(), fd_->path(), this);
    } catch (...) {
      fd_.reset();
      throw;
    }
    this->Ref();
    selfRef_ = true;
  }

  // `own` plus ref/unref/close/closed, for T::DefineClass.
  static Methods WithCommon(std::initializer_list<typename Napi::ObjectWrap<T>::PropertyDescriptor> own) {
    using Wrap = Napi::ObjectWrap<T>;
    using Method = Napi::Value (T::*)(const Napi::CallbackInfo&);
    Methods all(own);
    all.push_back(Wrap::InstanceMethod("ref", static_cast<Method>(&PolledDevice::RefLoop)));
    all.push_back(Wrap::InstanceMethod("unref", static_cast<Method>(&PolledDevice::UnrefLoop)));
    all.push_back(Wrap::InstanceMethod("close", static_cast<Method>(&PolledDevice::Close)));
    all.push_back(Wrap::InstanceAccessor("closed", static_cast<Method>(&PolledDevice::GetClosed), nullptr));
    return all;
  }

  // Calls the listener with `args`; what it throws becomes an uncaught exception, as an
  // 'error' thrown from a socket callback would be.
  void CallListener(Napi::Env env, std::initializer_list<napi_value> args) {
    try {
      listener_.MakeCallback(this->Value(), args, *context_);
    } catch (Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  // Stops polling and closes the fd (what that releases is the device's business); no JS.
  void Shutdown(napi_async_cleanup_hook_handle teardown = nullptr) {
    if (!poll_.open()) return;
    poll_.Close(teardown);
    fd_.reset();
  }

  napi_env env_;
  std::shared_ptr<DeviceFd> fd_;
  FdPoll poll_;

 private:
  void OnEnvTeardown(napi_async_cleanup_hook_handle handle) override { Shutdown(handle); }

  Napi::Value RefLoop(const Napi::CallbackInfo& info) {
    poll_.Ref();
    return info.Env().Undefined();
  }
  Napi::Value UnrefLoop(const Napi::CallbackInfo& info) {
    poll_.Unref();
    return info.Env().Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    if (selfRef_) {
      selfRef_ = false;
      this->Unref();
    }
    return info.Env().Undefined();
  }
  Napi::Value GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !poll_.open()); }

  bool selfRef_ = false;
  Napi::FunctionReference listener_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace xen
}  // namespace xenvfb
