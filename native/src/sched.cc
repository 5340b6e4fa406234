// schedBatch() -> 0 | errno: the calling thread (an encode worker's) becomes SCHED_BATCH.
//
// The backend's main thread turns requests into jobs and writes what the encoders give back
// to the sockets; the encode workers and the JPEG pool threads (jpeg-pool.cc) do the long
// work. Under SCHED_OTHER, waking a worker (postMessage, a JPEG job) may preempt the thread
// that woke it on the same CPU: on a 2-vCPU host the main thread then sat in postMessage for
// 1-3.5 ms (p90 1.1 ms) while the worker it had just woken classified the frame, and the first
// parts of the frame waited with it. CFS never preempts on the wake-up of a SCHED_BATCH
// thread, which otherwise gets its fair share as before (sched(7)); no privilege is needed.
// XENVFB_NO_SCHED_BATCH=1 leaves every thread as it is (read here for the pool threads, in
// backend/updates/encode-worker-host.ts for the workers).
#include "sched.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#endif

namespace xenvfb {

int SetThreadBatch() {
#ifdef __linux__
  sched_param param{};
  param.sched_priority = 0;
  return pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
#else
  return ENOSYS;
#endif
}

bool BatchWanted() {
  const char* v = std::getenv("XENVFB_NO_SCHED_BATCH");
  return v == nullptr || std::strcmp(v, "1") != 0;
}

namespace {

Napi::Value SchedBatch(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), SetThreadBatch()); }

}  // namespace

void InitSched(Napi::Env env, Napi::Object exports) {
  exports.Set("schedBatch", Napi::Function::New<SchedBatch>(env, "schedBatch"));
}

}  // namespace xenvfb
