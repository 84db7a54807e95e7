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

// The W3C Trace Context headers of each request a fake received, in order ("" when absent).
struct trace_headers_seen {
  std::string path;
  std::string traceparent;
  std::string tracestate;
};

class trace_recorder {
 public:
  void record(const api_request& request);
  std::vector<trace_headers_seen> seen() const;

 private:
  mutable std::mutex mutex_;
  std::vector<trace_headers_seen> seen_;
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
  // Extra headers on the answers to this path (ETag, Last-Modified, Date, Cache-Control...).
  void set_headers(const std::string& path, std::vector<std::pair<std::string, std::string>> extra);
  // Answers 304 without a body when the request's If-None-Match equals this path's ETag or its
  // If-Modified-Since equals its Last-Modified.
  void honour_validators(const std::string& path);
  // The validators each request for this path carried, in order: "" when none, else
  // "If-None-Match: …" and/or "If-Modified-Since: …" joined by "; ".
  std::vector<std::string> validators_seen(const std::string& path) const;

  std::string url(const std::string& path) const { return server_->base_url() + path; }
  std::size_t hits(const std::string& path) const;
  std::size_t total_hits() const;
  trace_recorder traces;  // every request's trace headers

 private:
  struct answer {
    int status = 200;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::milliseconds delay{0};
    bool honour_validators = false;
  };
  mutable std::mutex mutex_;
  std::map<std::string, answer> answers_;
  std::map<std::string, std::size_t> hits_;
  std::map<std::string, std::vector<std::string>> validators_seen_;
  std::unique_ptr<loopback_server> server_;
};

// fake_oppo (the sandbox's logic) over real sockets.
class fake_oppo_server {
 public:
  explicit fake_oppo_server(std::vector<oppo_credentials> apps = {default_oppo_app()});
  static oppo_credentials default_oppo_app() { return {"oppo-test-app", "oppo-test-secret"}; }

  oppo::fake_oppo& api() { return api_; }
  std::string base_url() const { return server_->base_url(); }
  trace_recorder traces;  // every request's trace headers (auth and upload)

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
  mutable logger log_;  // log_output() flushes it
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

// One `curl -F` argument: a file part (name=@file) when filename is set, else a text part.
struct form_part {
  std::string name;
  std::string data;
  std::string filename;
  std::string type;
};

// What `curl -F … URL` sends: a multipart/form-data POST built by libcurl's mime API (the code
// the curl tool runs for -F), no proxy, 30 s cap.
client_response form_call(const std::string& url, const std::vector<form_part>& parts,
                          const std::vector<std::string>& headers = {});

// POST /v4/image/oppo with the test app's Basic credentials.
client_response post_images(const gateway_under_test& gateway, const std::string& body,
                            const std::vector<std::string>& extra_headers = {});

std::string basic_header(const std::string& user, const std::string& password);

// ---- Added for the error-table and pipeline tests (h4). ----

// Answers every request with one fixed answer and counts them (a broken OPPO, a 5xx upstream).
class fixed_answer_server {
 public:
  fixed_answer_server(int status, std::string body, std::string content_type = "text/plain");
  ~fixed_answer_server();

  std::string base_url() const { return server_->base_url(); }
  std::size_t hits() const { return hits_.load(); }

 private:
  api_response answer_;
  std::atomic<std::size_t> hits_{0};
  std::unique_ptr<loopback_server> server_;
};

// A 127.0.0.1 port that was bound and closed again: connecting to it is refused.
unsigned short closed_port();

// A 127.0.0.1 port held while this lives, by a listener that resets every connection at once
// (as a refused one fails): no server of a test running beside this one can take the port
// meanwhile, as one can take a closed_port(). Port 0: any free port.
class held_port {
 public:
  explicit held_port(unsigned short port = 0);
  ~held_port();
  held_port(const held_port&) = delete;
  held_port& operator=(const held_port&) = delete;
  unsigned short port() const { return port_; }

 private:
  int fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread resetter_;
};

// An answer read off a raw connection; status_line is e.g. "HTTP/1.0 200 OK".
struct raw_response : client_response {
  std::string status_line;
};

// One plain TCP connection to 127.0.0.1, for what curl hides: HTTP/1.0, two requests on one
// socket. Every wait is bounded (10 s at most).
class raw_connection {
 public:
  explicit raw_connection(unsigned short port);
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(const std::string& bytes);
  // One response, its body by Content-Length (or up to the close when there is none); status 0
  // and `error` set when no complete response came.
  raw_response read_response();
  // True when the peer closes the connection without sending anything more.
  bool closed_by_peer();

 private:
  bool read_more();  // false on close, time-out or error
  int fd_ = -1;
  std::string buffer_;
};

// A raw POST /v4/image/oppo with the test app's credentials, Content-Length set.
std::string raw_post(const std::string& http_version, const std::string& body,
                     const std::string& extra_header_lines = "");

}  // namespace image_gateway::testing
