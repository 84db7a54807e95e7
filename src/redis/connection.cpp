#include "connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace image_gateway::redis::detail {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using steady = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

connection::connection(asio::any_io_executor executor,
                       std::shared_ptr<const connection_context> context, lost_fn lost,
                       ready_fn ready, std::optional<node_target> target)
    : executor_(std::move(executor)),
      context_(std::move(context)),
      lost_(std::move(lost)),
      ready_fn_(std::move(ready)),
      target_(std::move(target)),
      timer_(executor_) {}

template <class F>
void connection::with_stream(F&& f) {
  if (secure_) {
    f(*secure_);
  } else if (plain_) {
    f(*plain_);
  }
}

void connection::open() {
  if (closed_ || ready() || opening()) return;
  opening_ = true;
  // Posted: co_spawn may start the set-up inline, inside the caller's own coroutine.
  asio::post(executor_, [self = shared_from_this()] {
    asio::co_spawn(self->executor_, self->open_once(), asio::detached);
  });
}

void connection::close(call_outcome why) {
  closed_ = true;
  reset(why);
}

void connection::abandon() {
  closed_ = true;
  ++generation_;
  ready_ = false;
  plain_.reset();
  secure_.reset();
  timer_.cancel();
  waiting_.clear();
}

void connection::submit(const std::vector<std::string>& args, completion done) {
  if (!ready()) {
    done(call_outcome::down, std::nullopt);
    return;
  }
  append_command(outgoing_, args);
  waiting_.push_back(waiter{std::move(done), steady::now() + context_->settings.timeout});
  if (!writing_) start_write();
  arm_timer();
}

asio::awaitable<answer> exchange_on(asio::any_io_executor executor, std::vector<std::string> args,
                                    submit_fn submit) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(answer)>(
      [](auto handler, asio::any_io_executor target, submit_fn send,
         std::vector<std::string> command) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        completion done = [shared](call_outcome outcome, std::optional<reply> r) {
          auto caller = asio::get_associated_executor(*shared);
          asio::post(caller, [shared, outcome, r = std::move(r)]() mutable {
            (*shared)(answer{outcome, std::move(r)});
          });
        };
        asio::dispatch(target,
                       [send = std::move(send), command = std::move(command),
                        done = std::move(done)]() mutable { send(command, std::move(done)); });
      },
      asio::use_awaitable, std::move(executor), std::move(submit), std::move(args));
}

asio::awaitable<answer> connection::exchange(std::vector<std::string> args) {
  return exchange_on(
      executor_, std::move(args),
      [self = shared_from_this()](const std::vector<std::string>& command, completion done) {
        self->submit(command, std::move(done));
      });
}

void connection::start_write() {
  writing_ = true;
  auto buffer = std::make_shared<std::string>(std::move(outgoing_));
  outgoing_.clear();
  with_stream([&](auto& stream) {
    asio::async_write(stream, asio::buffer(*buffer),
                      [self = shared_from_this(), buffer, gen = generation_](
                          boost::system::error_code ec, std::size_t) {
                        if (gen != self->generation_) return;
                        self->writing_ = false;
                        if (ec)
                          return self->lose(call_outcome::connection,
                                            "write failed: " + ec.message());
                        if (!self->outgoing_.empty()) self->start_write();
                      });
  });
}

void connection::start_read() {
  with_stream([&](auto& stream) {
    stream.async_read_some(
        asio::buffer(read_buffer_), [self = shared_from_this(), gen = generation_](
                                        boost::system::error_code ec, std::size_t n) {
          if (gen != self->generation_) return;
          if (ec) return self->lose(call_outcome::connection, "read failed: " + ec.message());
          self->parser_.feed(std::string_view(self->read_buffer_.data(), n));
          for (;;) {
            reply r;
            const auto status = self->parser_.next(r);
            if (status == reply_parser::status::need_more) break;
            if (status == reply_parser::status::bad) {
              return self->lose(call_outcome::protocol,
                                "Redis answered garbage: " + self->parser_.error());
            }
            if (self->waiting_.empty()) {
              return self->lose(call_outcome::protocol, "a reply nobody asked for");
            }
            waiter w = std::move(self->waiting_.front());
            self->waiting_.pop_front();
            w.done(call_outcome::ok, std::move(r));
            if (gen != self->generation_) return;
          }
          self->start_read();
        });
  });
}

void connection::arm_timer() {
  if (timer_armed_ || waiting_.empty()) return;
  timer_armed_ = true;
  timer_.expires_at(waiting_.front().deadline);
  timer_.async_wait([self = shared_from_this(), gen = generation_](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted || gen != self->generation_) return;
    self->timer_armed_ = false;
    if (!self->waiting_.empty() && self->waiting_.front().deadline <= steady::now()) {
      return self->lose(call_outcome::timeout,
                        "no answer within redis.timeout_ms (" +
                            std::to_string(self->context_->settings.timeout.count()) + " ms)");
    }
    self->arm_timer();
  });
}

