#include "fakes/test_servers.hpp"

#include <curl/curl.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "image_gateway/util/strings.hpp"

namespace image_gateway::testing {
namespace net = boost::asio;

namespace {
// libcurl wants one global init before any thread uses it.
const bool curl_ready = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
}  // namespace

loopback_server::loopback_server(http_server::hooks hooks, server_limits limits, int threads,
                                 logger* log) {
  server_ = std::make_unique<http_server>(io_, "127.0.0.1:0", limits, std::move(hooks), log);
  server_->start();
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      auto guard = net::make_work_guard(io_);
      io_.run();
    });
  }
}

loopback_server::~loopback_server() { stop(); }

void loopback_server::stop() {
  server_->stop_accepting();
  // Let open connections end the way they do in production (idle ones close at once) before
  // the io_context stops: a session frame left suspended at teardown is reported as a leak.
  if (!threads_.empty()) {
    server_->close_idle_connections();
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (server_->open_connections() > 0 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      server_->close_idle_connections();
    }
  }
  io_.stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

std::string loopback_server::base_url() const {
  return "http://127.0.0.1:" + std::to_string(server_->local_port());
}

void trace_recorder::record(const api_request& request) {
  std::lock_guard lock(mutex_);
  seen_.push_back({request.path, std::string(request.header("traceparent")),
                   std::string(request.header("tracestate"))});
}

std::vector<trace_headers_seen> trace_recorder::seen() const {
  std::lock_guard lock(mutex_);
  return seen_;
}

fake_origin::fake_origin() {
  http_server::hooks hooks;
  hooks.handle = [this](api_request request) -> net::awaitable<api_response> {
    traces.record(request);
    answer found;
    bool known = false;
    const std::string if_none_match(request.header("if-none-match"));
    const std::string if_modified_since(request.header("if-modified-since"));
    {
      std::lock_guard lock(mutex_);
      ++hits_[request.path];
      std::string seen;
      if (!if_none_match.empty()) seen = "If-None-Match: " + if_none_match;
      if (!if_modified_since.empty()) {
        seen += (seen.empty() ? "" : "; ") + std::string("If-Modified-Since: ") + if_modified_since;
      }
      validators_seen_[request.path].push_back(seen);
      if (const auto it = answers_.find(request.path); it != answers_.end()) {
        found = it->second;
        known = true;
      }
    }
    if (!known) co_return api_response{404, "text/plain", {}, "no such image\n"};
    if (found.delay.count() > 0) {
      net::steady_timer timer(co_await net::this_coro::executor, found.delay);
      co_await timer.async_wait(net::use_awaitable);
    }
    if (found.honour_validators) {
      for (const auto& [name, value] : found.headers) {
        if ((name == "ETag" && !if_none_match.empty() && if_none_match == value) ||
            (name == "Last-Modified" && !if_modified_since.empty() && if_modified_since == value)) {
          co_return api_response{304, "", found.headers, ""};
        }
      }
    }
    co_return api_response{found.status, found.content_type, found.headers, found.body};
  };
  server_limits limits;
  server_ = std::make_unique<loopback_server>(std::move(hooks), limits, 2);
}

fake_origin::~fake_origin() { server_.reset(); }

void fake_origin::serve(const std::string& path, std::string body, std::string content_type,
                        int status) {
  std::lock_guard lock(mutex_);
  auto& a = answers_[path];
  a.status = status;
  a.content_type = std::move(content_type);
  a.body = std::move(body);
}

void fake_origin::redirect(const std::string& path, const std::string& location, int status) {
  std::lock_guard lock(mutex_);
  auto& a = answers_[path];
  a.status = status;
  a.content_type = "text/plain";
  a.body = "moved\n";
  a.headers = {{"Location", location}};
}

void fake_origin::delay(const std::string& path, std::chrono::milliseconds by) {
  std::lock_guard lock(mutex_);
  answers_[path].delay = by;
}

void fake_origin::set_headers(const std::string& path,
                              std::vector<std::pair<std::string, std::string>> extra) {
  std::lock_guard lock(mutex_);
  answers_[path].headers = std::move(extra);
}

void fake_origin::honour_validators(const std::string& path) {
  std::lock_guard lock(mutex_);
  answers_[path].honour_validators = true;
}

std::vector<std::string> fake_origin::validators_seen(const std::string& path) const {
  std::lock_guard lock(mutex_);
  const auto it = validators_seen_.find(path);
  return it == validators_seen_.end() ? std::vector<std::string>{} : it->second;
}

std::size_t fake_origin::hits(const std::string& path) const {
  std::lock_guard lock(mutex_);
  const auto it = hits_.find(path);
  return it == hits_.end() ? 0 : it->second;
}

std::size_t fake_origin::total_hits() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (const auto& [path, count] : hits_) total += count;
  return total;
}

