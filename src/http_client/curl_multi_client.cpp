// libcurl behind the http_client interface: one multi handle driven by one thread.
#include "image_gateway/http_client/curl_multi_client.hpp"

#include "image_gateway/util/sha256.hpp"
#include "image_gateway/util/strings.hpp"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace image_gateway {
namespace {

// Everything one transfer needs while curl runs it; owned by the worker thread.
struct transfer {
  http_client::transfer_id id = 0;
  http_request request;
  http_client::completion done;
  http_response response;

  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  curl_mime* mime = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};

  // Why we aborted the transfer ourselves (curl only sees a failed callback).
  transfer_status abort_status = transfer_status::ok;
  std::string abort_detail;
  long current_status = 0;                 // status line of the response whose headers are arriving
  bool location_seen = false;              // that response's first Location came (curl uses it)
  std::optional<sha256_stream> body_hash;  // when request.hash_body

  // Where the easy handle goes back after the transfer (worker thread only); null: cleaned up.
  std::vector<CURL*>* recycle_to = nullptr;

  ~transfer() {
    if (easy != nullptr) release_easy();
    if (header_list != nullptr) curl_slist_free_all(header_list);
    if (mime != nullptr) curl_mime_free(mime);
  }

  // A reset handle is as good as a new one (curl_easy_reset restores every option) but keeps
  // its allocations: init and cleanup cost a few kB of mallocs and frees per fetch or upload.
  // Its connections stay in the multi handle's cache either way.
  void release_easy() {
    constexpr std::size_t max_idle_handles = 64;
    if (recycle_to != nullptr && recycle_to->size() < max_idle_handles) {
      curl_easy_reset(easy);
      recycle_to->push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
    easy = nullptr;
  }

  void abort_with(transfer_status status, std::string detail) {
    if (abort_status == transfer_status::ok) {
      abort_status = status;
      abort_detail = std::move(detail);
    }
  }
};

// A file part's bytes read straight from the shared buffer: no copy into curl.
struct shared_reader {
  shared_bytes data;
  std::size_t offset = 0;
};

size_t read_shared(char* buffer, size_t size, size_t count, void* user) {
  auto* reader = static_cast<shared_reader*>(user);
  const std::size_t left = reader->data.size() - reader->offset;
  const std::size_t n = std::min(left, size * count);
  std::memcpy(buffer, reader->data.data() + reader->offset, n);
  reader->offset += n;
  return n;
}

int seek_shared(void* user, curl_off_t offset, int origin) {
  auto* reader = static_cast<shared_reader*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::size_t>(offset) > reader->data.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  reader->offset = static_cast<std::size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

void free_shared(void* user) { delete static_cast<shared_reader*>(user); }

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  const std::size_t n = size * count;
  // Counted as it arrives: a chunked or lying body is cut at the limit + 1 byte.
  if (t->response.body.size() + n > t->request.max_response_bytes) {
    t->abort_with(transfer_status::too_large,
                  "more than " + std::to_string(t->request.max_response_bytes) + " bytes");
    return 0;
  }
  t->response.body.append(data, n);
  if (t->body_hash) t->body_hash->update(std::string_view(data, n));
  return n;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

// Why the redirect a 3xx answer's first Location asks for must not be followed (what curl
// follows: any 3xx with a non-empty Location, while hops are left), judged before curl opens
// anything for it; nullopt when it may be, or when it is not going to be followed.
std::optional<std::string> judge_redirect(transfer& t, std::string_view location) {
  const http_request& r = t.request;
  if (!r.redirect_check || r.max_redirects <= 0 || location.empty() || t.current_status < 300 ||
      t.current_status >= 400) {
    return std::nullopt;
  }
  long hops = 0;
  curl_easy_getinfo(t.easy, CURLINFO_REDIRECT_COUNT, &hops);
  if (hops >= r.max_redirects) return std::nullopt;  // too_many_redirects ends it instead
  const char* from = nullptr;
  curl_easy_getinfo(t.easy, CURLINFO_EFFECTIVE_URL, &from);
  return r.redirect_check(from != nullptr ? from : r.url, location);
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    // A new response (a redirect hop or the final one): its own status and headers.
    const auto space = line.find(' ');
    t->current_status = 0;
    if (space != std::string_view::npos && line.size() >= space + 4) {
      std::from_chars(line.data() + space + 1, line.data() + space + 4, t->current_status);
    }
    t->response.content_type.clear();
    t->response.headers.clear();
    t->location_seen = false;
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;
  const std::string_view value = trim(line.substr(colon + 1));
  t->response.headers.push_back({to_lower(line.substr(0, colon)), std::string(value)});
  const std::string& name = t->response.headers.back().name;
  if (name == "location" && !t->location_seen) {
    t->location_seen = true;
    if (auto why = judge_redirect(*t, value)) {
      t->abort_with(transfer_status::redirect_refused, std::move(*why));
      return 0;
    }
  } else if (name == "content-type") {
    t->response.content_type = std::string(value);
  } else if (name == "content-length" && t->current_status >= 200 && t->current_status < 300) {
    // Refused before reading the body when the answer says it is over the limit.
    unsigned long long length = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (ec == std::errc::result_out_of_range ||
        (ec == std::errc{} && length > t->request.max_response_bytes)) {
      t->abort_with(transfer_status::too_large,
                    "Content-Length " + std::string(value) + " is over the limit of " +
                        std::to_string(t->request.max_response_bytes) + " bytes");
      return 0;
    }
    // One allocation for the whole body instead of a copy at every growth.
    if (ec == std::errc{}) t->response.body.reserve(static_cast<std::size_t>(length));
  }
  return n;
}

std::optional<ip_address> to_ip_address(const curl_sockaddr& address) {
  if (address.family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &address.addr, sizeof in);
    return ip_address::v4(ntohl(in.sin_addr.s_addr));
  }
  if (address.family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &address.addr, sizeof in6);
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), in6.sin6_addr.s6_addr, 16);
    return ip_address::v6(bytes);
  }
  return std::nullopt;
}

