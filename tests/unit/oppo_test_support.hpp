#pragma once

// Test doubles for the OPPO unit tests: an http_client that answers from a function on its own
// thread (like curl's), can hold answers back, and records what it was asked; a settable clock;
// a helper that runs one coroutine on an io_context.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "image_gateway/http_client/http_client.hpp"
#include "image_gateway/oppo/protocol.hpp"

namespace image_gateway::oppo::testing {

class test_http_client final : public http_client {
 public:
  using responder = std::function<http_response(const http_request&)>;

  struct record {
    http_request request;
    std::chrono::steady_clock::time_point started;
  };

  explicit test_http_client(responder answer) : answer_(std::move(answer)) {
    worker_ = std::thread([this] { deliver_loop(); });
  }

  ~test_http_client() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }

  transfer_id start(http_request request, completion done) override {
    std::lock_guard lock(mutex_);
    const transfer_id id = ++next_id_;
    records_.push_back({request, std::chrono::steady_clock::now()});
    if (hold_ && hold_(request)) {
      held_.push_back({id, std::move(request), std::move(done)});
      return id;
    }
    queue_.push_back({std::move(done), answer_(request)});
    wake_.notify_all();
    return id;
  }

  void cancel(transfer_id id) override {
    std::lock_guard lock(mutex_);
    ++cancels_;
    for (auto it = held_.begin(); it != held_.end(); ++it) {
      if (it->id == id) {
        http_response cancelled;
        cancelled.status = transfer_status::cancelled;
        queue_.push_back({std::move(it->done), std::move(cancelled)});
        held_.erase(it);
        wake_.notify_all();
        return;
      }
    }
  }

  // Requests matching `which` are held until release_held().
  void hold(std::function<bool(const http_request&)> which) {
    std::lock_guard lock(mutex_);
    hold_ = std::move(which);
  }

  // Answers every held request (with the responder) and stops holding.
  void release_held() {
    std::lock_guard lock(mutex_);
    hold_ = nullptr;
    for (auto& h : held_) queue_.push_back({std::move(h.done), answer_(h.request)});
    held_.clear();
    wake_.notify_all();
  }

  std::size_t held_count() const {
    std::lock_guard lock(mutex_);
    return held_.size();
  }

  std::vector<record> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }

  std::vector<record> records_to(std::string_view url_part) const {
    std::vector<record> matching;
    for (auto& r : records()) {
      if (r.request.url.find(url_part) != std::string::npos) matching.push_back(r);
    }
    return matching;
  }

  int cancels() const {
    std::lock_guard lock(mutex_);
    return cancels_;
  }

 private:
  struct held {
    transfer_id id;
    http_request request;
    completion done;
  };
  struct pending {
    completion done;
    http_response response;
  };

  void deliver_loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and nothing left
      pending next = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      next.done(std::move(next.response));  // on this thread, like curl's
      lock.lock();
    }
  }

  responder answer_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<pending> queue_;
  std::vector<held> held_;
  std::function<bool(const http_request&)> hold_;
  std::vector<record> records_;
  transfer_id next_id_ = 0;
  int cancels_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

inline http_response json_answer(std::string body, long status = 200) {
  http_response response;
  response.status = transfer_status::ok;
  response.http_status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

inline http_response transport_failure(transfer_status status, std::string detail = "") {
  http_response response;
  response.status = status;
  response.error_detail = std::move(detail);
  return response;
}

inline long long to_ms(system_time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

inline http_response token_answer(const std::string& token, system_time created) {
  return json_answer(R"({"code":0,"message":"success","data":{"auth_token":")" + token +
                     R"(","create_time":)" + std::to_string(to_ms(created)) + "}}");
}

inline http_response code_answer(int code, long status = 200) {
  return json_answer(R"({"code":)" + std::to_string(code) + R"(,"message":"scripted"})", status);
}

// A system clock the test moves by hand.
class manual_clock {
 public:
  explicit manual_clock(system_time start = system_time{} + std::chrono::hours(473'000))
      : now_(start) {}
  system_time now() const {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void advance(std::chrono::system_clock::duration by) {
    std::lock_guard lock(mutex_);
    now_ += by;
  }
  std::function<system_time()> fn() {
    return [this] { return now(); };
  }

 private:
  mutable std::mutex mutex_;
  system_time now_;
};

// Starts a coroutine; its result lands in `out` when it finishes.
template <class T, class Make>
void spawn_into(boost::asio::io_context& io, std::optional<T>& out, Make make) {
  boost::asio::co_spawn(
      io,
      [&out, make = std::move(make)]() mutable -> boost::asio::awaitable<void> {
        out.emplace(co_await make());
      },
      boost::asio::detached);
}

// Runs one coroutine to its end and returns its result.
template <class Make>
auto run_one(boost::asio::io_context& io, Make make) {
  using awaitable_type = decltype(make());
  using value_type = typename awaitable_type::value_type;
  std::optional<value_type> out;
  spawn_into(io, out, std::move(make));
  io.restart();
  io.run();
  return std::move(*out);
}

inline std::chrono::steady_clock::time_point in(std::chrono::milliseconds ms) {
  return std::chrono::steady_clock::now() + ms;
}

}  // namespace image_gateway::oppo::testing
