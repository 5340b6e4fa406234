#include "args.h"

#include <limits.h>

#include <cmath>

#include "errors.h"

namespace xenvfb {

namespace {

std::string TypeName(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_object: return value.IsArray() ? "array" : "object";
    case napi_function: return "function";
    case napi_external: return "external";
    case napi_bigint: return "bigint";
  }
  return "unknown";
}

}  // namespace

int64_t RequireInteger(Napi::Env env, const Napi::Value& value, const char* what, int64_t min,
                       int64_t max) {
  if (!value.IsNumber()) {
    ThrowArgType(env, std::string(what) + " must be a number, got " + TypeName(value));
  }
  const double d = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::trunc(d) != d) {
    ThrowOutOfRange(env, std::string(what) + " must be an integer, got " +
                             value.ToString().Utf8Value());
  }
  if (d < static_cast<double>(min) || d > static_cast<double>(max)) {
    ThrowOutOfRange(env, std::string(what) + " must be in [" + std::to_string(min) + ", " +
                             std::to_string(max) + "], got " + value.ToString().Utf8Value());
  }
  return static_cast<int64_t>(d);
}

int RequireFd(Napi::Env env, const Napi::Value& value) {
  return static_cast<int>(RequireInteger(env, value, "fd", 0, INT_MAX));
}

bool RequireBoolean(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!value.IsBoolean()) {
    ThrowArgType(env, std::string(what) + " must be a boolean, got " + TypeName(value));
  }
  return value.As<Napi::Boolean>().Value();
}

bool OptionalBoolean(Napi::Env env, const Napi::Object& object, const char* key, bool fallback) {
  Napi::Value value = object.Get(key);
  if (value.IsUndefined()) return fallback;
  return RequireBoolean(env, value, (std::string("opts.") + key).c_str());
}

std::string RequireShmName(Napi::Env env, const Napi::Value& value) {
  if (!value.IsString()) {
    ThrowArgType(env, "name must be a string, got " + TypeName(value));
  }
  const std::string name = value.As<Napi::String>().Utf8Value();
  const bool shaped = name.size() >= 2 && name.size() <= NAME_MAX + 1 && name[0] == '/' &&
                      name.find('/', 1) == std::string::npos &&
                      name.find('\0') == std::string::npos;
  if (!shaped) {
    ThrowArgValue(env, "name must be '/' followed by 1.." + std::to_string(NAME_MAX) +
                           " characters without '/', got '" + name + "'");
  }
  return name;
}

bool IsTypedArrayOf(const Napi::Value& value, napi_typedarray_type type) {
  return value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == type;
}

}  // namespace xenvfb
