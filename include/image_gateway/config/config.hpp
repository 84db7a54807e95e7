#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "image_gateway/fetch/address_policy.hpp"
#include "image_gateway/image/image_check.hpp"

namespace image_gateway {

using milliseconds = std::chrono::milliseconds;

struct oppo_credentials {
  std::string app_key;
  std::string master_secret;
};

struct app_config {
  std::string app_key;
  std::string master_secret;
  oppo_credentials oppo;
  double rate_limit_per_s = 0;  // 0: no limit
};

struct server_config {
  std::string listen = "0.0.0.0:8080";
  int threads = 0;  // 0: one per core
  std::size_t max_connections = 10000;
  std::size_t max_inflight = 512;
  std::size_t max_body_bytes = 16384;
  // A multipart/form-data body (image bytes instead of URLs): both images at their limits plus
  // framing.
  std::size_t max_body_multipart_bytes = 1200000;
  // All request bodies of authenticated callers held in memory at once; over it: 503.
  std::uint64_t max_buffered_body_bytes = 67108864;
  milliseconds header_timeout{10000};
  milliseconds idle_timeout{75000};
  milliseconds request_deadline{25000};
  milliseconds drain{5000};
};

struct oppo_config {
  std::string auth_base_url = "https://api.push.oppomobile.com";
  std::string media_base_url = "https://api-media.push.heytapmobi.com";
  long long picture_ttl_s = 2592000;
  milliseconds connect_timeout{3000};
  milliseconds timeout{10000};
  int retries = 2;
  std::string proxy;         // "" : direct
  long max_connections = 8;  // per OPPO host; more uploads at once wait for a free connection
};

struct images_config {
  image_rule big{984, 369, 1048576};
  image_rule small{144, 144, 51200};
  bool verify_decode = true;
  fit_limits fit;  // images.fit: the largest source a fit accepts
};

struct fetch_config {
  milliseconds connect_timeout{3000};
  milliseconds timeout{10000};
  int max_redirects = 3;
  std::vector<ip_network> allow_networks;
  bool revalidate = true;  // revalidation of fetched images (needs the upload cache)
  // The longest an origin's stated freshness is trusted without asking it again, in seconds
  // (0: never; at most 86400, the memo's own limit).
  int max_fresh_s = 300;
};

struct cache_config {
  std::size_t max_entries = 100000;  // 0: upload cache off
};

enum class log_level { debug, info, warn, error };

struct log_config {
  log_level level = log_level::info;
};

// W3C Trace Context: a caller's valid `traceparent` is always continued; without one, the
// gateway starts a trace of its own for the request only when `generate` is set.
struct trace_config {
  bool generate = false;
};

// Shared state for replicas (docs/scaling.md). url "" : none (each replica alone, in memory).
enum class redis_mode { standalone, cluster, sentinel };

struct redis_endpoint {
  std::string host;  // brackets of an IPv6 literal removed
  std::string port;
};

struct redis_tls_config {
  std::string ca_file;    // "" : the system store
  std::string cert_file;  // a client certificate (with key_file), "" : none
  std::string key_file;
  std::string server_name;  // "" : the URL's host
};

struct redis_config {
  std::string url;   // as written: redis[s]://host:port[/db]
  std::string host;  // parsed from url (brackets of an IPv6 literal removed)
  std::string port;  // parsed from url, "6379" when absent
  int db = 0;        // parsed from url
  bool tls = false;  // rediss://
  redis_mode mode = redis_mode::standalone;
  std::vector<redis_endpoint> seeds;  // more seed nodes (cluster) or sentinels (sentinel)
  std::string sentinel_master;        // the master's name (sentinel)
  std::string username;               // "" : the default user
  std::string password;               // "" : no AUTH
  redis_tls_config tls_files;
  std::string key_prefix = "image-gateway:";
  milliseconds timeout{50};
  milliseconds lock_lease{2000};  // an upload's or token refresh's lock, renewed by its owner
  int expected_replicas = 1;
  bool enabled() const { return !url.empty(); }
};

struct config {
  server_config server;
  std::vector<app_config> apps;
  oppo_config oppo;
  images_config images;
  fetch_config fetch;
  cache_config cache;
  log_config log;
  redis_config redis;
  trace_config trace;
};

// A configuration that cannot be used; what() is one line naming the key path, e.g.
// "apps[0].oppo.master_secret: environment variable OPPO_MASTER_SECRET is not set".
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Returns the value of an environment variable, nullopt when unset.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;
std::optional<std::string> process_env(std::string_view name);

// JSON text to settings (docs/configuration.md). Defaults for every key but `apps`; unknown keys,
// wrong types, out-of-range values and unset ${NAME} variables throw config_error.
config parse_config(std::string_view json_text, const env_lookup& env = process_env);

// Reads and parses a file; an unreadable file is a config_error too.
config load_config_file(const std::string& path, const env_lookup& env = process_env);

}  // namespace image_gateway
