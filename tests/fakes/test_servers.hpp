#pragma once
// Real loopback servers for integration tests: the gateway under test, a fake OPPO and a fake
// image origin, each on 127.0.0.1:0 with its own io_context thread, plus a blocking client.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "image_gateway/api/gateway.hpp"
#include "image_gateway/config/config.hpp"
#include "image_gateway/http_client/curl_multi_client.hpp"
#include "image_gateway/log/logger.hpp"
#include "image_gateway/oppo/fake_oppo.hpp"
#include "image_gateway/server/http_server.hpp"

namespace image_gateway::testing {

// An http_server on 127.0.0.1:0 driven by its own thread(s).
class loopback_server {
 public:
  explicit loopback_server(http_server::hooks hooks, server_limits limits = {}, int threads = 1,
                           logger* log = nullptr);
  ~loopback_server();

  // Stops the io_context and joins its threads; queued work stays until destruction.
  void stop();

  std::string base_url() const;  // "http://127.0.0.1:PORT"
  unsigned short port() const { return server_->local_port(); }
  http_server& server() { return *server_; }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<http_server> server_;
  std::vector<std::thread> threads_;
};

// Serves fixed answers by path and counts requests per path.
class fake_origin {
 public:
  fake_origin();
  ~fake_origin();

  void serve(const std::string& path, std::string body, std::string content_type = "image/png",
             int status = 200);
  void redirect(const std::string& path, const std::string& location, int status = 302);
  // Holds answers to this path back (a slow origin).
  void delay(const std::string& path, std::chrono::milliseconds by);

  std::string url(const std::string& path) const { return server_->base_url() + path; }
  std::size_t hits(const std::string& path) const;
  std::size_t total_hits() const;

 private:
  struct answer {
    int status = 200;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::milliseconds delay{0};
  };
  mutable std::mutex mutex_;
  std::map<std::string, answer> answers_;
  std::map<std::string, std::size_t> hits_;
  std::unique_ptr<loopback_server> server_;
};

// fake_oppo (the sandbox's logic) over real sockets.
class fake_oppo_server {
 public:
  explicit fake_oppo_server(std::vector<oppo_credentials> apps = {default_oppo_app()});
  static oppo_credentials default_oppo_app() { return {"oppo-test-app", "oppo-test-secret"}; }

  oppo::fake_oppo& api() { return api_; }
  std::string base_url() const { return server_->base_url(); }

 private:
  oppo::fake_oppo api_;
  std::unique_ptr<loopback_server> server_;
};

// The caller credentials every test config has.
inline constexpr const char* test_app_key = "test-app";
inline constexpr const char* test_app_secret = "test-secret";

// A config pointing at these fakes, loopback allowed, short time-outs.
config test_config(const std::string& oppo_base_url);

// The real gateway (same parts as main) on 127.0.0.1:0.
class gateway_under_test {
 public:
  explicit gateway_under_test(config settings, int threads = 2);
  ~gateway_under_test();

  std::string url(const std::string& path) const { return server_->base_url() + path; }
  unsigned short port() const { return server_->port(); }
  gateway& api() { return *api_; }
  loopback_server& server() { return *server_; }
  const config& settings() const { return settings_; }
  std::string log_output() const;  // everything logged so far

 private:
  config settings_;
  std::FILE* log_file_;
  logger log_;
  boost::asio::thread_pool decode_pool_{2};
  std::unique_ptr<curl_multi_client> fetch_transport_;
  std::unique_ptr<curl_multi_client> oppo_transport_;
  std::unique_ptr<gateway> api_;
  std::unique_ptr<loopback_server> server_;
};

struct client_response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;                           // curl's error when no answer came
  std::string header(const std::string& name) const {
    const auto found = headers.find(name);
    return found == headers.end() ? "" : found->second;
  }
};

// A blocking request with libcurl (no proxy, 30 s cap).
client_response http_call(const std::string& method, const std::string& url,
                          const std::string& body = "",
                          const std::vector<std::string>& headers = {});

// POST /v4/image/oppo with the test app's Basic credentials.
client_response post_images(const gateway_under_test& gateway, const std::string& body,
                            const std::vector<std::string>& extra_headers = {});

std::string basic_header(const std::string& user, const std::string& password);

}  // namespace image_gateway::testing
