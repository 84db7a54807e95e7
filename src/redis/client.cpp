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
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <typeinfo>

#include "connection.hpp"
#include "image_gateway/log/logger.hpp"
#include "image_gateway/redis/cluster_slots.hpp"
#include "image_gateway/util/jitter.hpp"

namespace image_gateway::redis {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using steady = std::chrono::steady_clock;
using detail::answer;
using detail::completion;
using detail::connection;
using detail::node_target;

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
  // Cluster mode: one per master node (by address), on `link`'s executor.
  std::map<std::string, std::shared_ptr<connection>> nodes;
  std::uint64_t epoch = 0;
  asio::io_context* owner = nullptr;  // the io_context that runs it, when known

  // Hands over every connection (the caller's and the nodes').
  std::vector<std::shared_ptr<connection>> take_all() {
    std::vector<std::shared_ptr<connection>> all;
    if (link) all.push_back(std::move(link));
    for (auto& [address, node] : nodes) all.push_back(std::move(node));
    link.reset();
    nodes.clear();
    return all;
  }
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
          for (auto& link : local->take_all()) gone.push_back(std::move(link));
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
        where(!settings.cluster_seeds.empty() ? "cluster " + settings.cluster_seeds.front().first +
                                                    ":" + settings.cluster_seeds.front().second
              : settings.sentinel_master.empty() ? settings.host + ":" + settings.port
                                                 : "sentinel master " + settings.sentinel_master),
        backoff(settings.reconnect_min) {}

  std::shared_ptr<const detail::connection_context> context;
  const client_settings& settings;
  logger* log;
  call_observer observer;
  const std::uint64_t id = next_client_id++;
  const std::string where;
  const bool cluster = !settings.cluster_seeds.empty();

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

  // Cluster mode. The slot map (null until a seed answered), read by callers on any thread.
  std::mutex map_mutex;
  std::shared_ptr<const slot_map> map;
  std::atomic<bool> refresh_requested{false};
  // On `thread`: a connection to each master (the one serving the probe key's slot probes it);
  // Redis is up once all of them passed their set-up. They answer calls while a caller's own
  // connection to that node is being made.
  std::map<std::string, std::shared_ptr<connection>> monitor_nodes;
  std::uint64_t monitor_generation = 0;
  bool refresh_running = false;
  std::function<void()> abort_ask;  // while ask_node waits for a set-up

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