fake_oppo_server::fake_oppo_server(std::vector<oppo_credentials> apps)
    : api_(oppo::fake_oppo::options{std::move(apps)}) {
  http_server::hooks hooks;
  hooks.handle = [this](api_request request) -> net::awaitable<api_response> {
    traces.record(request);
    oppo::fake_reply reply = api_.handle(request);
    if (reply.delay.count() > 0) {
      net::steady_timer timer(co_await net::this_coro::executor, reply.delay);
      co_await timer.async_wait(net::use_awaitable);
    }
    co_return reply.response;
  };
  server_limits limits;
  limits.max_body_bytes = 4 * 1024 * 1024;
  limits.max_body_multipart_bytes = limits.max_body_bytes;
  server_ = std::make_unique<loopback_server>(std::move(hooks), limits, 2);
}

config test_config(const std::string& oppo_base_url) {
  config settings;
  settings.server.listen = "127.0.0.1:0";
  settings.server.request_deadline = std::chrono::milliseconds(5000);
  settings.apps.push_back({test_app_key, test_app_secret, fake_oppo_server::default_oppo_app(), 0});
  settings.oppo.auth_base_url = oppo_base_url;
  settings.oppo.media_base_url = oppo_base_url;
  settings.oppo.timeout = std::chrono::milliseconds(2000);
  settings.oppo.connect_timeout = std::chrono::milliseconds(1000);
  settings.fetch.timeout = std::chrono::milliseconds(2000);
  settings.fetch.connect_timeout = std::chrono::milliseconds(1000);
  settings.fetch.allow_networks.push_back(*ip_network::parse("127.0.0.0/8"));
  settings.log.level = log_level::debug;
  return settings;
}

gateway_under_test::gateway_under_test(config settings, int threads)
    : settings_(std::move(settings)),
      log_file_(std::tmpfile()),
      log_(settings_.log.level, log_file_),
      fetch_transport_(std::make_unique<curl_multi_client>()),
      oppo_transport_(std::make_unique<curl_multi_client>(
          curl_client_options{.max_host_connections = settings_.oppo.max_connections})) {
  api_ =
      std::make_unique<gateway>(settings_, *fetch_transport_, *oppo_transport_, log_, decode_pool_);
  http_server::hooks hooks;
  hooks.handle = [this](api_request request) { return api_->handle(std::move(request)); };
  hooks.screen = [this](api_request& header) { return api_->screen(header); };
  hooks.client_gone = [this](const api_request& partial) { api_->client_gone(partial); };
  hooks.refuse = [this](int status, const api_request& partial, const std::string& reason) {
    return api_->refuse(status, partial, reason);
  };
  hooks.connections_changed = [this](int delta) { api_->connections_changed(delta); };
  server_limits limits;
  limits.max_connections = settings_.server.max_connections;
  limits.max_body_bytes = settings_.server.max_body_bytes;
  limits.max_body_multipart_bytes = settings_.server.max_body_multipart_bytes;
  limits.max_buffered_body_bytes = settings_.server.max_buffered_body_bytes;
  limits.header_timeout = settings_.server.header_timeout;
  limits.body_timeout = settings_.server.header_timeout;
  limits.idle_timeout = settings_.server.idle_timeout;
  limits.io_threads = threads;
  server_ = std::make_unique<loopback_server>(std::move(hooks), limits, threads, &log_);
}

