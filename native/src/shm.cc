#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "errors.h"

namespace xenvfb {

namespace {

struct ShmOptions {
  bool create = false;
  bool exclusive = false;
  bool readonly = false;
  bool hasSize = false;
  int64_t size = 0;
};

ShmOptions ReadOptions(Napi::Env env, const Napi::Value& value) {
  ShmOptions opts;
  if (value.IsUndefined()) return opts;
  if (!value.IsObject() || value.IsArray()) ThrowArgType(env, "opts must be an object");
  Napi::Object object = value.As<Napi::Object>();
  opts.create = OptionalBoolean(env, object, "create", false);
  opts.exclusive = OptionalBoolean(env, object, "exclusive", false);
  opts.readonly = OptionalBoolean(env, object, "readonly", false);
  Napi::Value size = object.Get("size");
  if (!size.IsUndefined()) {
    opts.hasSize = true;
    opts.size = RequireInteger(env, size, "opts.size", 0, kMaxSafeInteger);
  }
  if (opts.exclusive && !opts.create) ThrowArgValue(env, "opts.exclusive needs opts.create");
  if (opts.hasSize && !opts.create) ThrowArgValue(env, "opts.size needs opts.create");
  if (opts.hasSize && opts.readonly) {
    ThrowArgValue(env, "opts.size cannot be set on a readonly open");
  }
  return opts;
}

}  // namespace

Napi::Value ShmOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = RequireShmName(env, info[0]);
  const ShmOptions opts = ReadOptions(env, info[1]);
  const int flags = (opts.readonly ? O_RDONLY : O_RDWR) | (opts.create ? O_CREAT : 0) |
                    (opts.exclusive ? O_EXCL : 0) | O_CLOEXEC;
  int fd;
  do {
    fd = shm_open(name.c_str(), flags, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) ThrowErrno(env, "shm_open", errno, name, name.c_str());

  if (opts.hasSize) {
    int rc;
    do {
      rc = ftruncate(fd, static_cast<off_t>(opts.size));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      const int err = errno;
      // Only an exclusive open proves we created the object, so only then remove it.
      if (opts.exclusive) shm_unlink(name.c_str());
      close(fd);
      ThrowErrno(env, "ftruncate", err, name + " to " + std::to_string(opts.size) + " bytes",
                 name.c_str());
    }
  }
  return Napi::Number::New(env, fd);
}

Napi::Value ShmUnlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = RequireShmName(env, info[0]);
  if (shm_unlink(name.c_str()) != 0) ThrowErrno(env, "shm_unlink", errno, name, name.c_str());
  return env.Undefined();
}

}  // namespace xenvfb