  std::shared_ptr<connection> make_connection(asio::any_io_executor executor, bool is_monitor,
                                              std::optional<node_target> target = std::nullopt) {
    std::weak_ptr<impl> weak = weak_from_this();
    connection::ready_fn on_ready;
    if (is_monitor) {
      on_ready = [weak] {
        auto self = weak.lock();
        if (!self) return;
        if (!self->cluster) return self->recover();
        for (const auto& [address, node] : self->monitor_nodes) {
          if (!node->ready()) return;
        }
        if (!self->monitor_nodes.empty()) self->recover();
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
        std::move(on_ready), std::move(target));
  }

  // On `thread`.
  void reprobe() {
    if (reconnect_pending || stopping) return;
    close_monitors();
    schedule_reconnect();
  }

  void close_monitors() {
    ++monitor_generation;
    if (monitor) monitor->close(call_outcome::down);
    for (const auto& [address, node] : monitor_nodes) node->close(call_outcome::down);
    monitor_nodes.clear();
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
    close_monitors();
    if (cluster) {
      asio::co_spawn(io, load_map(true, monitor_generation), asio::detached);
      return;
    }
    monitor = make_connection(io.get_executor(), true);
    monitor->open();
  }

  // ---- Cluster mode ----

  // On `thread`: `args` over a connection of its own to `node` (no probe), closed after the
  // answer; a failed set-up says why in `problem`.
  asio::awaitable<answer> ask_node(const cluster_node& node, std::vector<std::string> args,
                                   std::string& problem) {
    std::shared_ptr<connection> link;
    const auto [why, detail] = co_await asio::async_initiate<decltype(asio::use_awaitable),
                                                             void(call_outcome, std::string)>(
        [&](auto handler) {
          using handler_type = decltype(handler);
          auto pending = std::make_shared<std::optional<handler_type>>(std::move(handler));
          // Runs once: the set-up passed, or failed (the connection's own limit bounds it).
          auto finish = [pending](call_outcome outcome, std::string text) {
            if (!*pending) return;
            handler_type done = std::move(**pending);
            pending->reset();
            auto executor = asio::get_associated_executor(done);
            asio::post(executor,
                       [done = std::move(done), outcome, text = std::move(text)]() mutable {
                         std::move(done)(outcome, std::move(text));
                       });
          };
          link = std::make_shared<connection>(
              io.get_executor(), context,
              [finish](call_outcome outcome, const std::string& text) { finish(outcome, text); },
              [finish] { finish(call_outcome::ok, {}); }, node_target{node.host, node.port, false});
          // A client that stops ends the wait (so that no connection keeps it).
          abort_ask = [finish] { finish(call_outcome::down, "the client stopped"); };
          link->open();
        },
        asio::use_awaitable);
    abort_ask = nullptr;
    if (why != call_outcome::ok) {
      problem = node.address() + ": " + detail;
      link->close(call_outcome::down);
      co_return answer{why, std::nullopt};
    }
    answer got = co_await link->exchange(std::move(args));
    link->close(call_outcome::down);
    co_return got;
  }

  // On `thread`: the slot map from the first node that gives a whole one (the seeds first at a
  // connection set-up, the known masters first on a refresh), then a monitor connection to each
  // master. When none answers at a set-up, Redis is down and asked again after the back-off.
  // (No strong reference to the client in these coroutines: they run on `thread` only, which the
  // client joins before it goes; one left waiting is destroyed with `io`.)
  asio::awaitable<void> load_map(bool initial, std::uint64_t generation) {
    std::vector<cluster_node> candidates;
    const auto add = [&candidates](const cluster_node& node) {
      if (std::find(candidates.begin(), candidates.end(), node) == candidates.end()) {
        candidates.push_back(node);
      }
    };
    const std::shared_ptr<const slot_map> known = current_map();
    if (!initial && known) {
      for (const cluster_node& node : known->nodes) add(node);
    }
    for (const auto& [host, port] : settings.cluster_seeds) add(cluster_node{host, port});
    if (known) {
      for (const cluster_node& node : known->nodes) add(node);
    }
    std::shared_ptr<const slot_map> found;
    // A whole map that names no node of the known one: another cluster at a seed's or a former
    // node's address, or this cluster made anew. Taken only when no node gives a map of the
    // cluster it knows.
    std::shared_ptr<const slot_map> stranger;
    std::string stranger_from;
    std::string problem = "no seed node answered";
    call_outcome why = call_outcome::connection;
    for (const cluster_node& node : candidates) {
      if (stopping || generation != monitor_generation) co_return;
      std::string refused;
      std::vector<std::string> command = {"CLUSTER", "SLOTS"};  // named: see send()
      const auto [outcome, got] = co_await ask_node(node, std::move(command), refused);
      if (outcome != call_outcome::ok || !got) {
        if (!refused.empty()) {
          problem = std::move(refused);
          why = outcome;
        }
        continue;
      }
      if (got->is_error()) {
        // e.g. "ERR This instance has cluster support disabled": not a cluster node.
        problem = node.address() + " refused CLUSTER SLOTS (" +
                  got->text.substr(0, got->text.find(' ')) + ")";
        why = outcome_of(*got);
        continue;
      }
      std::shared_ptr<const slot_map> parsed = whole_map(*got, node.host);
      if (!parsed) {
        problem = node.address() + " does not name a master for every slot";
        why = call_outcome::protocol;
        continue;
      }
      // (Servers before 4.0 name no ids: nothing to compare, every map is taken as before.)
      if (known && !known->members.empty() && !parsed->shares_a_member_with(*known)) {
        if (!stranger) {
          stranger = std::move(parsed);
          stranger_from = node.address();
        }
        continue;
      }
      found = std::move(parsed);
      break;
    }
    if (stopping || generation != monitor_generation) co_return;
    if (!found && stranger) {
      found = std::move(stranger);
      if (log != nullptr && log->enabled(log_level::warn)) {
        log->write(log_level::warn,
                   "Redis Cluster: no known node answered for the cluster; following a map that "
                   "names none of them",
                   {{"redis", where}, {"from", stranger_from}});
      }
    }
    if (!found) {
      if (initial) {
        lost(why, "Redis Cluster: " + problem);
        schedule_reconnect();
      }
      co_return;
    }
    const cluster_node* probe_owner =
        settings.probe_key.empty() ? nullptr : found->node_of(key_slot(settings.probe_key));
    std::map<std::string, std::shared_ptr<connection>> kept;
    for (const cluster_node& node : found->nodes) {
      const std::string address = node.address();
      auto existing = monitor_nodes.find(address);
      if (existing != monitor_nodes.end() && existing->second->target()->id == node.id) {
        kept.emplace(address, std::move(existing->second));
        monitor_nodes.erase(existing);
        continue;
      }
      kept.emplace(
          address,
          make_connection(io.get_executor(), true,
                          node_target{node.host, node.port,
                                      probe_owner != nullptr && *probe_owner == node, node.id}));
    }
    for (const auto& [address, gone] : monitor_nodes) gone->close(call_outcome::down);
    monitor_nodes = std::move(kept);
    {
      std::lock_guard lock(map_mutex);
      map = std::move(found);
    }
    for (const auto& [address, node] : monitor_nodes) {
      if (!node->ready()) node->open();
    }
  }

  // A map that names a master for every slot (kept out of the coroutines' frames: GCC 12 cannot
  // hold the slot array there).
  static std::shared_ptr<const slot_map> whole_map(const reply& r, const std::string& asked) {
    std::optional<slot_map> parsed = parse_cluster_slots(r, asked);
    if (!parsed || !parsed->covers_all()) return nullptr;
    return std::make_shared<const slot_map>(std::move(*parsed));
  }

  std::shared_ptr<const slot_map> current_map() {
    std::lock_guard lock(map_mutex);
    return map;
  }

  // A MOVED: that slot now goes to the named node, and the whole map is asked again.
  void moved(const redirection& to) {
    {
      std::lock_guard lock(map_mutex);
      if (map) {
        auto updated = std::make_shared<slot_map>(*map);
        updated->assign(to.slot, to.node);
        map = std::move(updated);
      }
    }
    if (refresh_requested.exchange(true)) return;
    asio::post(io, [self = shared_from_this()] {
      self->refresh_requested = false;
      if (self->refresh_running || self->stopping) return;
      self->refresh_running = true;
      asio::co_spawn(self->io, self->refresh_map(), asio::detached);
    });
  }

  asio::awaitable<void> refresh_map() {
    co_await load_map(false, monitor_generation);
    refresh_running = false;
  }

  static void submit_to(connection& link, const std::vector<std::string>& command, completion done,
                        bool asking) {
    // Both written in one go on the connection's executor: nothing comes between them.
    if (asking) link.submit({"ASKING"}, [](call_outcome, std::optional<reply>) {});
    link.submit(command, std::move(done));
  }

  // One command to one node: on the caller's own connection to it when that is up, through the
  // monitor's connection to it while it is being made.
  asio::awaitable<answer> send_node(const cluster_node& node, std::vector<std::string> args,
                                    bool asking) {
    const auto executor = co_await asio::this_coro::executor;
    local_connection& local = local_for(executor);
    if (!local.link) co_return answer{call_outcome::down, std::nullopt};
    renew(local);
    const std::string address = node.address();
    std::shared_ptr<connection>& slot = local.nodes[address];
    if (slot && !node.id.empty() && !slot->target()->id.empty() && slot->target()->id != node.id) {
      // Another node serves at that address now (the map was refreshed since). One made for a
      // redirection (no id) is kept.
      asio::dispatch(slot->executor(), [old = slot] { old->close(call_outcome::down); });
      slot = nullptr;
    }
    if (!slot) {
      slot = make_connection(local.link->executor(), false,
                             node_target{node.host, node.port, false, node.id});
    }
    const std::shared_ptr<connection> link = slot;
    if (link->ready()) {
      detail::submit_fn on_link = [link, asking](const std::vector<std::string>& command,
                                                 completion done) {
        submit_to(*link, command, std::move(done), asking);
      };
      answer got =
          co_await detail::exchange_on(link->executor(), std::move(args), std::move(on_link));
      co_return got;
    }
    if (!link->opening()) asio::dispatch(link->executor(), [link] { link->open(); });
    detail::submit_fn through_monitor = [self = shared_from_this(), address, asking](
                                            const std::vector<std::string>& command,
                                            completion done) {
      const auto found = self->monitor_nodes.find(address);
      if (found == self->monitor_nodes.end() || !found->second->ready()) {
        return done(call_outcome::down, std::nullopt);
      }
      submit_to(*found->second, command, std::move(done), asking);
    };
    answer got = co_await detail::exchange_on(io.get_executor(), std::move(args),
                                              std::move(through_monitor));
    co_return got;
  }

  // At most this many redirections (MOVED, ASK, TRYAGAIN) per call; the last one's refusal is
  // the call's answer (a MOVED storm takes Redis down as `moved`).
  static constexpr int max_redirections = 3;

  // One command to the master serving its key's slot, redirections followed.
  asio::awaitable<answer> send_routed(std::vector<std::string> args) {
    const std::optional<std::string_view> key = command_key(args);
    std::optional<cluster_node> node;
    if (const std::shared_ptr<const slot_map> known = current_map()) {
      if (!key) {
        if (!known->nodes.empty()) node = known->nodes.front();
      } else if (const cluster_node* owner = known->node_of(key_slot(*key))) {
        node = *owner;
      }
    }
    if (!node) co_return answer{call_outcome::down, std::nullopt};
    bool asking = false;
    for (int hop = 0;; ++hop) {
      answer got = co_await send_node(*node, args, asking);
      if (got.first != call_outcome::ok || !got.second->is_error() || hop == max_redirections) {
        co_return got;
      }
      if (got.second->text.starts_with("TRYAGAIN")) {
        // A multi-key command while its slot moves: asked again a moment later.
        asio::steady_timer pause(co_await asio::this_coro::executor,
                                 std::max(std::chrono::milliseconds(1), settings.timeout / 10));
        co_await pause.async_wait(asio::use_awaitable);
        asking = false;
        continue;
      }
      std::optional<redirection> to = parse_redirection(got.second->text);
      if (!to) co_return got;
      if (to->node.host.empty()) to->node.host = node->host;
      if (!to->ask) moved(*to);
      asking = to->ask;
      node = to->node;
    }
  }

  // A caller's connections are made again when Redis went down since they were.
  void renew(local_connection& local) {
    const std::uint64_t now = epoch.load();
    if (local.epoch == now) return;
    local.epoch = now;
    const asio::any_io_executor executor = local.link->executor();
    std::vector<std::shared_ptr<connection>> old = local.take_all();
    asio::dispatch(executor, [old] {
      for (const auto& link : old) link->close(call_outcome::down);
    });
    local.link = make_connection(executor, false);
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
    if (cluster) {
      answer routed = co_await send_routed(std::move(args));
      co_return routed;
    }
    const auto executor = co_await asio::this_coro::executor;
    local_connection& local = local_for(executor);
    if (!local.link) co_return answer{call_outcome::down, std::nullopt};
    renew(local);
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
    close_monitors();
    if (abort_ask) std::exchange(abort_ask, nullptr)();
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
    std::vector<std::shared_ptr<connection>> links;
    {
      std::lock_guard lock(locals_guard());
      if (!local->link) continue;  // its io_context is gone, and the connections with it
      if (local->owner != nullptr && local->owner->stopped()) {
        for (const auto& link : local->take_all()) link->close(call_outcome::down);
        continue;
      }
      links.push_back(local->link);
      for (const auto& [address, node] : local->nodes) links.push_back(node);
    }
    auto closed = std::make_shared<std::promise<void>>();
    auto done = closed->get_future();
    asio::dispatch(links.front()->executor(), [links, closed] {
      for (const auto& link : links) link->close(call_outcome::down);
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
