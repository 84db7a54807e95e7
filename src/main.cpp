// image-gateway: arguments, configuration, signals, and the threads that run the server.
#include <curl/curl.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "image_gateway/api/gateway.hpp"
#include "image_gateway/config/config.hpp"
#include "image_gateway/http_client/curl_multi_client.hpp"
#include "image_gateway/log/logger.hpp"
#include "image_gateway/server/fd_limits.hpp"
#include "image_gateway/server/http_server.hpp"

namespace net = boost::asio;
using namespace image_gateway;

namespace {

constexpr const char* usage =
    "usage: image-gateway [--config FILE] [--check-config] [--version] [--help]\n"
    "\n"
    "  --config FILE    JSON configuration (default: $IMAGE_GATEWAY_CONFIG)\n"
    "  --check-config   validate the configuration, print the result, exit 0 or 2\n"
    "  --version        print the version and exit\n"
    "  --help           print this text and exit\n"
    "\n"
    "Serves POST /v4/image/oppo, GET /healthz, GET /readyz, GET /metrics. See README.md.\n"
    "SIGTERM/SIGINT: /readyz turns 503, serving goes on for server.drain_ms, then in-flight\n"
    "requests finish and the process exits 0; a second signal stops at once (exit 1).\n";

// How long a clean exit waits for stdout to take the last log lines.
constexpr std::chrono::seconds log_exit_limit{5};

struct arguments {
  std::string config_path;
  bool check_only = false;
};

// Exit codes: 0 fine, 2 bad arguments or configuration, 1 could not run.
int fail(const std::string& message, int code) {
  std::cerr << "image-gateway: " << message << "\n";
  return code;
}

server_limits limits_from(const server_config& server) {
  server_limits limits;
  limits.max_connections = server.max_connections;
  limits.max_body_bytes = server.max_body_bytes;
  limits.max_body_multipart_bytes = server.max_body_multipart_bytes;
  limits.max_buffered_body_bytes = server.max_buffered_body_bytes;
  limits.header_timeout = server.header_timeout;
  limits.body_timeout = server.header_timeout;
  limits.idle_timeout = server.idle_timeout;
  return limits;
}

// SIGTERM/SIGINT: not ready at once, serve for drain_ms, stop accepting, let in-flight requests
// finish within their deadline, close idle connections, stop. A second signal stops at once.
class drain_controller {
 public:
  drain_controller(net::io_context& io, const config& settings, gateway& api, http_server& server,
                   logger& log)
      : io_(io),
        settings_(settings),
        api_(api),
        server_(server),
        log_(log),
        signals_(io, SIGTERM, SIGINT),
        timer_(io) {}

  // True when the process stopped without finishing its requests (second signal, or requests
  // still running past their deadline).
  bool forced() const { return forced_; }

  void arm() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal_number) {
      if (ec) return;
      if (api_.draining()) {
        log_.write(log_level::warn, "second signal, stopping now",
                   {{"signal", signal_number}, {"open_connections", server_.open_connections()}});
        forced_ = server_.open_connections() > 0;
        io_.stop();
        return;
      }
      api_.begin_drain();
      log_.write(log_level::info, "draining",
                 {{"signal", signal_number}, {"drain_ms", settings_.server.drain.count()}});
      arm();
      timer_.expires_after(settings_.server.drain);
      timer_.async_wait([this](const boost::system::error_code& wait_ec) {
        if (!wait_ec) stop_accepting();
      });
    });
  }

 private:
  void stop_accepting() {
    api_.end_drain_window();
    server_.stop_accepting();
    server_.close_idle_connections();
    // Logged after the fact, so that a reader of the log can rely on it.
    log_.write(log_level::info, "drain window over, no longer accepting",
               {{"open_connections", server_.open_connections()}});
    give_up_at_ = std::chrono::steady_clock::now() + settings_.server.request_deadline +
                  std::chrono::seconds(1);
    wait_for_idle();
  }

  void wait_for_idle() {
    if (server_.open_connections() == 0) {
      io_.stop();
      return;
    }
    if (std::chrono::steady_clock::now() >= give_up_at_) {
      log_.write(log_level::warn, "requests still running past their deadline, stopping",
                 {{"open_connections", server_.open_connections()}});
      forced_ = true;
      io_.stop();
      return;
    }
    server_.close_idle_connections();  // connections that finished a request since
    timer_.expires_after(std::chrono::milliseconds(20));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) wait_for_idle();
    });
  }

  net::io_context& io_;
  const config& settings_;
  gateway& api_;
  http_server& server_;
  logger& log_;
  net::signal_set signals_;
  net::steady_timer timer_;
  std::chrono::steady_clock::time_point give_up_at_;
  std::atomic<bool> forced_{false};  // set on any io thread, read after they joined
};