void connection::reset(call_outcome why) {
  ++generation_;
  ready_ = false;
  boost::system::error_code ignored;
  if (secure_) {
    secure_->lowest_layer().close(ignored);
    secure_.reset();
  }
  if (plain_) {
    plain_->close(ignored);
    plain_.reset();
  }
  writing_ = false;
  outgoing_.clear();
  parser_ = reply_parser{};
  timer_armed_ = false;
  timer_.cancel();
  std::deque<waiter> failed;
  failed.swap(waiting_);
  for (waiter& w : failed) w.done(why, std::nullopt);
}

void connection::lose(call_outcome why, const std::string& detail) {
  // The client hears of it before the calls on it fail: none of them sees Redis still up.
  ready_ = false;
  if (!closed_ && lost_) lost_(why, detail);
  reset(why);
}

namespace {

// The first word of a Redis error ("WRONGPASS", "NOAUTH", "ERR"): enough to tell what went
// wrong, and never an echo of what was sent.
std::string error_code_of(const reply& r) { return r.text.substr(0, r.text.find(' ')); }

}  // namespace

template <class Stream>
asio::awaitable<void> connection::hello(Stream& stream, std::string& problem, call_outcome& why) {
  const client_settings& s = context_->settings;
  enum class step { auth, select, identity, probe, ping };
  // Commands written together; the next batch waits for the previous one's answers.
  struct batch {
    std::string out;
    std::vector<step> steps;
  };
  std::vector<batch> batches(1);
  const auto add = [&batches](step what, const std::vector<std::string>& command) {
    append_command(batches.back().out, command);
    batches.back().steps.push_back(what);
  };
  if (!s.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!s.username.empty()) auth.push_back(s.username);
    auth.push_back(s.password);
    add(step::auth, auth);
  }
  if (s.db != 0) add(step::select, {"SELECT", std::to_string(s.db)});
  const bool probe = !s.probe_key.empty() && (!target_ || target_->probe);
  if (target_ && !target_->id.empty()) {
    add(step::identity, {"CLUSTER", "MYID"});
    // Nothing is written to a server before it proved to be the node (one more round trip, on
    // the one connection that probes).
    if (probe) batches.emplace_back();
  }
  if (probe) {
    // Usable means writable: a replica, a user without write access to the prefix, or a
    // cluster node that does not own the key each answer this with an error.
    add(step::probe, {"SET", s.probe_key, "1", "PX", "10000"});
  }
  add(step::ping, {"PING"});
  reply_parser replies;
  for (const batch& sent : batches) {
    co_await asio::async_write(stream, asio::buffer(sent.out), asio::use_awaitable);
    std::size_t got = 0;
    while (got < sent.steps.size()) {
      const std::size_t n =
          co_await stream.async_read_some(asio::buffer(read_buffer_), asio::use_awaitable);
      replies.feed(std::string_view(read_buffer_.data(), n));
      for (reply r;;) {
        const auto status = replies.next(r);
        if (status == reply_parser::status::need_more) break;
        if (status == reply_parser::status::bad) {
          why = call_outcome::protocol;
          problem = "Redis answered garbage: " + replies.error();
          co_return;
        }
        const step current = sent.steps.at(got++);
        if (current == step::identity && (r.is_error() || r.text != target_->id)) {
          // A node restarted afresh, or a server of something else on a reused address: the
          // map that named this node is out of date.
          why = call_outcome::moved;
          problem = target_->host + ":" + target_->port +
                    " is no longer the cluster node the slot map names";
          co_return;
        }
        if (r.is_error()) {
          why = outcome_of(r);
          // Any refusal of AUTH is a credentials problem, whatever word the server uses.
          if (current == step::auth && why == call_outcome::error_reply)
            why = call_outcome::wrongpass;
          problem = (current == step::probe ? "Redis refused a write under the key prefix ("
                                            : "Redis refused the connection set-up (") +
                    error_code_of(r) + ")";
          co_return;
        }
        if (got == sent.steps.size()) break;
      }
    }
    if (replies.buffered() != 0) {
      why = call_outcome::protocol;
      problem = "Redis answered more than asked";
      co_return;
    }
  }
}

