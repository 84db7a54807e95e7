#include "image_gateway/redis/client.hpp"

#include <openssl/sha.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <typeinfo>

#include "connection.hpp"
#include "image_gateway/log/logger.hpp"
#include "image_gateway/util/jitter.hpp"

namespace image_gateway::redis {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using steady = std::chrono::steady_clock;
using detail::answer;
using detail::completion;
using detail::connection;

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
    case call_outcome::readonly:
      return "readonly";
    case call_outcome::wrongpass:
      return "wrongpass";
    case call_outcome::noauth:
      return "noauth";
    case call_outcome::noperm:
      return "noperm";
    case call_outcome::tls:
      return "tls";
    case call_outcome::moved:
      return "moved";
  }
  return "unknown";
}

call_outcome outcome_of(const reply& error) {
  const std::string_view text = error.text;
  const std::string_view word = text.substr(0, text.find(' '));
  if (word == "READONLY") return call_outcome::readonly;
  if (word == "WRONGPASS") return call_outcome::wrongpass;
  if (word == "NOAUTH") return call_outcome::noauth;
  if (word == "NOPERM") return call_outcome::noperm;
  if (word == "MOVED" || word == "ASK" || word == "CLUSTERDOWN") return call_outcome::moved;
  return call_outcome::error_reply;
}

namespace {

// A refusal that makes Redis unusable for the gateway, as opposed to a failure of one call.
bool makes_unusable(call_outcome outcome) {
  switch (outcome) {
    case call_outcome::readonly:
    case call_outcome::wrongpass:
    case call_outcome::noauth:
    case call_outcome::noperm:
    case call_outcome::tls:
    case call_outcome::moved:
      return true;
    default:
      return false;
  }
}

std::atomic<std::uint64_t> next_client_id{1};

std::shared_ptr<const detail::connection_context> make_context(client_settings settings) {
  auto context = std::make_shared<detail::connection_context>();
  if (settings.tls) {
    try {
      auto tls = std::make_shared<ssl::context>(ssl::context::tls_client);
      tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      if (settings.tls_ca_file.empty()) {
        tls->set_default_verify_paths();
      } else {
        tls->load_verify_file(settings.tls_ca_file);
      }
      if (!settings.tls_cert_file.empty()) {
        tls->use_certificate_chain_file(settings.tls_cert_file);
        tls->use_private_key_file(settings.tls_key_file, ssl::context::pem);
      }
      context->tls = std::move(tls);
    } catch (const boost::system::system_error& error) {
      context->tls_problem = "cannot load the TLS files of redis.tls: " + error.code().message();
    }
  }
  context->settings = std::move(settings);
  return context;
}

// The connection of one calling thread, and the health epoch it was made in: when Redis went
// down since, it is made again.
struct local_connection {
  std::shared_ptr<connection> link;  // null once its io_context shut down
  std::uint64_t epoch = 0;
  asio::io_context* owner = nullptr;  // the io_context that runs it, when known
};

// Guards every local_connection's `link` and `owner` against the shut-down of its io_context.
std::mutex& locals_guard() {
  static std::mutex guard;
  return guard;
}

// The io_context behind a caller's executor (its own, or a strand of it), when it is one.
asio::io_context* io_context_of(const asio::any_io_executor& executor) {
  if (const auto* plain = executor.target<asio::io_context::executor_type>()) {
    return &plain->context();
  }
  if (const auto* strand = executor.target<asio::strand<asio::io_context::executor_type>>()) {
    return &strand->get_inner_executor().context();
  }
  return nullptr;
}

// Lives in each execution context that runs callers' connections: when that context shuts
// down (before its sockets and timers go), its connections are dropped, whichever of it and the
// client ends first.
class local_registry final : public asio::execution_context::service {
 public:
  static asio::execution_context::id id;
  explicit local_registry(asio::execution_context& context)
      : asio::execution_context::service(context) {}
  void add(const std::shared_ptr<local_connection>& local) {
    std::lock_guard lock(locals_guard());
    locals_.push_back(local);
  }

 private:
  void shutdown() override {
    std::vector<std::shared_ptr<connection>> gone;
    {
      std::lock_guard lock(locals_guard());
      for (const auto& weak : locals_) {
        if (auto local = weak.lock()) {
          if (local->link) gone.push_back(std::move(local->link));
          local->link.reset();
          local->owner = nullptr;
        }
      }
      locals_.clear();
    }
    for (const auto& link : gone) link->abandon();
  }
  std::vector<std::weak_ptr<local_connection>> locals_;
};
asio::execution_context::id local_registry::id;

struct local_entry {
  std::uint64_t client = 0;
  const void* context = nullptr;
  std::weak_ptr<local_connection> local;
};
thread_local std::vector<local_entry> local_entries;

}  // namespace

