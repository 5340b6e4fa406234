// turbojpeg.submit(pixels, offset, width, height, stride, pixelFormat, quality, subsampling)
//   -> JpegJob: the same arguments and checks as turbojpeg.compress, but the image is
//   compressed on one of this environment's pool threads; job.take() waits for it and returns
//   the JFIF image (or throws what compress would have thrown). take() at most once.
// turbojpeg.threads: how many pool threads there are (the CPUs, 2..4).
//
// The job keeps a reference to `pixels`, so the memory stays alive until take(); the caller
// must not transfer or detach it before then (encode-frame.ts takes every job of a frame
// before the frame's snapshot goes back). Each pool thread has its own JpegCompressor
// (jpeg.h). A job collected without take() waits for its thread first, so no thread writes
// freed memory.
#include "jpeg-pool.h"

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "jpeg.h"
#include "sched.h"

#ifdef XENVFB_HAVE_TURBOJPEG
#include <turbojpeg.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace xenvfb {

namespace {

struct Job {
  const unsigned char* src = nullptr;
  int width = 0, height = 0, stride = 0, pf = 0, quality = 0, subsamp = 0;
  std::vector<unsigned char> out;
  std::string error;
  bool done = false;
};

class Pool {
 public:
  Pool() {
    const unsigned cpus = std::thread::hardware_concurrency();
    const unsigned n = std::clamp(cpus == 0 ? 2u : cpus, 2u, 4u);
    for (unsigned i = 0; i < n; i++) threads_.emplace_back([this] { Run(); });
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    work_.notify_all();
    for (auto& t : threads_) t.join();
  }

  size_t size() const { return threads_.size(); }

  void Submit(std::shared_ptr<Job> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(job));
    }
    work_.notify_one();
  }

  void Wait(const std::shared_ptr<Job>& job) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return job->done; });
  }

 private:
  void Run() {
    if (BatchWanted()) SetThreadBatch();  // best effort: see sched.cc
    JpegCompressor compressor;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) break;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      const unsigned char* out = nullptr;
      unsigned long size = 0;
      if (compressor.Compress(job->src, job->width, job->height, job->stride, job->pf, job->quality, job->subsamp,
                              &out, &size, &job->error)) {
        job->out.assign(out, out + size);
      }
      compressor.ReleaseLarge();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        job->done = true;
      }
      done_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable done_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

// The environment's pool, shared with its jobs: it stops (joining its threads) once the
// environment and every job are gone, in whichever order a worker's teardown runs them.
std::shared_ptr<Pool> PoolOf(Napi::Env env) {
  auto* data = env.GetInstanceData<AddonData>();
  if (!data->jpegPool) data->jpegPool = std::make_shared<Pool>();
  return std::static_pointer_cast<Pool>(data->jpegPool);
}

class JpegJob : public Napi::ObjectWrap<JpegJob> {
 public:
  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<JpegJob>::DefineClass(env, "JpegJob", {InstanceMethod<&JpegJob::Take>("take")});
  }

  explicit JpegJob(const Napi::CallbackInfo& info) : ObjectWrap<JpegJob>(info) {}

  ~JpegJob() override {
    if (job_ && pool_) pool_->Wait(job_);
  }

  void Start(std::shared_ptr<Pool> pool, std::shared_ptr<Job> job, Napi::Object pixels) {
    pool_ = std::move(pool);
    job_ = std::move(job);
    pixels_ = Napi::Persistent(pixels);
    pool_->Submit(job_);
  }

 private:
  Napi::Value Take(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!job_) throw Napi::Error::New(env, "JpegJob.take() called twice");
    pool_->Wait(job_);
    std::shared_ptr<Job> job = std::move(job_);
    job_.reset();
    pixels_.Reset();
    if (!job->error.empty()) ThrowTurboError(env, job->error);
    return Napi::Buffer<unsigned char>::Copy(env, job->out.data(), job->out.size());
  }

  std::shared_ptr<Pool> pool_;
  std::shared_ptr<Job> job_;
  Napi::ObjectReference pixels_;
};

Napi::Value Submit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const JpegArgs a = RequireJpegArgs(info);
  auto job = std::make_shared<Job>();
  job->src = a.pixels.Data() + a.offset;
  job->width = a.width;
  job->height = a.height;
  job->stride = a.stride;
  job->pf = a.pf;
  job->quality = a.quality;
  job->subsamp = a.subsamp;
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Object wrapper = data->jpegJobConstructor.New({});
  JpegJob::Unwrap(wrapper)->Start(PoolOf(env), std::move(job), a.pixels);
  return wrapper;
}

}  // namespace

void InitJpegPool(Napi::Env env, Napi::Object turbojpeg) {
  auto* data = env.GetInstanceData<AddonData>();
  data->jpegJobConstructor = Napi::Persistent(JpegJob::DefineClass(env));
  turbojpeg.Set("submit", Napi::Function::New<Submit>(env, "submit"));
  const unsigned cpus = std::thread::hardware_concurrency();
  turbojpeg.Set("threads", Napi::Number::New(env, std::clamp(cpus == 0 ? 2u : cpus, 2u, 4u)));
}

}  // namespace xenvfb

#else

namespace xenvfb {

void InitJpegPool(Napi::Env, Napi::Object) {}

}  // namespace xenvfb

#endif
