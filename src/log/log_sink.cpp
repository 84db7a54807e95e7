#include "image_gateway/log/log_sink.hpp"

#include <algorithm>
#include <cerrno>

#include <sys/uio.h>
#include <unistd.h>

namespace image_gateway {
namespace {

constexpr std::size_t max_spare_chunks = 4;
constexpr std::size_t max_iovecs = 64;  // well under IOV_MAX (1024 on Linux)

}  // namespace

log_sink::log_sink(int fd, log_sink_options options) : fd_(fd), options_(options) {
  current_.bytes.reserve(options_.chunk_bytes);
  writer_ = std::thread([this] { run(); });
}

log_sink::~log_sink() {
  stop(std::chrono::milliseconds::max());
  if (writer_.joinable()) writer_.join();
}

bool log_sink::submit(std::string_view line) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || pending_bytes_ + line.size() > options_.max_pending_bytes) {
      ++dropped_;
      return false;
    }
    current_.bytes.append(line);
    ++current_.lines;
    pending_bytes_ += line.size();
    ++submitted_;
    if (current_.bytes.size() >= options_.chunk_bytes) {
      seal_current();
      wake = true;
    }
    if (idle_) {
      idle_ = false;  // one wake-up is enough: the writer now gathers for flush_interval
      wake = true;
    }
  }
  if (wake) wake_writer_.notify_one();
  return true;
}

void log_sink::seal_current() {
  if (current_.bytes.empty()) return;
  sealed_.push_back(std::move(current_));
  current_ = chunk{};
  if (!spare_.empty()) {
    current_.bytes = std::move(spare_.back());
    spare_.pop_back();
  } else {
    current_.bytes.reserve(options_.chunk_bytes);
  }
}

void log_sink::kick() {
  {
    std::lock_guard lock(mutex_);
    urgent_ = true;
  }
  wake_writer_.notify_one();
}

bool log_sink::flush(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = submitted_;
  if (done_ >= target) return true;
  urgent_ = true;
  wake_writer_.notify_one();
  const auto reached = [&] { return done_ >= target || finished_; };
  if (limit == std::chrono::milliseconds::max()) {
    progress_.wait(lock, reached);
  } else {
    progress_.wait_for(lock, limit, reached);
  }
  return done_ >= target;
}

bool log_sink::stop(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  wake_writer_.notify_one();
  const auto reached = [&] { return finished_; };
  if (limit == std::chrono::milliseconds::max()) {
    progress_.wait(lock, reached);
  } else {
    progress_.wait_for(lock, limit, reached);
  }
  const bool done = finished_;
  lock.unlock();
  if (done && writer_.joinable()) writer_.join();
  return done;
}

std::uint64_t log_sink::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

std::uint64_t log_sink::written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

void log_sink::run() {
  std::unique_lock lock(mutex_);
  const auto work = [&] {
    return stopping_ || urgent_ || !sealed_.empty() || !current_.bytes.empty();
  };
  while (true) {
    if (!work()) {
      idle_ = true;
      wake_writer_.wait(lock, work);
      idle_ = false;
    }
    // A first line arrived: let others join it for up to flush_interval, unless a chunk is
    // full, someone waits for the write, or the sink stops.
    if (!stopping_ && !urgent_ && sealed_.empty()) {
      wake_writer_.wait_for(lock, options_.flush_interval,
                            [&] { return stopping_ || urgent_ || !sealed_.empty(); });
    }
    urgent_ = false;
    seal_current();
    std::vector<chunk> batch;
    batch.swap(sealed_);
    lock.unlock();
    write_all(batch);
    lock.lock();
    for (chunk& c : batch) {
      pending_bytes_ -= c.bytes.size();
      done_ += c.lines;
      if (spare_.size() < max_spare_chunks && c.bytes.capacity() <= 2 * options_.chunk_bytes) {
        c.bytes.clear();
        spare_.push_back(std::move(c.bytes));
      }
    }
    progress_.notify_all();
    if (stopping_ && sealed_.empty() && current_.bytes.empty()) break;
  }
  finished_ = true;
  progress_.notify_all();
}

void log_sink::write_all(std::vector<chunk>& chunks) {
  std::size_t next = 0;    // first chunk not fully written
  std::size_t offset = 0;  // bytes of chunks[next] already written
  bool failed = false;
  while (next < chunks.size() && !failed) {
    iovec vectors[max_iovecs];
    int count = 0;
    for (std::size_t i = next; i < chunks.size() && count < static_cast<int>(max_iovecs); ++i) {
      const std::size_t skip = i == next ? offset : 0;
      vectors[count].iov_base = chunks[i].bytes.data() + skip;
      vectors[count].iov_len = chunks[i].bytes.size() - skip;
      ++count;
    }
    const ssize_t n = ::writev(fd_, vectors, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      failed = true;  // EPIPE, EBADF, ENOSPC: nothing more can be written here
      break;
    }
    auto left = static_cast<std::size_t>(n);
    while (left > 0 && next < chunks.size()) {
      const std::size_t in_chunk = chunks[next].bytes.size() - offset;
      if (left >= in_chunk) {
        left -= in_chunk;
        offset = 0;
        std::lock_guard lock(mutex_);
        written_ += chunks[next].lines;
        ++next;
      } else {
        offset += left;
        left = 0;
      }
    }
  }
  if (failed) {
    std::uint64_t lost = 0;
    for (std::size_t i = next; i < chunks.size(); ++i) lost += chunks[i].lines;
    std::lock_guard lock(mutex_);
    dropped_ += lost;
  }
}

}  // namespace image_gateway
