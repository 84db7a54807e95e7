#include "owned_lock.hpp"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

namespace image_gateway::replicas {

namespace asio = boost::asio;
using wake_channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

const redis::script& release_owned_lock() {
  static const redis::script script(R"lua(
if redis.call('TYPE', KEYS[1]).ok == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
)lua");
  return script;
}

const redis::script& renew_owned_lock() {
  static const redis::script script(R"lua(
if redis.call('TYPE', KEYS[1]).ok == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
)lua");
  return script;
}

replay_queue::write release_write(std::string lock_key, std::string owner,
                                  std::chrono::milliseconds lease, std::string_view name) {
  return {&release_owned_lock(),
          {std::move(lock_key)},
          {std::move(owner)},
          name,
          std::chrono::steady_clock::now() + lease,
          {}};
}

struct lease_renewal::state {
  explicit state(const asio::any_io_executor& where) : wake(where, 1) {}
  std::atomic<bool> stopped{false};
  wake_channel wake;  // a send ends the loop at once instead of at its next turn
};

namespace {

asio::awaitable<void> renew_until_stopped(std::shared_ptr<lease_renewal::state> s,
                                          redis::client& redis, std::string lock_key,
                                          std::string owner, std::chrono::milliseconds lease) {
  const auto executor = co_await asio::this_coro::executor;
  const auto period = std::max(lease / 3, std::chrono::milliseconds(1));
  while (!s->stopped) {
    asio::steady_timer timer(executor, period);
    co_await asio::experimental::make_parallel_group(s->wake.async_receive(asio::deferred),
                                                     timer.async_wait(asio::deferred))
        .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    if (s->stopped) break;
    // (Named vectors: GCC 12 miscompiles braced lists inside a co_await expression.)
    std::vector<std::string> keys{lock_key};
    std::vector<std::string> args{owner, std::to_string(lease.count())};
    co_await redis.run(renew_owned_lock(), std::move(keys), std::move(args), "lock_renew");
  }
}

}  // namespace

lease_renewal::lease_renewal(redis::client& redis, std::string lock_key, std::string owner,
                             std::chrono::milliseconds lease, const asio::any_io_executor& where)
    : state_(std::make_shared<state>(where)) {
  asio::co_spawn(where,
                 renew_until_stopped(state_, redis, std::move(lock_key), std::move(owner), lease),
                 asio::detached);
}

lease_renewal::~lease_renewal() {
  state_->stopped = true;
  state_->wake.try_send(boost::system::error_code{});
}

}  // namespace image_gateway::replicas
