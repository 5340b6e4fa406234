// Errors raised by the addon. Two kinds, both thrown as C++ exceptions that
// node-addon-api turns into JS exceptions at the call boundary:
//  - system call failures: Error with errno (positive, as in <errno.h>), code (the
//    errno name, e.g. 'ENOENT', same names Node uses), syscall, and path when a name
//    was involved;
//  - bad arguments: TypeError / RangeError with Node's own codes (ERR_INVALID_ARG_TYPE,
//    ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE) so callers assert on code, not text.
#pragma once

#include <napi.h>

#include <string>

namespace xenvfb {

// "<syscall> failed: <strerror> (<CODE>)[: <detail>]"
Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err, const std::string& detail = "",
                       const char* path = nullptr);
// ErrnoError, thrown.
[[noreturn]] void ThrowErrno(Napi::Env env, const char* syscall, int err,
                             const std::string& detail = "", const char* path = nullptr);

[[noreturn]] void ThrowArgType(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowArgValue(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowOutOfRange(Napi::Env env, const std::string& message);

}  // namespace xenvfb