int run(const config& settings) {
  logger log(settings.log.level);
  const int threads = settings.server.threads > 0
                          ? settings.server.threads
                          : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));

  net::io_context io(threads);
  net::thread_pool decode_pool(2);
  // Separate pools: a caller's URL never reuses a connection made for OPPO, and back.
  curl_multi_client fetch_transport;
  curl_multi_client oppo_transport({.max_host_connections = settings.oppo.max_connections});
  gateway api(settings, fetch_transport, oppo_transport, log, decode_pool);

  http_server::hooks hooks;
  hooks.handle = [&api](api_request request) { return api.handle(std::move(request)); };
  hooks.screen = [&api](api_request& header) { return api.screen(header); };
  hooks.client_gone = [&api](const api_request& partial) { api.client_gone(partial); };
  hooks.refuse = [&api](int status, const api_request& partial, const std::string& reason) {
    return api.refuse(status, partial, reason);
  };
  hooks.connections_changed = [&api](int delta) { api.connections_changed(delta); };
  server_limits limits = limits_from(settings.server);
  limits.io_threads = threads;
  limits.max_connections =
      connections_for_fd_limit(limits.max_connections,
                               fd_reserve(settings.server.max_inflight,
                                          static_cast<std::size_t>(settings.oppo.max_connections)),
                               log);
  http_server server(io, settings.server.listen, limits, std::move(hooks), &log);
  try {
    server.start();
  } catch (const std::exception& error) {
    log.write(log_level::error, error.what());
    if (!log.stop(log_exit_limit)) std::_Exit(1);
    return 1;
  }
  log.write(log_level::info, "listening",
            {{"address", server.local_address()},
             {"version", IMAGE_GATEWAY_VERSION},
             {"threads", threads},
             {"apps", settings.apps.size()}});

  drain_controller drain(io, settings, api, server, log);
  drain.arm();

  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i) workers.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& worker : workers) worker.join();
  if (drain.forced()) {
    // Suspended requests still hold references into the gateway; unwinding them after it is
    // gone is not safe, and nothing is left to flush but the log.
    log.write(log_level::warn, "stopped", {{"forced", true}});
    log.stop(log_exit_limit);
    std::_Exit(1);
  }
  decode_pool.join();
  log.write(log_level::info, "stopped", {{"forced", false}});
  // Every line reaches stdout before a clean exit; a pipe nobody reads cannot hold it for ever.
  if (!log.stop(log_exit_limit)) std::_Exit(0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  arguments args;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    if (arg == "--version") {
      std::cout << "image-gateway " << IMAGE_GATEWAY_VERSION << "\n";
      return 0;
    }
    if (arg == "--check-config") {
      args.check_only = true;
    } else if (arg == "--config" && i + 1 < argc) {
      args.config_path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      args.config_path = std::string(arg.substr(9));
    } else {
      std::cerr << usage;
      return fail("unknown argument '" + std::string(arg) + "'", 2);
    }
  }
  if (args.config_path.empty()) {
    if (const char* from_env = std::getenv("IMAGE_GATEWAY_CONFIG")) args.config_path = from_env;
  }
  if (args.config_path.empty()) {
    return fail("no configuration: pass --config FILE or set IMAGE_GATEWAY_CONFIG", 2);
  }

  config settings;
  try {
    settings = load_config_file(args.config_path);
  } catch (const config_error& error) {
    return fail(std::string("bad configuration: ") + error.what(), 2);
  } catch (const std::exception& error) {
    return fail(std::string("bad configuration: ") + error.what(), 2);
  }
  if (args.check_only) {
    std::cout << "configuration OK: " << args.config_path << " (" << settings.apps.size() << " app"
              << (settings.apps.size() == 1 ? "" : "s") << ")\n";
    return 0;
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  int code = 1;
  try {
    code = run(settings);
  } catch (const std::exception& error) {
    code = fail(std::string("stopped on an error: ") + error.what(), 1);
  }
  curl_global_cleanup();
  return code;
}
