#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "image_gateway/fetch/address_policy.hpp"
#include "image_gateway/util/shared_bytes.hpp"

namespace image_gateway {

// How a transfer ended, before looking at the HTTP status.
enum class transfer_status {
  ok,                  // an HTTP answer arrived (any status)
  dns_failed,          // the host name did not resolve
  connect_failed,      // refused or unreachable
  address_blocked,     // the address policy refused the address at connect time
  timed_out,           // connect or total time-out
  too_slow,            // under low_speed_bytes_per_s for low_speed_window (error_detail: numbers)
  too_large,           // more than max_response_bytes arrived (or Content-Length said so)
  too_many_redirects,  // more than max_redirects hops
  redirect_refused,    // a redirect redirect_check refused (error_detail: why), or to a scheme
                       // other than http/https
  tls_failed,          // handshake or certificate
  cancelled,           // cancel() was called
  failed,              // anything else
};

// One part of a multipart/form-data body. A file part's bytes are shared, never copied.
struct form_part {
  std::string name;
  std::string value;       // text part
  shared_bytes file_data;  // file part when set (a buffer of its own or a slice of one)
  std::string filename;
  std::string content_type;
};

struct http_request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent as is (set a Content-Type header)
  std::vector<form_part> form;       // multipart/form-data when non-empty (body ignored)

  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds total_timeout{10000};
  // Abort when fewer than low_speed_bytes_per_s arrive for low_speed_window (0: off).
  std::size_t low_speed_bytes_per_s = 0;
  std::chrono::seconds low_speed_window{0};
  // The transfer is aborted once max_response_bytes + 1 body bytes arrived, whatever
  // Content-Length said, and refused up front when Content-Length is over it.
  std::size_t max_response_bytes = 1024 * 1024;
  int max_redirects = 0;  // 0: redirects are not followed
  // Judges each redirect before it is followed, from the URL answered with it and its Location
  // (as sent, without surrounding blanks): a reason ends the transfer with redirect_refused
  // before anything is opened for the target. Null: curl's own scheme check only.
  std::function<std::optional<std::string>(std::string_view from, std::string_view location)>
      redirect_check;
  // Checked against the address actually connected to, on every hop; null: no check.
  std::shared_ptr<const address_policy> connect_policy;
  std::string proxy;  // "" : direct; environment proxy variables are never used
  // SHA-256 the body as it arrives (http_response::body_sha256): no second pass over it.
  bool hash_body = false;
};

// A header of the final answer: name in lower case, value without surrounding blanks.
struct http_header {
  std::string name;
  std::string value;
};

struct http_response {
  transfer_status status = transfer_status::failed;
  std::string error_detail;  // plain words for a failed transfer ("connection refused")
  long http_status = 0;
  std::string content_type;
  std::string body;
  std::vector<http_header> headers;  // of the final answer (not of redirect hops)
  int redirects = 0;                 // redirect hops followed
  std::string body_sha256;           // lower-case hex, when http_request::hash_body
  std::chrono::microseconds elapsed{0};
  std::size_t connections_opened = 0;  // new connections this transfer made (reuse metrics)
};

// The value of the final answer's header `name` (lower case); empty when absent. Several
// headers of one name are joined with ", " (RFC 9110 §5.3).
std::string header_value(const http_response& response, std::string_view name);

// An asynchronous HTTP client. Thread-safe. Completions run on the client's own thread and
// must be quick: post real work elsewhere (async_perform does).
class http_client {
 public:
  using transfer_id = std::uint64_t;
  using completion = std::function<void(http_response)>;

  virtual ~http_client() = default;

  // Starts a transfer; `done` is called exactly once, also when cancelled.
  virtual transfer_id start(http_request request, completion done) = 0;
  // Cancels a transfer if it is still running (it then completes with `cancelled`).
  virtual void cancel(transfer_id id) = 0;
};

}  // namespace image_gateway
