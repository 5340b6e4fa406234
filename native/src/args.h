// Argument checks done in C++ so a wrong call can never reach a system call.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace xenvfb {

// Largest integer a JS number holds exactly (Number.MAX_SAFE_INTEGER).
constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

// A number that is an integer in [min, max]; TypeError if not a number, RangeError otherwise.
int64_t RequireInteger(Napi::Env env, const Napi::Value& value, const char* what, int64_t min,
                       int64_t max);

int RequireFd(Napi::Env env, const Napi::Value& value);

// A typed array of exactly this element type (napi_uint8_array, napi_uint32_array, ...).
bool IsTypedArrayOf(const Napi::Value& value, napi_typedarray_type type);

bool RequireBoolean(Napi::Env env, const Napi::Value& value, const char* what);

// undefined -> fallback; otherwise must be a boolean.
bool OptionalBoolean(Napi::Env env, const Napi::Object& object, const char* key, bool fallback);

// POSIX shm names: "/" followed by 1..NAME_MAX characters, none of them '/' or NUL.
std::string RequireShmName(Napi::Env env, const Napi::Value& value);

}  // namespace xenvfb
