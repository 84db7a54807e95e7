#include "image_gateway/replicas/replay_queue.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <mutex>

#include "image_gateway/util/jitter.hpp"

namespace image_gateway::replicas {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

struct replay_queue::impl {
  impl(redis::client& r, std::size_t c) : redis(r), capacity(std::max<std::size_t>(1, c)) {}

  redis::client& redis;
  const std::size_t capacity;
  std::atomic<bool> closed{false};
  mutable std::mutex mutex;
  std::deque<std::pair<std::uint64_t, write>> waiting;  // with a sequence number each
  std::uint64_t next_sequence = 0;
  bool draining = false;
  std::size_t dropped = 0;

  // The oldest write still worth running, or nullopt (and the drain ends) when none is.
  std::optional<std::pair<std::uint64_t, write>> front() {
    std::lock_guard lock(mutex);
    while (!waiting.empty() && waiting.front().second.until &&
           *waiting.front().second.until <= steady::now()) {
      waiting.pop_front();
    }
    if (closed || waiting.empty()) {
      draining = false;
      return std::nullopt;
    }
    return waiting.front();
  }

  void done_with(std::uint64_t sequence) {
    std::lock_guard lock(mutex);
    if (!waiting.empty() && waiting.front().first == sequence) waiting.pop_front();
  }
};

namespace {

asio::awaitable<void> drain(std::shared_ptr<replay_queue::impl> self) {
  const auto executor = co_await asio::this_coro::executor;
  milliseconds pause{50};
  for (;;) {
    auto next = self->front();
    if (!next) co_return;
    replay_queue::write& w = next->second;
    std::optional<redis::reply> answer;
    if (self->redis.up()) {
      answer = co_await self->redis.run(*w.lua, w.keys, w.args, w.name);
      if (self->closed) co_return;
    }
    if (answer) {
      self->done_with(next->first);
      if (w.done) w.done(*answer);
      pause = milliseconds(50);
      continue;
    }
    // Redis is still away: look again soon (the client reconnects on its own).
    asio::steady_timer timer(executor, jittered(pause));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || self->closed) co_return;
    pause = std::min(pause * 2, milliseconds(500));
  }
}

}  // namespace

replay_queue::replay_queue(redis::client& redis, std::size_t capacity)
    : impl_(std::make_shared<impl>(redis, capacity)) {}

replay_queue::~replay_queue() { impl_->closed = true; }

void replay_queue::push(write w, const asio::any_io_executor& where) {
  bool start = false;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->waiting.size() >= impl_->capacity) {
      impl_->waiting.pop_front();
      ++impl_->dropped;
    }
    impl_->waiting.emplace_back(impl_->next_sequence++, std::move(w));
    start = !impl_->draining;
    impl_->draining = true;
  }
  if (start) asio::co_spawn(where, drain(impl_), asio::detached);
}

std::size_t replay_queue::size() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->waiting.size();
}

std::size_t replay_queue::dropped() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->dropped;
}

}  // namespace image_gateway::replicas
