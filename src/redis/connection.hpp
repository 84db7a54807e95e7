#pragma once
// One connection to one Redis server (plain TCP or TLS), used by the client only: the set-up
// (TLS handshake, AUTH [user] password, SELECT, a write probe), then commands pipelined in the
// order they come with replies matched to them in order, each bounded by the time-out. All of
// it runs on the connection's executor; `exchange` may be awaited from any executor.
#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "image_gateway/redis/client.hpp"

namespace image_gateway::redis::detail {

// What every connection of one client shares: its settings and its TLS context (null: plain, or
// `tls_problem` says why the TLS context could not be made).
struct connection_context {
  client_settings settings;
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::string tls_problem;
};

// A cluster node to connect to instead of the settings' address (or the sentinels' master); the
// write probe only on the node that owns the probe key. With an id, the set-up checks that this
// node answers there (CLUSTER MYID), not another server that took its address.
struct node_target {
  std::string host;
  std::string port;
  bool probe = false;
  std::string id;
};

using answer = std::pair<call_outcome, std::optional<reply>>;
using completion = std::function<void(call_outcome, std::optional<reply>)>;

// Runs `submit(command, done)` on `executor` (inline when the caller already runs there) and
// resumes the awaiting coroutine on its own executor with what `done` was given.
using submit_fn = std::function<void(const std::vector<std::string>&, completion)>;
boost::asio::awaitable<answer> exchange_on(boost::asio::any_io_executor executor,
                                           std::vector<std::string> args, submit_fn submit);

class connection : public std::enable_shared_from_this<connection> {
 public:
  // `lost` runs (on the connection's executor) when the set-up fails or an open connection
  // breaks, with why and a line saying what happened; `ready` when the set-up succeeded.
  using lost_fn = std::function<void(call_outcome, const std::string&)>;
  using ready_fn = std::function<void()>;

  connection(boost::asio::any_io_executor executor,
             std::shared_ptr<const connection_context> context, lost_fn lost, ready_fn ready,
             std::optional<node_target> target = std::nullopt);

  const boost::asio::any_io_executor& executor() const { return executor_; }
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  bool opening() const { return opening_.load(std::memory_order_acquire); }
  const std::optional<node_target>& target() const { return target_; }

  // On the executor: start the set-up unless one is under way or the connection is up.
  void open();
  // On the executor: fail what waits with `why`, close, and stay closed (no `lost`).
  void close(call_outcome why);
  // When the executor's context shuts down: drop the sockets and what waits, calling nothing.
  void abandon();
  // On the executor: write one command; `done` runs on the executor with the reply.
  void submit(const std::vector<std::string>& args, completion done);
  // From any executor: one command, its answer delivered on the awaiting coroutine's executor.
  boost::asio::awaitable<answer> exchange(std::vector<std::string> args);

 private:
  using tcp = boost::asio::ip::tcp;
  using tls_stream = boost::asio::ssl::stream<tcp::socket>;
  struct waiter {
    completion done;
    std::chrono::steady_clock::time_point deadline;
  };

  boost::asio::awaitable<std::optional<std::pair<std::string, std::string>>> ask_sentinels();
  boost::asio::awaitable<void> set_up(std::string& problem, call_outcome& why,
                                      std::optional<tcp::socket>& plain,
                                      std::optional<tls_stream>& secure);
  boost::asio::awaitable<void> set_up_steps(std::string& problem, call_outcome& why,
                                            std::optional<tcp::socket>& plain,
                                            std::optional<tls_stream>& secure);
  template <class Stream>
  boost::asio::awaitable<void> hello(Stream& stream, std::string& problem, call_outcome& why);
  boost::asio::awaitable<void> open_once();
  void start_write();
  void start_read();
  void arm_timer();
  void lose(call_outcome why, const std::string& detail);
  void reset(call_outcome why);
  template <class F>
  void with_stream(F&& f);

  boost::asio::any_io_executor executor_;
  std::shared_ptr<const connection_context> context_;
  lost_fn lost_;
  ready_fn ready_fn_;
  std::optional<node_target> target_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> opening_{false};
  bool closed_ = false;

  // Everything below is touched on the executor only.
  std::optional<tcp::socket> plain_;
  std::optional<tls_stream> secure_;
  std::uint64_t generation_ = 0;
  std::deque<waiter> waiting_;
  std::string outgoing_;
  bool writing_ = false;
  reply_parser parser_;
  std::array<char, 16 * 1024> read_buffer_{};
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
};

}  // namespace image_gateway::redis::detail