gateway_under_test::~gateway_under_test() {
  // Threads first, then the decode pool and the transports (their last completions land in the
  // stopped io_context: a decode job holds a strand of it), then the io_context with whatever is
  // queued. The reverse order leaves a strand alive after its io_context (UBSan saw it).
  server_->stop();
  decode_pool_.join();
  fetch_transport_.reset();
  oppo_transport_.reset();
  server_.reset();
  api_.reset();
  log_.stop(std::chrono::seconds(10));  // its writer must be done with the file before it closes
  std::fclose(log_file_);
}

std::string gateway_under_test::log_output() const {
  log_.flush();
  // pread: the logger's writer thread owns the descriptor's offset.
  std::string text;
  char chunk[4096];
  off_t offset = 0;
  while (true) {
    const ssize_t n = ::pread(::fileno(log_file_), chunk, sizeof chunk, offset);
    if (n <= 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
    offset += n;
  }
  return text;
}

namespace {
size_t collect_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t collect_header(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*headers)[to_lower(line.substr(0, colon))] = value;
  }
  return size * count;
}
}  // namespace

namespace {
// What every test request shares: the URL, no proxy, a 30 s cap, the headers, and the answer
// collected. Takes the handle with its method and body already set, and cleans it up.
client_response perform(CURL* curl, const std::string& url,
                        const std::vector<std::string>& headers) {
  client_response response;
  curl_slist* list = nullptr;
  for (const auto& header : headers) list = curl_slist_append(list, header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  } else {
    response.error = curl_easy_strerror(code);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return response;
}
}  // namespace

client_response http_call(const std::string& method, const std::string& url,
                          const std::string& body, const std::vector<std::string>& headers) {
  (void)curl_ready;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST" || !body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  return perform(curl, url, headers);
}

client_response form_call(const std::string& url, const std::vector<form_part>& parts,
                          const std::vector<std::string>& headers) {
  (void)curl_ready;
  CURL* curl = curl_easy_init();
  curl_mime* mime = curl_mime_init(curl);
  for (const form_part& field : parts) {
    curl_mimepart* part = curl_mime_addpart(mime);
    curl_mime_name(part, field.name.c_str());
    curl_mime_data(part, field.data.data(), field.data.size());
    if (!field.filename.empty()) curl_mime_filename(part, field.filename.c_str());
    if (!field.type.empty()) curl_mime_type(part, field.type.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
  client_response response = perform(curl, url, headers);
  curl_mime_free(mime);  // after the handle is gone, as libcurl's own examples do
  return response;
}

std::string basic_header(const std::string& user, const std::string& password) {
  return "Authorization: Basic " + base64_encode(user + ":" + password);
}

client_response post_images(const gateway_under_test& gateway, const std::string& body,
                            const std::vector<std::string>& extra_headers) {
  std::vector<std::string> headers = {basic_header(test_app_key, test_app_secret)};
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  return http_call("POST", gateway.url("/v4/image/oppo"), body, headers);
}

// ---- Added for the error-table and pipeline tests (h4). ----

fixed_answer_server::fixed_answer_server(int status, std::string body, std::string content_type) {
  answer_.status = status;
  answer_.content_type = std::move(content_type);
  answer_.body = std::move(body);
  http_server::hooks hooks;
  hooks.handle = [this](api_request) -> net::awaitable<api_response> {
    ++hits_;
    co_return answer_;
  };
  server_limits limits;
  limits.max_body_bytes = 4 * 1024 * 1024;
  limits.max_body_multipart_bytes = limits.max_body_bytes;
  server_ = std::make_unique<loopback_server>(std::move(hooks), limits, 1);
}

fixed_answer_server::~fixed_answer_server() { server_.reset(); }

namespace {
sockaddr_in loopback_address(unsigned short port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return address;
}
}  // namespace

unsigned short closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("closed_port: socket failed");
  sockaddr_in address = loopback_address(0);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("closed_port: bind failed");
  }
  ::close(fd);  // never listened: connecting is refused
  return ntohs(address.sin_port);
}

held_port::held_port(unsigned short port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("held_port: socket failed");
  // A port a killed server just left has its connections in TIME_WAIT: reusable, and listening
  // keeps any other server from binding it.
  const int on = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address = loopback_address(port);
  socklen_t length = sizeof address;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd_, 64) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd_);
    throw std::runtime_error("held_port: cannot hold port " + std::to_string(port));
  }
  port_ = ntohs(address.sin_port);
  resetter_ = std::thread([this] {
    while (!stop_) {
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, 20) <= 0) continue;
      const int connection = ::accept(fd_, nullptr, nullptr);
      if (connection < 0) continue;
      const linger reset{1, 0};  // closed with a RST, not a FIN
      ::setsockopt(connection, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      ::close(connection);
    }
  });
}