struct client::impl : std::enable_shared_from_this<client::impl> {
  impl(client_settings s, logger* l, call_observer o)
      : context(make_context(std::move(s))),
        settings(context->settings),
        log(l),
        observer(std::move(o)),
        where(settings.sentinel_master.empty() ? settings.host + ":" + settings.port
                                               : "sentinel master " + settings.sentinel_master),
        backoff(settings.reconnect_min) {}

  std::shared_ptr<const detail::connection_context> context;
  const client_settings& settings;
  logger* log;
  call_observer observer;
  const std::uint64_t id = next_client_id++;
  const std::string where;

  // Health: up only while the monitor's last set-up passed and nothing made Redis unusable since.
  std::atomic<bool> ready{false};
  std::atomic<std::uint64_t> epoch{0};
  std::atomic<bool> stopping{false};
  std::mutex announce_mutex;
  bool announced_up = false;
  std::optional<call_outcome> announced_down;

  // The monitor: the client's own thread and connection.
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread;
  std::shared_ptr<connection> monitor;  // on `thread` only, like what follows
  asio::steady_timer reconnect_timer{io};
  std::chrono::milliseconds backoff;
  bool reconnect_pending = false;

  // The callers' connections, one per calling thread (and execution context).
  std::mutex locals_mutex;
  std::vector<std::shared_ptr<local_connection>> locals;

  void report(std::string_view name, call_outcome outcome, steady::time_point started) {
    if (!observer) return;
    observer(call_report{
        name, outcome,
        outcome == call_outcome::down
            ? std::chrono::microseconds(0)
            : std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - started)});
  }

  // Redis is not usable (from any thread): down, once in the log per episode and reason, and the
  // monitor's connection is made again (so that "up" means a set-up passed after this).
  void fail(call_outcome why, const std::string& detail) {
    if (stopping) return;
    const bool was_up = ready.exchange(false);
    if (was_up) ++epoch;
    {
      std::lock_guard lock(announce_mutex);
      if (announced_down != why) {
        announced_down = why;
        announced_up = false;
        if (log != nullptr && log->enabled(log_level::warn)) {
          log->write(
              log_level::warn, "Redis unavailable: each replica goes on alone until it is back",
              {{"redis", where}, {"reason", std::string(to_string(why))}, {"detail", detail}});
        }
      }
    }
    if (was_up) asio::post(io, [self = shared_from_this()] { self->reprobe(); });
  }

  void recover() {
    if (stopping) return;
    backoff = settings.reconnect_min;
    {
      std::lock_guard lock(announce_mutex);
      announced_down.reset();
      if (!announced_up) {
        announced_up = true;
        if (log != nullptr && log->enabled(log_level::info)) {
          log->write(log_level::info, "Redis connected: state is shared with the other replicas",
                     {{"redis", where}, {"db", settings.db}});
        }
      }
    }
    ready = true;
  }

  // A connection's set-up or life ended: Redis is down (a refusal is counted once per attempt).
  void lost(call_outcome why, const std::string& detail) {
    if (makes_unusable(why) && observer && !stopping) {
      observer(call_report{"connect", why, {}, true});
    }
    fail(why, detail);
  }

  std::shared_ptr<connection> make_connection(asio::any_io_executor executor, bool is_monitor) {
    std::weak_ptr<impl> weak = weak_from_this();
    connection::ready_fn on_ready;
    if (is_monitor) {
      on_ready = [weak] {
        if (auto self = weak.lock()) self->recover();
      };
    }
    return std::make_shared<connection>(
        std::move(executor), context,
        [weak, is_monitor](call_outcome why, const std::string& detail) {
          auto self = weak.lock();
          if (!self) return;
          self->lost(why, detail);
          if (is_monitor) self->schedule_reconnect();
        },
        std::move(on_ready));
  }

  // On `thread`.
  void reprobe() {
    if (reconnect_pending || stopping) return;
    if (monitor) monitor->close(call_outcome::down);
    schedule_reconnect();
  }

  void schedule_reconnect() {
    if (reconnect_pending || stopping) return;
    reconnect_pending = true;
    // Jittered, so that replicas do not all knock at once.
    reconnect_timer.expires_after(jittered(backoff));
    backoff = std::min(settings.reconnect_max, backoff * 2);
    reconnect_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      self->reconnect_pending = false;
      if (ec || self->stopping) return;
      self->open_monitor();
    });
  }

  void open_monitor() {
    if (monitor) monitor->close(call_outcome::down);
    monitor = make_connection(io.get_executor(), true);
    monitor->open();
  }

  // The calling thread's connection for `executor`'s context, made (or made again after Redis
  // was down) on first use.
  local_connection& local_for(const asio::any_io_executor& executor) {
    const void* context_key = &asio::query(executor, asio::execution::context);
    for (auto entry = local_entries.begin(); entry != local_entries.end();) {
      if (entry->client == id && entry->context == context_key) {
        if (auto found = entry->local.lock()) return *found;
      }
      if (entry->local.expired()) {
        entry = local_entries.erase(entry);
      } else {
        ++entry;
      }
    }
    auto made = std::make_shared<local_connection>();
    // One thread runs the caller's io_context: its own executor, no strand needed.
    made->link = make_connection(executor.target_type() == typeid(asio::io_context::executor_type)
                                     ? executor
                                     : asio::any_io_executor(asio::make_strand(executor)),
                                 false);
    made->epoch = epoch.load();
    made->owner = io_context_of(executor);
    {
      std::lock_guard lock(locals_mutex);
      locals.push_back(made);
    }
    asio::use_service<local_registry>(asio::query(executor, asio::execution::context)).add(made);
    local_entries.push_back(local_entry{id, context_key, made});
    return *made;
  }

  // One command: on the caller's own connection when it is up, through the monitor while it is
  // being made.
  asio::awaitable<answer> send(std::vector<std::string> args) {
    const auto executor = co_await asio::this_coro::executor;
    local_connection& local = local_for(executor);
    if (!local.link) co_return answer{call_outcome::down, std::nullopt};
    const std::uint64_t now = epoch.load();
    if (local.epoch != now) {
      asio::dispatch(local.link->executor(),
                     [old = local.link] { old->close(call_outcome::down); });
      local.link = make_connection(local.link->executor(), false);
      local.epoch = now;
    }
    if (local.link->ready()) {
      answer got = co_await local.link->exchange(std::move(args));
      co_return got;
    }
    if (!local.link->opening()) {
      asio::dispatch(local.link->executor(), [link = local.link] { link->open(); });
    }
    // Named, not a temporary in the co_await expression: GCC 12 destroys those twice.
    detail::submit_fn through_monitor =
        [self = shared_from_this()](const std::vector<std::string>& command, completion done) {
          if (!self->monitor) return done(call_outcome::down, std::nullopt);
          self->monitor->submit(command, std::move(done));
        };
    answer got = co_await detail::exchange_on(io.get_executor(), std::move(args),
                                              std::move(through_monitor));
    co_return got;
  }

  // The outcome of an answered call; a refusal that makes Redis unusable takes it down.
  call_outcome judge(call_outcome outcome, const std::optional<reply>& got) {
    if (outcome != call_outcome::ok || !got->is_error()) return outcome;
    const call_outcome refused = outcome_of(*got);
    if (makes_unusable(refused)) {
      fail(refused, "Redis refused a call (" + got->text.substr(0, got->text.find(' ')) + ")");
    }
    return refused;
  }

  void stop() {
    stopping = true;
    ready = false;
    reconnect_timer.cancel();
    if (monitor) monitor->close(call_outcome::down);
  }
};