// Called for every connection curl opens, after DNS, on every redirect hop: the one place the
// address actually connected to is judged, so rebinding and odd spellings cannot slip past.
curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<transfer*>(user);
  if (t->request.connect_policy != nullptr) {
    const auto ip = to_ip_address(*address);
    if (!ip) {
      t->abort_with(transfer_status::address_blocked, "address family is not IPv4 or IPv6");
      return CURL_SOCKET_BAD;
    }
    if (auto why = t->request.connect_policy->refusal(*ip)) {
      t->abort_with(transfer_status::address_blocked, std::move(*why));
      return CURL_SOCKET_BAD;
    }
  }
  const curl_socket_t fd = ::socket(address->family, address->socktype, address->protocol);
  if (fd != CURL_SOCKET_BAD) ++t->response.connections_opened;
  return fd;
}

// curl reports its low-speed abort (CURLOPT_LOW_SPEED_LIMIT/TIME) as CURLE_OPERATION_TIMEDOUT,
// told apart from the other time-outs only by its message, the same in every libcurl since 7.x:
// "Operation too slow. Less than N bytes/sec transferred the last N seconds".
bool cut_by_low_speed(const char* error_buffer) {
  return std::string_view(error_buffer).starts_with("Operation too slow");
}

transfer_status status_for(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return transfer_status::ok;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return transfer_status::dns_failed;
    case CURLE_COULDNT_CONNECT:
      return transfer_status::connect_failed;
    case CURLE_OPERATION_TIMEDOUT:
      return transfer_status::timed_out;
    case CURLE_TOO_MANY_REDIRECTS:
      return transfer_status::too_many_redirects;
    case CURLE_UNSUPPORTED_PROTOCOL:
      return transfer_status::redirect_refused;
    case CURLE_FILESIZE_EXCEEDED:
      return transfer_status::too_large;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
      return transfer_status::tls_failed;
    default:
      return transfer_status::failed;
  }
}

}  // namespace

struct curl_multi_client::impl {
  CURLM* multi = nullptr;
  std::thread worker;
  std::atomic<bool> stopping{false};

  std::mutex mutex;  // guards the two queues below and next_id
  std::deque<std::unique_ptr<transfer>> pending;
  std::vector<transfer_id> cancelled;
  transfer_id next_id = 1;

  // Owned by the worker thread only.
  std::unordered_map<transfer_id, std::unique_ptr<transfer>> running;
  std::vector<CURL*> idle_easy;  // reset easy handles of finished transfers, reused

