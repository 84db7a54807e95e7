#include "image_gateway/redis/client.hpp"

#include <openssl/sha.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <nlohmann/json.hpp>
#include <thread>

#include "image_gateway/log/logger.hpp"
#include "image_gateway/util/jitter.hpp"

namespace image_gateway::redis {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

script::script(std::string text) : source(std::move(text)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  ::SHA1(reinterpret_cast<const unsigned char*>(source.data()), source.size(), digest);
  static constexpr char hex[] = "0123456789abcdef";
  for (const unsigned char byte : digest) {
    sha1 += hex[byte >> 4];
    sha1 += hex[byte & 0xf];
  }
}

std::string_view to_string(call_outcome outcome) {
  switch (outcome) {
    case call_outcome::ok:
      return "ok";
    case call_outcome::down:
      return "down";
    case call_outcome::timeout:
      return "timeout";
    case call_outcome::connection:
      return "connection";
    case call_outcome::protocol:
      return "protocol";
    case call_outcome::error_reply:
      return "error_reply";
  }
  return "unknown";
}

namespace {

using completion = std::function<void(call_outcome, std::optional<reply>)>;

struct pending {
  completion done;
  steady::time_point deadline;
};

// The first word of a Redis error ("WRONGPASS", "NOAUTH", "ERR"): enough to tell what went
// wrong, and never an echo of what we sent.
std::string error_code_of(const reply& r) { return r.text.substr(0, r.text.find(' ')); }

}  // namespace

struct client::impl {
  impl(client_settings s, logger* l, call_observer o)
      : settings(std::move(s)), log(l), observer(std::move(o)), backoff(settings.reconnect_min) {}

  client_settings settings;
  logger* log;
  call_observer observer;
  std::atomic<bool> ready{false};

  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread;

  // Everything below is touched on `thread` only.
  std::optional<tcp::socket> socket;
  std::uint64_t generation = 0;
  std::deque<pending> waiting;
  std::string outgoing;
  bool writing = false;
  reply_parser parser;
  std::array<char, 16 * 1024> read_buffer{};
  asio::steady_timer call_timer{io};
  bool timer_armed = false;
  asio::steady_timer reconnect_timer{io};
  std::chrono::milliseconds backoff;
  bool announced_up = false;
  bool announced_down = false;
  bool stopping = false;

  void report(std::string_view name, call_outcome outcome, steady::time_point started) {
    if (!observer) return;
    observer(call_report{
        name, outcome,
        outcome == call_outcome::down
            ? std::chrono::microseconds(0)
            : std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - started)});
  }

  void submit(const std::vector<std::string>& args, completion done) {
    if (!ready || !socket) {
      done(call_outcome::down, std::nullopt);
      return;
    }
    append_command(outgoing, args);
    waiting.push_back(pending{std::move(done), steady::now() + settings.timeout});
    if (!writing) start_write();
    arm_call_timer();
  }

  void start_write() {
    writing = true;
    auto buffer = std::make_shared<std::string>(std::move(outgoing));
    outgoing.clear();
    asio::async_write(*socket, asio::buffer(*buffer),
                      [this, buffer, gen = generation](boost::system::error_code ec, std::size_t) {
                        if (gen != generation) return;
                        writing = false;
                        if (ec)
                          return lose(call_outcome::connection, "write failed: " + ec.message());
                        if (!outgoing.empty()) start_write();
                      });
  }

  void start_read() {
    socket->async_read_some(
        asio::buffer(read_buffer),
        [this, gen = generation](boost::system::error_code ec, std::size_t n) {
          if (gen != generation) return;
          if (ec) return lose(call_outcome::connection, "read failed: " + ec.message());
          parser.feed(std::string_view(read_buffer.data(), n));
          for (;;) {
            reply r;
            const auto status = parser.next(r);
            if (status == reply_parser::status::need_more) break;
            if (status == reply_parser::status::bad) {
              return lose(call_outcome::protocol, "Redis answered garbage: " + parser.error());
            }
            if (waiting.empty()) return lose(call_outcome::protocol, "a reply nobody asked for");
            pending p = std::move(waiting.front());
            waiting.pop_front();
            p.done(call_outcome::ok, std::move(r));
          }
          start_read();
        });
  }

