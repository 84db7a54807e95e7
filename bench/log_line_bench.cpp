// Micro-benchmark of the access log on the calling (I/O) thread: the cost of one per-request
// line as gateway::impl::finish() writes it (format into the per-thread buffer, hand it to the
// sink), beside the same line built the way it was before issue 10 (an nlohmann::json object,
// dumped, written and flushed under a mutex). Output goes to /dev/null, so the figures are the
// CPU cost of a line, not of a disk or a pipe: the calling thread's CPU time per line, the
// least of three rounds.
//
// Usage: bench-log-line [LINES] [THREADS]   (defaults: 200000 lines, 1 thread)
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "image_gateway/log/logger.hpp"

using namespace image_gateway;

namespace {

// The fields of a typical refused request (a 401), as finish() logs them.
void fill(json_writer& line, int i) {
  line.member("request_id", "4f1c0a9e2b7d4c3a8e5f6a7b8c9d0e1f");
  line.member("remote", "127.0.0.1:53124");
  line.member("app_key", "");
  line.member("method", "POST");
  line.member("path", "/v4/image/oppo");
  line.member("status", 401);
  line.member("code", 23001);
  line.member("duration_ms", 0.0123 + i * 1e-7);
  line.member("error", "unauthorized");
}

// CPU time of the calling thread: what a line costs the I/O thread, not the time it spent
// waiting for a core on a busy machine.
double thread_cpu_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

// Runs `work(count)` on `threads` threads, three times; the least CPU per line of a thread
// (other work on the machine only ever adds to it: cache misses, migrations).
template <class Work>
double measure(int threads, long lines, Work work) {
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> pool;
    std::vector<double> costs(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const double started = thread_cpu_ns();
        work(lines / threads);
        costs[static_cast<std::size_t>(t)] =
            (thread_cpu_ns() - started) / static_cast<double>(lines / threads);
      });
    }
    for (auto& thread : pool) thread.join();
    double sum = 0;
    for (const double cost : costs) sum += cost;
    const double mean = sum / threads;
    best = round == 0 ? mean : std::min(best, mean);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const long lines = argc > 1 ? std::atol(argv[1]) : 200000;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  if (lines <= 0 || threads <= 0) {
    std::fprintf(stderr, "usage: bench-log-line [LINES] [THREADS]\n");
    return 2;
  }
  std::FILE* sink = std::fopen("/dev/null", "w");
  if (sink == nullptr) return 1;

  double now_ns = 0;
  std::uint64_t dropped = 0;
  {
    logger log(log_level::info, sink);
    now_ns = measure(threads, lines, [&](long count) {
      for (long i = 0; i < count; ++i) {
        log.write_fields(log_level::info, "request",
                         [i](json_writer& line) { fill(line, static_cast<int>(i)); });
      }
    });
    log.flush();
    dropped = log.dropped();
  }

  // Before: a JSON tree per line, dumped, written and flushed under one mutex.
  std::mutex mutex;
  const double before_ns = measure(threads, lines, [&](long count) {
    for (long i = 0; i < count; ++i) {
      const nlohmann::json fields = {{"request_id", "4f1c0a9e2b7d4c3a8e5f6a7b8c9d0e1f"},
                                     {"remote", "127.0.0.1:53124"},
                                     {"app_key", ""},
                                     {"method", "POST"},
                                     {"path", "/v4/image/oppo"},
                                     {"status", 401},
                                     {"code", 23001},
                                     {"duration_ms", 0.0123 + static_cast<double>(i) * 1e-7},
                                     {"error", "unauthorized"}};
      std::string line =
          "{\"time\":\"2026-11-30T12:00:00.000Z\",\"level\":\"info\",\"msg\":\"request\"";
      for (const auto& [key, value] : fields.items()) {
        line += ',';
        line += nlohmann::json(key).dump();
        line += ':';
        line += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
      line += "}\n";
      const std::lock_guard lock(mutex);
      std::fwrite(line.data(), 1, line.size(), sink);
      std::fflush(sink);
    }
  });
  std::fclose(sink);

  std::printf(
      "log_line_ns=%.0f\nlog_line_before_ns=%.0f\nlog_lines=%ld\nlog_threads=%d\n"
      "log_dropped=%llu\n",
      now_ns, before_ns, lines, threads, static_cast<unsigned long long>(dropped));
  return 0;
}