  explicit impl(const curl_client_options& options) {
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, options.max_host_connections);
    // libcurl's default keeps only 4 idle connections per running transfer and closes the rest:
    // under load that churns connections. Keep enough to reuse them.
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, options.max_idle_connections);
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, options.max_total_connections);
    worker = std::thread([this] { run(); });
  }

  ~impl() {
    stopping = true;
    curl_multi_wakeup(multi);
    worker.join();
    for (CURL* easy : idle_easy) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);
  }

  void run() {
    while (!stopping) {
      take_queued();
      int still_running = 0;
      curl_multi_perform(multi, &still_running);
      finish_done();
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    // Whatever is left completes as cancelled, so every caller hears back exactly once.
    take_queued();
    for (auto& [id, t] : running) {
      curl_multi_remove_handle(multi, t->easy);
      complete(*t, transfer_status::cancelled, "client shut down");
    }
    running.clear();
  }

  void take_queued() {
    std::deque<std::unique_ptr<transfer>> new_transfers;
    std::vector<transfer_id> to_cancel;
    {
      std::lock_guard lock(mutex);
      new_transfers.swap(pending);
      to_cancel.swap(cancelled);
    }
    for (auto& t : new_transfers) {
      if (std::find(to_cancel.begin(), to_cancel.end(), t->id) != to_cancel.end()) {
        complete(*t, transfer_status::cancelled, "cancelled");
        continue;
      }
      if (!configure(*t)) continue;
      curl_multi_add_handle(multi, t->easy);
      running.emplace(t->id, std::move(t));
    }
    for (const transfer_id id : to_cancel) {
      const auto found = running.find(id);
      if (found == running.end()) continue;
      curl_multi_remove_handle(multi, found->second->easy);
      complete(*found->second, transfer_status::cancelled, "cancelled");
      running.erase(found);
    }
  }

  void finish_done() {
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      transfer* t = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &t);
      const CURLcode code = message->data.result;
      curl_multi_remove_handle(multi, message->easy_handle);
      const auto found = running.find(t->id);
      if (code == CURLE_OK) {
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->response.http_status);
        long redirects = 0;
        curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_COUNT, &redirects);
        t->response.redirects = static_cast<int>(redirects);
        if (t->body_hash) t->response.body_sha256 = t->body_hash->finish_hex();
        complete(*t, transfer_status::ok, {});
      } else if (t->abort_status != transfer_status::ok) {
        complete(*t, t->abort_status, t->abort_detail);
      } else if (code == CURLE_OPERATION_TIMEDOUT && cut_by_low_speed(t->error_buffer)) {
        complete(*t, transfer_status::too_slow,
                 "fewer than " + std::to_string(t->request.low_speed_bytes_per_s) +
                     " bytes per second arrived for " +
                     std::to_string(t->request.low_speed_window.count()) + " s");
      } else {
        const std::string detail =
            t->error_buffer[0] != '\0' ? std::string(t->error_buffer) : curl_easy_strerror(code);
        complete(*t, status_for(code), detail);
      }
      running.erase(found);
    }
  }

  void complete(transfer& t, transfer_status status, std::string detail) {
    t.response.status = status;
    t.response.error_detail = std::move(detail);
    if (t.easy != nullptr) {
      curl_off_t total_us = 0;
      curl_easy_getinfo(t.easy, CURLINFO_TOTAL_TIME_T, &total_us);
      t.response.elapsed = std::chrono::microseconds(total_us);
    }
    if (status != transfer_status::ok) t.response.body.clear();
    auto done = std::move(t.done);
    done(std::move(t.response));
  }

  bool configure(transfer& t) {
    const http_request& r = t.request;
    if (!idle_easy.empty()) {
      t.easy = idle_easy.back();
      idle_easy.pop_back();
    } else {
      t.easy = curl_easy_init();
    }
    t.recycle_to = &idle_easy;
    if (t.easy == nullptr) {
      complete(t, transfer_status::failed, "curl_easy_init failed");
      return false;
    }
    CURL* e = t.easy;
    if (r.hash_body) t.body_hash.emplace();
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error_buffer);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "image-gateway/" IMAGE_GATEWAY_VERSION);
    // "" disables proxies, including http_proxy / https_proxy / ALL_PROXY from the environment.
    curl_easy_setopt(e, CURLOPT_PROXY, r.proxy.c_str());
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::max<long long>(1, r.total_timeout.count())));
    if (r.low_speed_bytes_per_s > 0 && r.low_speed_window.count() > 0) {
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(r.low_speed_bytes_per_s));
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(r.low_speed_window.count()));
    }
    if (r.max_redirects > 0) {
      curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(r.max_redirects));
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &t);

    for (const auto& header : r.headers)
      t.header_list = curl_slist_append(t.header_list, header.c_str());
    // Never wait for "100 Continue" on our own uploads.
    t.header_list = curl_slist_append(t.header_list, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.header_list);

    if (!r.form.empty()) {
      t.mime = curl_mime_init(e);
      for (const form_part& part : r.form) {
        curl_mimepart* p = curl_mime_addpart(t.mime);
        curl_mime_name(p, part.name.c_str());
        if (part.file_data) {
          auto* reader = new shared_reader{part.file_data, 0};
          curl_mime_data_cb(p, static_cast<curl_off_t>(part.file_data.size()), read_shared,
                            seek_shared, free_shared, reader);
          curl_mime_filename(p, part.filename.c_str());
        } else {
          curl_mime_data(p, part.value.data(), part.value.size());
        }
        if (!part.content_type.empty()) curl_mime_type(p, part.content_type.c_str());
      }
      curl_easy_setopt(e, CURLOPT_MIMEPOST, t.mime);
    } else if (r.method == "POST") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
    } else if (r.method != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    return true;
  }
};

curl_multi_client::curl_multi_client(curl_client_options options)
    : impl_(std::make_unique<impl>(options)) {}

curl_multi_client::~curl_multi_client() = default;

http_client::transfer_id curl_multi_client::start(http_request request, completion done) {
  auto t = std::make_unique<transfer>();
  t->request = std::move(request);
  t->done = std::move(done);
  transfer_id id = 0;
  {
    std::lock_guard lock(impl_->mutex);
    id = impl_->next_id++;
    t->id = id;
    impl_->pending.push_back(std::move(t));
  }
  curl_multi_wakeup(impl_->multi);
  return id;
}

void curl_multi_client::cancel(transfer_id id) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->cancelled.push_back(id);
  }
  curl_multi_wakeup(impl_->multi);
}

}  // namespace image_gateway
