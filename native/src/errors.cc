#include "errors.h"

#include <string.h>
#include <uv.h>

namespace xenvfb {

namespace {

// strerror_r is the XSI (int) or GNU (char*) flavour depending on the libc.
[[maybe_unused]] std::string FromStrerror(int rc, const char* buf) { return rc == 0 ? buf : "Unknown error"; }
[[maybe_unused]] std::string FromStrerror(const char* msg, const char*) { return msg; }

std::string Describe(int err) {
  char buf[128] = {0};
  return FromStrerror(strerror_r(err, buf, sizeof buf), buf);
}

// libuv's names are Node's names (err.code of fs errors); on Unix UV_Exxx == -Exxx.
std::string ErrnoName(int err) {
  char buf[64] = {0};
  uv_err_name_r(-err, buf, sizeof buf);
  if (strncmp(buf, "Unknown", 7) == 0) return "E" + std::to_string(err);
  return buf;
}

[[noreturn]] void ThrowCoded(Napi::Error error, const char* code) {
  error.Set("code", Napi::String::New(error.Env(), code));
  throw error;
}

}  // namespace

Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const std::string& detail,
                       const char* path) {
  const std::string code = ErrnoName(err);
  std::string message = std::string(syscall) + " failed: " + Describe(err) + " (" + code + ")";
  if (!detail.empty()) message += ": " + detail;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("code", Napi::String::New(env, code));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (path != nullptr) error.Set("path", Napi::String::New(env, path));
  return error;
}

void ThrowErrno(Napi::Env env, const char* syscall, int err, const std::string& detail,
                const char* path) {
  throw ErrnoError(env, syscall, err, detail, path);
}

void ThrowArgType(Napi::Env env, const std::string& message) {
  ThrowCoded(Napi::TypeError::New(env, message), "ERR_INVALID_ARG_TYPE");
}

void ThrowArgValue(Napi::Env env, const std::string& message) {
  ThrowCoded(Napi::TypeError::New(env, message), "ERR_INVALID_ARG_VALUE");
}

void ThrowOutOfRange(Napi::Env env, const std::string& message) {
  ThrowCoded(Napi::RangeError::New(env, message), "ERR_OUT_OF_RANGE");
}

}  // namespace xenvfb
