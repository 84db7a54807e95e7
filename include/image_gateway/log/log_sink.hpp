#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace image_gateway {

struct log_sink_options {
  std::size_t chunk_bytes = 64 * 1024;              // lines are handed to the writer in chunks
  std::size_t max_pending_bytes = 8 * 1024 * 1024;  // more waiting than this: lines are dropped
  std::chrono::milliseconds flush_interval{200};    // a line waits at most this long (plus I/O)
};

// Lines go into a bounded in-memory buffer; ONE writer thread owns the file descriptor and
// writes whole chunks with writev. Callers never wait for I/O: when the descriptor stalls (a
// blocked pipe) and the buffer is full, new lines are dropped and counted. Each line is written
// whole, never interleaved with another.
class log_sink {
 public:
  explicit log_sink(int fd, log_sink_options options = {});
  ~log_sink();  // stop()

  log_sink(const log_sink&) = delete;
  log_sink& operator=(const log_sink&) = delete;

  // Queues one line (it must end with '\n'); false when it was dropped. Never blocks on I/O:
  // it takes a lock that the writer holds only to swap buffers.
  bool submit(std::string_view line);
  // Asks the writer to write what is queued now rather than at the next interval.
  void kick();
  // Waits until every line submitted before the call is written (or dropped by a failed
  // write), at most `limit`; false on time-out (a stalled descriptor).
  bool flush(std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Writes what is queued, then ends the writer thread: waits at most `limit` for the writes;
  // false when they did not finish (the thread is then left blocked and detached on exit).
  // Lines submitted after stop() are dropped and counted.
  bool stop(std::chrono::milliseconds limit = std::chrono::seconds(10));

  std::uint64_t dropped() const;
  std::uint64_t written() const;  // lines written so far

 private:
  struct chunk {
    std::string bytes;
    std::uint64_t lines = 0;
  };
  void run();
  void write_all(std::vector<chunk>& chunks);  // writer thread, without the lock
  void seal_current();                         // with mutex_ held

  const int fd_;
  const log_sink_options options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_writer_;
  std::condition_variable progress_;  // the writer finished a batch
  chunk current_;
  std::vector<chunk> sealed_;
  std::vector<std::string> spare_;  // emptied chunk buffers, reused
  std::size_t pending_bytes_ = 0;   // in current_ and sealed_ and in the writer's hands
  std::uint64_t submitted_ = 0;     // lines accepted
  std::uint64_t done_ = 0;          // lines written or lost to a failed write
  std::uint64_t written_ = 0;
  std::uint64_t dropped_ = 0;
  bool idle_ = false;  // the writer sleeps until something arrives
  bool urgent_ = false;
  bool stopping_ = false;
  bool finished_ = false;
  std::thread writer_;
};

}  // namespace image_gateway
