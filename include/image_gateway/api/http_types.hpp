#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace image_gateway {

// What a handler decided from a request's header alone (http_server::hooks::screen), carried
// with the request to the handler; defined by the handler, opaque to the server.
struct header_admission;

// The limits a 503 from the HTTP server names, as the `reason` it passes to its refuse hook.
inline constexpr std::string_view shed_max_connections = "max_connections";
inline constexpr std::string_view shed_file_descriptors = "file_descriptors";
inline constexpr std::string_view shed_max_buffered_body_bytes = "max_buffered_body_bytes";

// An HTTP request as the handlers see it: no Beast types beyond server/.
struct api_request {
  std::string method;  // "GET", "POST", …
  std::string target;  // origin-form "/path?query" (an absolute-form target is reduced to it)
  std::string path;    // target without the query string
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_address;                         // "127.0.0.1:53211"
  std::shared_ptr<const header_admission> admission;  // set by the screen hook when admitted

  // The first header with this (lower-case) name, or "" when absent.
  std::string_view header(std::string_view lower_case_name) const;
};

struct api_response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  api_response& with_header(std::string name, std::string value) {
    // Room for the usual few (X-Request-Id, WWW-Authenticate or X-Cache, rate headers) at once,
    // not a reallocation per added field.
    if (headers.capacity() == 0) headers.reserve(4);
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

}  // namespace image_gateway
