#pragma once
// Writes that could not reach Redis, run once it answers again: the id a replica uploaded alone
// (so the replicas converge on one id per image), the release of a lock whose claim timed out
// (Redis may have run it after the replica stopped waiting). Oldest first, each retried until
// Redis answers it; at most `capacity` wait, beyond that the oldest is dropped.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image_gateway/redis/client.hpp"

namespace image_gateway::replicas {

class replay_queue {
 public:
  using done_fn = std::function<void(const redis::reply&)>;

  // `redis` must outlive this queue; `capacity` at least 1.
  explicit replay_queue(redis::client& redis, std::size_t capacity = 1024);
  // After destruction no queued write runs and no `done` is called.
  ~replay_queue();
  replay_queue(const replay_queue&) = delete;
  replay_queue& operator=(const replay_queue&) = delete;

  struct write {
    const redis::script* lua = nullptr;  // a script with static storage (the client keeps none)
    std::vector<std::string> keys;
    std::vector<std::string> args;
    std::string_view name;  // a string literal, as for redis::client
    // Past this, the write is pointless (the id it stores has expired): dropped instead.
    std::optional<std::chrono::steady_clock::time_point> until;
    done_fn done;  // Redis's answer (any shape: the callee checks it); may be empty
  };

  // Queues `w`; the queue is drained on `where` (by one coroutine at a time).
  void push(write w, const boost::asio::any_io_executor& where);

  // Writes waiting now, and writes dropped because the queue was full (tests, metrics).
  std::size_t size() const;
  std::size_t dropped() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace image_gateway::replicas