// The master's address from the first sentinel that knows it (each asked over a connection of
// its own, closed after the answer).
asio::awaitable<std::optional<std::pair<std::string, std::string>>> connection::ask_sentinels() {
  const client_settings& s = context_->settings;
  for (const auto& [host, port] : s.sentinels) {
    try {
      tcp::resolver resolver(executor_);
      const auto endpoints = co_await resolver.async_resolve(host, port, asio::use_awaitable);
      tcp::socket sentinel(executor_);
      co_await asio::async_connect(sentinel, endpoints, asio::use_awaitable);
      std::string out;
      append_command(
          out, std::vector<std::string>{"SENTINEL", "get-master-addr-by-name", s.sentinel_master});
      co_await asio::async_write(sentinel, asio::buffer(out), asio::use_awaitable);
      reply_parser replies;
      reply r;
      auto status = reply_parser::status::need_more;
      while (status == reply_parser::status::need_more) {
        const std::size_t n =
            co_await sentinel.async_read_some(asio::buffer(read_buffer_), asio::use_awaitable);
        replies.feed(std::string_view(read_buffer_.data(), n));
        status = replies.next(r);
      }
      if (status == reply_parser::status::ready && r.kind == reply::type::array &&
          r.elements.size() == 2 && !r.elements[0].text.empty()) {
        co_return std::make_pair(r.elements[0].text, r.elements[1].text);
      }
    } catch (const boost::system::system_error&) {
      // this sentinel is away: ask the next
    }
  }
  co_return std::nullopt;
}

asio::awaitable<void> connection::set_up(std::string& problem, call_outcome& why,
                                         std::optional<tcp::socket>& plain,
                                         std::optional<tls_stream>& secure) {
  // Failures end the set-up here: racing the time limit, an exception would wait for it.
  try {
    co_await set_up_steps(problem, why, plain, secure);
  } catch (const boost::system::system_error& error) {
    problem = error.code().message();
    if (problem.empty()) problem = "connection set-up failed";
  } catch (const std::exception& error) {
    problem = error.what();
  }
}

// On streams of its own, moved into the connection only once it passed: a close() meanwhile
// never pulls a stream from under it.
asio::awaitable<void> connection::set_up_steps(std::string& problem, call_outcome& why,
                                               std::optional<tcp::socket>& plain,
                                               std::optional<tls_stream>& secure) {
  const client_settings& s = context_->settings;
  why = call_outcome::connection;
  tcp::resolver resolver(executor_);
  std::string host = target_ ? target_->host : s.host;
  std::string port = target_ ? target_->port : s.port;
  if (!target_ && !s.sentinel_master.empty()) {
    std::optional<std::pair<std::string, std::string>> master = co_await ask_sentinels();
    if (!master) {
      problem = "no sentinel named the address of master " + s.sentinel_master;
      co_return;
    }
    std::tie(host, port) = *master;
  }
  const auto endpoints = co_await resolver.async_resolve(host, port, asio::use_awaitable);
  if (!s.tls) {
    plain.emplace(executor_);
    co_await asio::async_connect(*plain, endpoints, asio::use_awaitable);
    plain->set_option(tcp::no_delay(true));
    co_await hello(*plain, problem, why);
    co_return;
  }
  if (!context_->tls) {
    why = call_outcome::tls;
    problem = context_->tls_problem;
    co_return;
  }
  secure.emplace(executor_, *context_->tls);
  co_await asio::async_connect(secure->lowest_layer(), endpoints, asio::use_awaitable);
  secure->lowest_layer().set_option(tcp::no_delay(true));
  const std::string& name = s.tls_server_name.empty() ? host : s.tls_server_name;
  boost::system::error_code not_an_address;
  asio::ip::make_address(name, not_an_address);
  if (not_an_address) ::SSL_set_tlsext_host_name(secure->native_handle(), name.c_str());
  secure->set_verify_mode(ssl::verify_peer);
  secure->set_verify_callback(ssl::host_name_verification(name));
  why = call_outcome::tls;
  co_await secure->async_handshake(ssl::stream_base::client, asio::use_awaitable);
  why = call_outcome::connection;
  co_await hello(*secure, problem, why);
}

asio::awaitable<void> connection::open_once() {
  auto self = shared_from_this();
  const std::uint64_t gen = ++generation_;
  std::string problem;
  call_outcome why = call_outcome::connection;
  std::optional<tcp::socket> plain;
  std::optional<tls_stream> secure;
  asio::steady_timer limit(executor_);
  // The set-up may cross a network, a DNS look-up and a TLS handshake: at least a second.
  limit.expires_after(std::max<std::chrono::milliseconds>(context_->settings.timeout,
                                                          std::chrono::milliseconds(1000)));
  try {
    const auto finished =
        co_await (set_up(problem, why, plain, secure) || limit.async_wait(asio::use_awaitable));
    if (finished.index() == 1) problem = "no answer to the connection set-up";
  } catch (const std::exception& error) {
    problem = error.what();
  }
  opening_ = false;
  if (closed_ || gen != generation_) co_return;
  if (!problem.empty()) {
    lose(why, problem);
    co_return;
  }
  plain_ = std::move(plain);
  secure_ = std::move(secure);
  parser_ = reply_parser{};
  ready_ = true;
  if (ready_fn_) ready_fn_();
  start_read();
}

}  // namespace image_gateway::redis::detail