  void arm_call_timer() {
    if (timer_armed || waiting.empty()) return;
    timer_armed = true;
    call_timer.expires_at(waiting.front().deadline);
    call_timer.async_wait([this, gen = generation](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted || gen != generation) return;
      timer_armed = false;
      if (!waiting.empty() && waiting.front().deadline <= steady::now()) {
        return lose(call_outcome::timeout, "no answer within redis.timeout_ms (" +
                                               std::to_string(settings.timeout.count()) + " ms)");
      }
      arm_call_timer();
    });
  }

  // The connection is unusable: fail what waits on it, go down, reconnect in the background.
  void lose(call_outcome why, const std::string& detail) {
    ++generation;
    ready = false;
    if (socket) {
      boost::system::error_code ignored;
      socket->close(ignored);
      socket.reset();
    }
    writing = false;
    outgoing.clear();
    parser = reply_parser{};
    timer_armed = false;
    call_timer.cancel();
    std::deque<pending> failed;
    failed.swap(waiting);
    for (pending& p : failed) p.done(why, std::nullopt);
    announce_down(detail);
    schedule_reconnect();
  }

  void announce_down(const std::string& detail) {
    if (announced_down || stopping) return;
    announced_down = true;
    announced_up = false;
    if (log != nullptr && log->enabled(log_level::warn)) {
      log->write(log_level::warn, "Redis unavailable: each replica goes on alone until it is back",
                 {{"redis", settings.host + ":" + settings.port}, {"detail", detail}});
    }
  }

  void announce_up() {
    announced_down = false;
    if (announced_up) return;
    announced_up = true;
    if (log != nullptr && log->enabled(log_level::info)) {
      log->write(log_level::info, "Redis connected: state is shared with the other replicas",
                 {{"redis", settings.host + ":" + settings.port}, {"db", settings.db}});
    }
  }

  void schedule_reconnect() {
    if (stopping) return;
    // Jittered, so that replicas do not all knock at once.
    reconnect_timer.expires_after(jittered(backoff));
    backoff = std::min(settings.reconnect_max, backoff * 2);
    reconnect_timer.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping) return;
      connect();
    });
  }

  void connect() { asio::co_spawn(io, connect_once(), asio::detached); }

  asio::awaitable<void> handshake(tcp::socket& s, std::string& problem) {
    tcp::resolver resolver(io);
    const auto endpoints =
        co_await resolver.async_resolve(settings.host, settings.port, asio::use_awaitable);
    co_await asio::async_connect(s, endpoints, asio::use_awaitable);
    s.set_option(tcp::no_delay(true));
    std::string hello;
    std::size_t expected = 0;
    if (!settings.password.empty()) {
      const std::vector<std::string> auth = {"AUTH", settings.password};
      append_command(hello, auth);
      ++expected;
    }
    if (settings.db != 0) {
      const std::vector<std::string> select = {"SELECT", std::to_string(settings.db)};
      append_command(hello, select);
      ++expected;
    }
    const std::vector<std::string> ping = {"PING"};
    append_command(hello, ping);
    ++expected;
    co_await asio::async_write(s, asio::buffer(hello), asio::use_awaitable);
    reply_parser hello_parser;
    std::size_t got = 0;
    while (got < expected) {
      const std::size_t n =
          co_await s.async_read_some(asio::buffer(read_buffer), asio::use_awaitable);
      hello_parser.feed(std::string_view(read_buffer.data(), n));
      reply r;
      for (;;) {
        const auto status = hello_parser.next(r);
        if (status == reply_parser::status::need_more) break;
        if (status == reply_parser::status::bad) {
          problem = "Redis answered garbage: " + hello_parser.error();
          co_return;
        }
        ++got;
        if (r.is_error()) {
          problem = "Redis refused the connection set-up (" + error_code_of(r) + ")";
          co_return;
        }
      }
    }
    if (hello_parser.buffered() != 0) problem = "Redis answered more than asked";
  }

  asio::awaitable<void> connect_once() {
    const std::uint64_t gen = ++generation;
    tcp::socket s(io);
    std::string problem;
    asio::steady_timer limit(io);
    // The set-up may cross a network and a DNS look-up: at least a second, whatever timeout_ms.
    limit.expires_after(
        std::max<std::chrono::milliseconds>(settings.timeout, std::chrono::milliseconds(1000)));
    try {
      const auto finished =
          co_await (handshake(s, problem) || limit.async_wait(asio::use_awaitable));
      if (finished.index() == 1) problem = "no answer to the connection set-up";
    } catch (const boost::system::system_error& error) {
      problem = error.code().message();
    } catch (const std::exception& error) {
      problem = error.what();
    }
    if (stopping || gen != generation) co_return;
    if (!problem.empty()) {
      boost::system::error_code ignored;
      s.close(ignored);
      announce_down(problem);
      schedule_reconnect();
      co_return;
    }
    socket.emplace(std::move(s));
    parser = reply_parser{};
    backoff = settings.reconnect_min;
    ready = true;
    announce_up();
    start_read();
  }

  void stop() {
    stopping = true;
    ++generation;
    ready = false;
    reconnect_timer.cancel();
    call_timer.cancel();
    if (socket) {
      boost::system::error_code ignored;
      socket->close(ignored);
    }
    std::deque<pending> failed;
    failed.swap(waiting);
    for (pending& p : failed) p.done(call_outcome::down, std::nullopt);
  }

  // Sends one command from any thread; `done` runs on the client's thread.
  asio::awaitable<std::pair<call_outcome, std::optional<reply>>> exchange(
      std::vector<std::string> args) {
    using answer = std::pair<call_outcome, std::optional<reply>>;
    return asio::async_initiate<decltype(asio::use_awaitable), void(answer)>(
        [this](auto handler, std::vector<std::string> command) {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          completion done = [shared](call_outcome outcome, std::optional<reply> r) {
            auto executor = asio::get_associated_executor(*shared);
            asio::post(executor, [shared, outcome, r = std::move(r)]() mutable {
              (*shared)(answer{outcome, std::move(r)});
            });
          };
          asio::post(io, [this, command = std::move(command), done = std::move(done)]() mutable {
            submit(command, std::move(done));
          });
        },
        asio::use_awaitable, std::move(args));
  }
};

