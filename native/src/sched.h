// SCHED_BATCH for the threads that encode (sched.cc).
#pragma once

#include <napi.h>

namespace xenvfb {

// Puts the calling thread under SCHED_BATCH; 0, or the errno of the failure (ENOSYS off Linux).
int SetThreadBatch();
// False when XENVFB_NO_SCHED_BATCH=1 (the threads stay SCHED_OTHER).
bool BatchWanted();

void InitSched(Napi::Env env, Napi::Object exports);

}  // namespace xenvfb
