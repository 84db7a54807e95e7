#include "image_gateway/log/log_sink.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace image_gateway {
namespace {

using namespace std::chrono_literals;

// A pipe whose read end the test controls: nobody reads it until read_all() is called.
struct test_pipe {
  int read_fd = -1;
  int write_fd = -1;
  test_pipe() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    read_fd = fds[0];
    write_fd = fds[1];
  }
  ~test_pipe() {
    if (read_fd >= 0) ::close(read_fd);
    if (write_fd >= 0) ::close(write_fd);
  }
  // Reads what is there now, without waiting for more.
  std::string drain() {
    std::string text;
    char chunk[65536];
    while (true) {
      pollfd p{read_fd, POLLIN, 0};
      if (::poll(&p, 1, 0) != 1) break;
      const ssize_t n = ::read(read_fd, chunk, sizeof chunk);
      if (n <= 0) break;
      text.append(chunk, static_cast<std::size_t>(n));
    }
    return text;
  }
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    out.push_back(text.substr(start, end - start));
  }
  EXPECT_EQ(start, text.size()) << "a line was cut";
  return out;
}

std::string numbered(int i, std::size_t width = 100) {
  std::string line = "line " + std::to_string(i) + " ";
  line.resize(width, 'x');
  return line + "\n";
}

TEST(LogSink, StopWritesEverythingQueued) {
  test_pipe pipe;
  std::string seen;
  {
    // An interval far beyond the test: only stop() can have written the lines.
    log_sink sink(pipe.write_fd, {.chunk_bytes = 1 << 20, .flush_interval = 1h});
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(sink.submit(numbered(i)));
    EXPECT_TRUE(sink.stop(10s));
    EXPECT_EQ(sink.written(), 100u);
    EXPECT_FALSE(sink.submit("after stop\n"));
    EXPECT_EQ(sink.dropped(), 1u);
  }
  seen = pipe.drain();
  const auto lines = split_lines(seen);
  ASSERT_EQ(lines.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(lines[i] + "\n", numbered(i));
}

TEST(LogSink, LinesAreWrittenWithinTheIntervalWithoutAFlush) {
  test_pipe pipe;
  log_sink sink(pipe.write_fd, {.flush_interval = 50ms});
  sink.submit("one\n");
  std::string seen;
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (seen.empty() && std::chrono::steady_clock::now() < give_up) {
    pollfd p{pipe.read_fd, POLLIN, 100};
    if (::poll(&p, 1, 100) == 1) seen = pipe.drain();
  }
  EXPECT_EQ(seen, "one\n");
}

TEST(LogSink, FlushWaitsForTheLinesBeforeIt) {
  test_pipe pipe;
  log_sink sink(pipe.write_fd, {.flush_interval = 1h});
  for (int i = 0; i < 10; ++i) sink.submit(numbered(i));
  EXPECT_TRUE(sink.flush(10s));
  EXPECT_EQ(split_lines(pipe.drain()).size(), 10u);
}

TEST(LogSink, AStalledOutputDropsAndCountsButNeverBlocks) {
  test_pipe pipe;  // nobody reads until the end: the pipe (64 KiB) fills, the writer blocks
  constexpr std::size_t bound = 256 * 1024;
  log_sink sink(pipe.write_fd,
                {.chunk_bytes = 4096, .max_pending_bytes = bound, .flush_interval = 10ms});
  constexpr int total = 20000;  // 2 MB of lines: far more than the pipe and the bound hold
  int accepted = 0;
  for (int i = 0; i < total; ++i) accepted += sink.submit(numbered(i)) ? 1 : 0;
  // Reaching this line is the point: submit() returned every time while the pipe was full.
  EXPECT_GT(sink.dropped(), 0u);
  EXPECT_EQ(sink.dropped(), static_cast<std::uint64_t>(total - accepted));
  EXPECT_LE(static_cast<std::size_t>(accepted) * 101, bound + 64 * 1024 + 4096 * 2)
      << "more was kept than the bound and the pipe allow";

  // Once someone reads, every accepted line arrives whole, in order.
  std::atomic<bool> done{false};
  std::string seen;
  std::thread reader([&] {
    while (!done) {
      pollfd p{pipe.read_fd, POLLIN, 0};
      if (::poll(&p, 1, 20) == 1) seen += pipe.drain();
    }
    seen += pipe.drain();
  });
  EXPECT_TRUE(sink.flush(30s));
  done = true;
  reader.join();
  const auto lines = split_lines(seen);
  EXPECT_EQ(lines.size(), static_cast<std::size_t>(accepted));
  int previous = -1;
  for (const auto& line : lines) {
    ASSERT_EQ(line.size(), 100u) << line;
    const int number = std::stoi(line.substr(5));
    EXPECT_GT(number, previous);
    previous = number;
  }
}

TEST(LogSink, ALineOverTheBoundIsDropped) {
  test_pipe pipe;
  log_sink sink(pipe.write_fd, {.chunk_bytes = 64, .max_pending_bytes = 1000});
  EXPECT_FALSE(sink.submit(std::string(2000, 'x') + "\n"));
  EXPECT_TRUE(sink.submit(std::string(500, 'y') + "\n"));  // bigger than a chunk: still whole
  EXPECT_TRUE(sink.flush(10s));
  EXPECT_EQ(sink.dropped(), 1u);
  EXPECT_EQ(pipe.drain(), std::string(500, 'y') + "\n");
}

TEST(LogSink, AFailedWriteCountsItsLinesAndStopStillEnds) {
  std::signal(SIGPIPE, SIG_IGN);
  test_pipe pipe;
  ::close(pipe.read_fd);  // writes now fail with EPIPE
  pipe.read_fd = -1;
  log_sink sink(pipe.write_fd, {.flush_interval = 1h});
  for (int i = 0; i < 5; ++i) sink.submit(numbered(i));
  EXPECT_TRUE(sink.stop(10s));
  EXPECT_EQ(sink.dropped(), 5u);
  EXPECT_EQ(sink.written(), 0u);
}

TEST(LogSink, ConcurrentWritersNeverInterleave) {
  test_pipe pipe;
  std::string seen;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      pollfd p{pipe.read_fd, POLLIN, 0};
      if (::poll(&p, 1, 20) == 1) seen += pipe.drain();
    }
    seen += pipe.drain();
  });
  {
    log_sink sink(pipe.write_fd, {.chunk_bytes = 1024, .flush_interval = 5ms});
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([&sink, t] {
        for (int i = 0; i < 2000; ++i) {
          sink.submit(std::string(50 + i % 300, static_cast<char>('a' + t)) + "\n");
        }
      });
    }
    for (auto& writer : writers) writer.join();
    EXPECT_TRUE(sink.stop(30s));
    EXPECT_EQ(sink.dropped(), 0u);
  }
  done = true;
  reader.join();
  const auto lines = split_lines(seen);
  ASSERT_EQ(lines.size(), 8000u);
  for (const auto& line : lines) {
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.find_first_not_of(line[0]), std::string::npos) << "interleaved: " << line;
  }
}

}  // namespace
}  // namespace image_gateway
