#pragma once

#include <memory>

#include "image_gateway/http_client/http_client.hpp"

namespace image_gateway {

struct curl_client_options {
  long max_host_connections = 16;  // per-host cap; transfers over it wait for a connection
  long max_idle_connections = 64;  // connections kept open for reuse (CURLMOPT_MAXCONNECTS)
  long max_total_connections = 0;  // 0: no cap
};

// libcurl behind http_client: one multi handle on its own thread (curl_multi_poll +
// curl_multi_wakeup), one connection pool and DNS cache for every transfer. The only place that
// includes <curl/curl.h>. curl_global_init must have run (main does it).
class curl_multi_client final : public http_client {
 public:
  explicit curl_multi_client(curl_client_options options = {});
  ~curl_multi_client() override;  // cancels what runs and joins the thread

  curl_multi_client(const curl_multi_client&) = delete;
  curl_multi_client& operator=(const curl_multi_client&) = delete;

  transfer_id start(http_request request, completion done) override;
  void cancel(transfer_id id) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace image_gateway
