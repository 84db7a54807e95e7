#include "router.hpp"

namespace image_gateway {

route resolve_route(std::string_view method, std::string_view path) {
  if (path == "/v4/image/oppo") return method == "POST" ? route::image_upload : route::not_found;
  const bool read = method == "GET" || method == "HEAD";
  if (path == "/healthz") return read ? route::health : route::not_found;
  if (path == "/readyz") return read ? route::ready : route::not_found;
  if (path == "/metrics") return read ? route::metrics : route::not_found;
  return route::not_found;
}

}  // namespace image_gateway