client::client(client_settings settings, logger* log, call_observer observer)
    : impl_(std::make_shared<impl>(std::move(settings), log, std::move(observer))) {
  impl* self = impl_.get();
  asio::post(self->io, [self] { self->connect(); });
  self->thread = std::thread([self] { self->io.run(); });
}

client::~client() {
  impl* self = impl_.get();
  asio::post(self->io, [self] { self->stop(); });
  self->work.reset();
  // Give stop() its turn, then end the loop whatever is still queued.
  asio::post(self->io, [self] { self->io.stop(); });
  self->thread.join();
}

void client::reject(std::string_view name) {
  if (impl_->observer) impl_->observer(call_report{name, call_outcome::protocol, {}});
}

bool client::up() const { return impl_->ready.load(std::memory_order_acquire); }

bool client::wait_up(std::chrono::milliseconds at_most) const {
  const auto until = steady::now() + at_most;
  while (!up()) {
    if (steady::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

asio::awaitable<std::optional<reply>> client::call(std::vector<std::string> args,
                                                   std::string_view name) {
  const std::shared_ptr<impl> self = impl_;
  const auto started = steady::now();
  if (!self->ready.load(std::memory_order_acquire)) {  // the breaker: no time lost while down
    self->report(name, call_outcome::down, started);
    co_return std::nullopt;
  }
  auto [outcome, answer] = co_await self->exchange(std::move(args));
  if (outcome == call_outcome::ok && answer->is_error()) outcome = call_outcome::error_reply;
  self->report(name, outcome, started);
  if (outcome != call_outcome::ok) co_return std::nullopt;
  co_return std::move(answer);
}

asio::awaitable<std::optional<reply>> client::run(const script& lua, std::vector<std::string> keys,
                                                  std::vector<std::string> args,
                                                  std::string_view name) {
  const std::shared_ptr<impl> self = impl_;
  const auto started = steady::now();
  if (!self->ready.load(std::memory_order_acquire)) {
    self->report(name, call_outcome::down, started);
    co_return std::nullopt;
  }
  std::vector<std::string> command;
  command.reserve(3 + keys.size() + args.size());
  command.push_back("EVALSHA");
  command.push_back(lua.sha1);
  command.push_back(std::to_string(keys.size()));
  for (std::string& key : keys) command.push_back(std::move(key));
  for (std::string& arg : args) command.push_back(std::move(arg));
  auto [outcome, answer] = co_await self->exchange(command);
  if (outcome == call_outcome::ok && answer->is_error() && answer->text.starts_with("NOSCRIPT")) {
    command[0] = "EVAL";
    command[1] = lua.source;
    std::tie(outcome, answer) = co_await self->exchange(std::move(command));
  }
  if (outcome == call_outcome::ok && answer->is_error()) outcome = call_outcome::error_reply;
  self->report(name, outcome, started);
  if (outcome != call_outcome::ok) co_return std::nullopt;
  co_return std::move(answer);
}

}  // namespace image_gateway::redis
