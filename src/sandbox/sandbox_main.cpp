// oppo-sandbox: OPPO's auth and media API (the same fake the tests use) plus a few sample
// images, so image-gateway can be run and tried fully offline.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "image_gateway/log/logger.hpp"
#include "image_gateway/oppo/fake_oppo.hpp"
#include "image_gateway/server/http_server.hpp"
#include "image_gateway/util/sample_images.hpp"

namespace net = boost::asio;
using namespace image_gateway;

namespace {

constexpr const char* usage =
    "usage: oppo-sandbox [--listen HOST:PORT] [--app-key KEY --master-secret SECRET]...\n"
    "\n"
    "Speaks OPPO's push auth and media upload API on HOST:PORT (default 127.0.0.1:9090):\n"
    "  POST /server/v1/auth, POST /server/v1/media/upload/{big,small}_picture\n"
    "and serves sample images: GET /images/big.png, /images/big.jpg, /images/small.png,\n"
    "/images/small.jpg, /images/wrong-size.png, /images/not-an-image.png.\n"
    "Default OPPO credentials: sandbox-oppo-app / sandbox-oppo-secret.\n";

struct sample {
  std::string content_type;
  std::string bytes;
};

std::map<std::string, sample> make_samples() {
  return {
      {"/images/big.png", {"image/png", samples::png(984, 369, 1)}},
      {"/images/big.jpg", {"image/jpeg", samples::jpeg(984, 369, 2)}},
      {"/images/small.png", {"image/png", samples::png(144, 144, 3)}},
      {"/images/small.jpg", {"image/jpeg", samples::jpeg(144, 144, 4)}},
      {"/images/wrong-size.png", {"image/png", samples::png(1000, 400, 5)}},
      {"/images/not-an-image.png", {"image/png", "<html><body>not an image</body></html>"}},
  };
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string listen = "127.0.0.1:9090";
  oppo::fake_oppo::options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    if (arg == "--listen" && i + 1 < argc) {
      listen = argv[++i];
    } else if (arg == "--app-key" && i + 1 < argc) {
      options.apps.push_back({argv[++i], ""});
    } else if (arg == "--master-secret" && i + 1 < argc && !options.apps.empty()) {
      options.apps.back().master_secret = argv[++i];
    } else {
      std::cerr << usage << "oppo-sandbox: unknown argument '" << arg << "'\n";
      return 2;
    }
  }
  if (options.apps.empty()) options.apps.push_back({"sandbox-oppo-app", "sandbox-oppo-secret"});

  logger log(log_level::info);
  oppo::fake_oppo oppo_api(options);
  const auto images = make_samples();
  net::io_context io(1);

  http_server::hooks hooks;
  hooks.handle = [&](api_request request) -> net::awaitable<api_response> {
    if (request.method == "GET") {
      if (request.path == "/healthz") {
        co_return api_response{200, "application/json", {}, R"({"status":"ok"})"};
      }
      if (const auto found = images.find(request.path); found != images.end()) {
        co_return api_response{200, found->second.content_type, {}, found->second.bytes};
      }
      co_return api_response{404, "text/plain", {}, "not found\n"};
    }
    oppo::fake_reply reply = oppo_api.handle(request);
    if (reply.delay.count() > 0) {
      net::steady_timer timer(co_await net::this_coro::executor, reply.delay);
      co_await timer.async_wait(net::use_awaitable);
    }
    log.write(log_level::info, "oppo call",
              {{"path", request.path}, {"status", reply.response.status}});
    co_return reply.response;
  };
  server_limits limits;
  limits.max_body_bytes = 4 * 1024 * 1024;  // uploads carry the image
  limits.max_body_multipart_bytes = limits.max_body_bytes;
  http_server server(io, listen, limits, std::move(hooks), &log);
  try {
    server.start();
  } catch (const std::exception& error) {
    std::cerr << "oppo-sandbox: " << error.what() << "\n";
    return 1;
  }
  log.write(log_level::info, "oppo-sandbox listening", {{"address", server.local_address()}});

  net::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  io.run();
  return 0;
}