held_port::~held_port() {
  stop_ = true;
  resetter_.join();
  ::close(fd_);
}

namespace {
constexpr auto raw_wait = std::chrono::seconds(10);
}

raw_connection::raw_connection(unsigned short port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  const sockaddr_in address = loopback_address(port);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

raw_connection::~raw_connection() {
  if (fd_ >= 0) ::close(fd_);
}

bool raw_connection::send(const std::string& bytes) {
  std::size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return fd_ >= 0;
}

bool raw_connection::read_more() {
  if (fd_ < 0) return false;
  pollfd waiting{fd_, POLLIN, 0};
  if (::poll(&waiting, 1, static_cast<int>(std::chrono::milliseconds(raw_wait).count())) <= 0) {
    return false;
  }
  char chunk[4096];
  const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

raw_response raw_connection::read_response() {
  raw_response response;
  std::size_t end_of_head;
  while ((end_of_head = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!read_more()) {
      response.error = "no complete header block";
      return response;
    }
  }
  const std::string head = buffer_.substr(0, end_of_head);
  buffer_.erase(0, end_of_head + 4);
  std::size_t line_end = head.find("\r\n");
  response.status_line = head.substr(0, line_end);
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line =
        head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    response.headers[to_lower(line.substr(0, colon))] = value;
  }
  const std::string length_text = response.header("content-length");
  if (!length_text.empty()) {
    const std::size_t length = std::stoul(length_text);
    while (buffer_.size() < length) {
      if (!read_more()) {
        response.error = "body shorter than Content-Length";
        return response;
      }
    }
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
  } else {
    while (read_more()) {
    }
    response.body = std::move(buffer_);
    buffer_.clear();
  }
  const auto space = response.status_line.find(' ');
  if (space != std::string::npos)
    response.status = std::atol(response.status_line.c_str() + space + 1);
  return response;
}

bool raw_connection::closed_by_peer() {
  if (fd_ < 0 || !buffer_.empty()) return false;
  pollfd waiting{fd_, POLLIN, 0};
  if (::poll(&waiting, 1, static_cast<int>(std::chrono::milliseconds(raw_wait).count())) <= 0) {
    return false;
  }
  char byte;
  return ::recv(fd_, &byte, 1, 0) <= 0;
}

std::string raw_post(const std::string& http_version, const std::string& body,
                     const std::string& extra_header_lines) {
  return "POST /v4/image/oppo HTTP/" + http_version + "\r\nHost: 127.0.0.1\r\n" +
         basic_header(test_app_key, test_app_secret) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + extra_header_lines + "\r\n" + body;
}

}  // namespace image_gateway::testing