client::client(client_settings settings, logger* log, call_observer observer)
    : impl_(std::make_shared<impl>(std::move(settings), log, std::move(observer))) {
  impl* self = impl_.get();
  asio::post(self->io, [self] { self->open_monitor(); });
  self->thread = std::thread([self] { self->io.run(); });
}

client::~client() {
  impl* self = impl_.get();
  self->stopping = true;
  std::vector<std::shared_ptr<local_connection>> locals;
  {
    std::lock_guard lock(self->locals_mutex);
    locals.swap(self->locals);
  }
  // Each caller's connection is closed on its own executor, when that still runs; otherwise
  // here (nothing else runs it then).
  const auto until = steady::now() + std::chrono::milliseconds(500);
  for (const auto& local : locals) {
    std::shared_ptr<connection> link;
    {
      std::lock_guard lock(locals_guard());
      if (!local->link) continue;  // its io_context is gone, and the connection with it
      if (local->owner != nullptr && local->owner->stopped()) {
        local->link->close(call_outcome::down);
        continue;
      }
      link = local->link;
    }
    auto closed = std::make_shared<std::promise<void>>();
    auto done = closed->get_future();
    asio::dispatch(link->executor(), [link, closed] {
      link->close(call_outcome::down);
      closed->set_value();
    });
    done.wait_until(until);
  }
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
  auto [outcome, got] = co_await self->send(std::move(args));
  outcome = self->judge(outcome, got);
  self->report(name, outcome, started);
  if (outcome != call_outcome::ok) co_return std::nullopt;
  co_return std::move(got);
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
  auto [outcome, got] = co_await self->send(command);
  if (outcome == call_outcome::ok && got->is_error() && got->text.starts_with("NOSCRIPT")) {
    command[0] = "EVAL";
    command[1] = lua.source;
    std::tie(outcome, got) = co_await self->send(std::move(command));
  }
  outcome = self->judge(outcome, got);
  self->report(name, outcome, started);
  if (outcome != call_outcome::ok) co_return std::nullopt;
  co_return std::move(got);
}

}  // namespace image_gateway::redis
