#include "image_gateway/config/config.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <unordered_map>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_gateway/util/json_duplicates.hpp"
#include "image_gateway/util/strings.hpp"

namespace image_gateway {

namespace {

using json = nlohmann::json;

// Timeouts and TTLs are added to clock readings; this cap (about 24.8 days) keeps that far from
// overflow while being far above any sensible setting.
constexpr std::int64_t max_duration = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t unbounded = std::numeric_limits<std::int64_t>::max();

// A string for a one-line message: JSON-escaped and quoted, so no key can break the line.
std::string quote_text(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', true, json::error_handler_t::replace);
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw config_error(path.empty() ? what : path + ": " + what);
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string type_of(const json& value) {
  if (value.is_number_float()) return "a non-integer number";
  if (value.is_number()) return "a number";
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  if (value.is_string()) return "a string";
  if (value.is_boolean()) return "a boolean";
  return "null";
}

// Line and column of a byte offset, for a parse error that must not quote the text (it may
// hold a secret).
std::string position_of(std::string_view text, std::size_t byte) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// Parses the JSON text, refusing duplicate keys (nlohmann would keep the last one silently).
json parse_json(std::string_view text) {
  duplicate_key_watch duplicates;
  json parsed;
  try {
    parsed = json::parse(text, duplicates.callback());
  } catch (const json::parse_error& e) {
    // e.what() quotes the text around the error, which may be part of a secret.
    throw config_error("configuration is not valid JSON: syntax error at " +
                       position_of(text, e.byte));
  }
  if (const auto& duplicate = duplicates.first_duplicate()) {
    throw config_error("duplicate key " + quote_text(*duplicate));
  }
  return parsed;
}

// Only a whole value "${NAME}" (or "${file:PATH}") is replaced, never a part of a string: secrets
// often contain
// '$', and partial interpolation would need an escape syntax that a pasted secret could trip.
std::optional<std::string_view> env_reference(std::string_view value) {
  if (value.size() < 3 || !value.starts_with("${") || !value.ends_with("}")) return std::nullopt;
  return value.substr(2, value.size() - 3);
}

// "${file:PATH}" names a file whose content is the value (secrets mounted as files by Docker and
// Kubernetes). Messages name the path, never the content.
constexpr std::string_view file_prefix = "file:";
constexpr std::size_t max_secret_file_bytes = 64 * 1024;

std::string read_secret_file(const std::string& key_path, const std::string& file) {
  const std::string named = "file " + quote_text(file);
  if (file.empty() || !file.starts_with('/')) fail(key_path, named + " must be an absolute path");
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) fail(key_path, "cannot read " + named + ": " + std::strerror(errno));
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } const close_at_exit{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) fail(key_path, "cannot read " + named + ": " + std::strerror(errno));
  if (S_ISDIR(info.st_mode)) fail(key_path, named + " is a directory");
  if (!S_ISREG(info.st_mode)) fail(key_path, named + " is not a regular file");
  // One byte past the cap tells a file that grew after fstat from one that fits.
  std::string content(max_secret_file_bytes + 1, '\0');
  std::size_t got = 0;
  while (got < content.size()) {
    const ssize_t n = ::read(fd, content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(key_path, "cannot read " + named + ": " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > max_secret_file_bytes) fail(key_path, named + " is larger than 64 KiB");
  content.resize(got);
  if (content.ends_with('\n')) content.pop_back();  // the newline an editor or `echo` adds
  if (content.empty()) fail(key_path, named + " is empty");
  return content;
}

bool valid_env_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

bool starts_with_scheme(std::string_view url, std::initializer_list<std::string_view> schemes) {
  for (const std::string_view scheme : schemes) {
    const std::string prefix = std::string(scheme) + "://";
    if (url.size() > prefix.size() && iequals(url.substr(0, prefix.size()), prefix)) return true;
  }
  return false;
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// "host:port" or "[v6]:port", port 0..65535 (0 picks a free port).
bool valid_listen(std::string_view value) {
  std::string_view host;
  std::string_view port;
  if (value.starts_with('[')) {
    const std::size_t close = value.find(']');
    if (close == std::string_view::npos || close + 1 >= value.size() || value[close + 1] != ':') {
      return false;
    }
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return false;  // brackets are for IPv6
  } else {
    const std::size_t colon = value.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;  // IPv6 needs brackets
  }
  if (host.empty() || host.find_first_of("[]/ \t@") != std::string_view::npos) return false;
  if (!all_digits(port) || port.size() > 5) return false;
  return std::stoul(std::string(port)) <= 65535;
}

// Typed access to the JSON tree with the key path for every message.
class reader {
 public:
  explicit reader(const env_lookup& env) : env_(env) {}

  // An object whose keys are all known.
  void object(const json& value, const std::string& path,
              std::initializer_list<std::string_view> known) const {
    if (!value.is_object()) fail(path, "expected an object, got " + type_of(value));
    for (const auto& item : value.items()) {
      bool found = false;
      for (const std::string_view key : known) found = found || key == item.key();
      if (!found) fail("", "unknown key " + quote_text(join(path, item.key())));
    }
  }

  // Runs `read` on the value of `key` when present.
  template <class F>
  void with(const json& object, const std::string& path, std::string_view key, F&& read) const {
    const auto found = object.find(key);
    if (found != object.end()) read(*found, join(path, key));
  }

  template <class F>
  void required(const json& object, const std::string& path, std::string_view key, F&& read) const {
    const auto found = object.find(key);
    if (found == object.end()) fail(join(path, key), "is required");
    read(*found, join(path, key));
  }

  std::string string(const json& value, const std::string& path, bool non_empty = false) const {
    if (!value.is_string()) fail(path, "expected a string, got " + type_of(value));
    std::string text = value.get<std::string>();
    const std::optional<std::string_view> name = env_reference(text);
    if (name && name->starts_with(file_prefix)) {
      return read_secret_file(path, std::string(name->substr(file_prefix.size())));
    }
    if (name) {
      if (!valid_env_name(*name)) {
        fail(path, quote_text(*name) + " is not a valid environment variable name");
      }
      std::optional<std::string> replaced = env_(*name);
      if (!replaced) fail(path, "environment variable " + std::string(*name) + " is not set");
      if (non_empty && replaced->empty()) {
        fail(path, "environment variable " + std::string(*name) + " is empty");
      }
      return std::move(*replaced);
    }
    if (non_empty && text.empty()) fail(path, "must not be empty");
    return text;
  }

  std::int64_t integer(const json& value, const std::string& path, std::int64_t min,
                       std::int64_t max) const {
    if (!value.is_number_integer()) fail(path, "expected an integer, got " + type_of(value));
    const bool too_big = value.is_number_unsigned() &&
                         value.get<std::uint64_t>() > static_cast<std::uint64_t>(unbounded);
    const std::int64_t number = too_big ? unbounded : value.get<std::int64_t>();
    if (too_big || number < min || number > max) {
      if (max == unbounded) fail(path, "must be at least " + std::to_string(min));
      fail(path, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return number;
  }

  milliseconds duration(const json& value, const std::string& path, std::int64_t min) const {
    return milliseconds(integer(value, path, min, max_duration));
  }

  double number(const json& value, const std::string& path, double min) const {
    if (!value.is_number()) fail(path, "expected a number, got " + type_of(value));
    const double number = value.get<double>();
    if (!std::isfinite(number) || number < min) {
      fail(path, "must be a number of at least " + std::to_string(static_cast<long long>(min)));
    }
    return number;
  }

  bool boolean(const json& value, const std::string& path) const {
    if (!value.is_boolean()) fail(path, "expected true or false, got " + type_of(value));
    return value.get<bool>();
  }

  const json& array(const json& value, const std::string& path) const {
    if (!value.is_array()) fail(path, "expected an array, got " + type_of(value));
    return value;
  }

 private:
  const env_lookup& env_;
};

void read_server(const reader& r, const json& value, const std::string& path, server_config& out) {
  r.object(value, path,
           {"listen", "threads", "max_connections", "max_inflight", "max_body_bytes",
            "header_timeout_ms", "idle_timeout_ms", "request_deadline_ms", "drain_ms",
            "max_body_multipart_bytes", "max_buffered_body_bytes"});
  r.with(value, path, "listen", [&](const json& v, const std::string& p) {
    out.listen = r.string(v, p);
    if (!valid_listen(out.listen)) {
      fail(p,
           quote_text(out.listen) + " must be host:port or [v6]:port with a port from 0 to 65535");
    }
  });
  r.with(value, path, "threads", [&](const json& v, const std::string& p) {
    out.threads = static_cast<int>(r.integer(v, p, 0, 256));
  });
  r.with(value, path, "max_connections", [&](const json& v, const std::string& p) {
    out.max_connections = static_cast<std::size_t>(r.integer(v, p, 1, unbounded));
  });
  r.with(value, path, "max_inflight", [&](const json& v, const std::string& p) {
    out.max_inflight = static_cast<std::size_t>(r.integer(v, p, 1, unbounded));
  });
  r.with(value, path, "max_body_bytes", [&](const json& v, const std::string& p) {
    out.max_body_bytes = static_cast<std::size_t>(r.integer(v, p, 2, 16 * 1024 * 1024));
  });
  r.with(value, path, "max_body_multipart_bytes", [&](const json& v, const std::string& p) {
    out.max_body_multipart_bytes = static_cast<std::size_t>(r.integer(v, p, 2, 64 * 1024 * 1024));
  });
  r.with(value, path, "max_buffered_body_bytes", [&](const json& v, const std::string& p) {
    out.max_buffered_body_bytes = static_cast<std::uint64_t>(r.integer(v, p, 1, 64LL << 30));
  });
  // A body at its own limit must fit the shared budget, or it could never be read.
  if (const std::size_t largest = std::max(out.max_body_bytes, out.max_body_multipart_bytes);
      out.max_buffered_body_bytes < largest) {
    fail(path + ".max_buffered_body_bytes",
         "must be at least the largest body limit (" + std::to_string(largest) +
             " bytes, server.max_body_bytes / max_body_multipart_bytes)");
  }
  r.with(value, path, "header_timeout_ms",
         [&](const json& v, const std::string& p) { out.header_timeout = r.duration(v, p, 1); });
  r.with(value, path, "idle_timeout_ms",
         [&](const json& v, const std::string& p) { out.idle_timeout = r.duration(v, p, 1); });
  r.with(value, path, "request_deadline_ms",
         [&](const json& v, const std::string& p) { out.request_deadline = r.duration(v, p, 1); });
  r.with(value, path, "drain_ms",
         [&](const json& v, const std::string& p) { out.drain = r.duration(v, p, 0); });
}

void read_apps(const reader& r, const json& value, const std::string& path,
               std::vector<app_config>& out) {
  r.array(value, path);
  if (value.empty()) fail(path, "at least one app is required");
  std::unordered_map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string app_path = path + "[" + std::to_string(i) + "]";
    const json& item = value[i];
    r.object(item, app_path, {"app_key", "master_secret", "oppo", "rate_limit_per_s"});
    app_config app;
    r.required(item, app_path, "app_key", [&](const json& v, const std::string& p) {
      app.app_key = r.string(v, p, true);
      // Basic auth splits user and password at the first colon: such a key could never log in.
      if (app.app_key.find(':') != std::string::npos) fail(p, "must not contain ':'");
      const auto [previous, inserted] = seen.emplace(app.app_key, i);
      if (!inserted) {
        fail(p, "duplicate app key " + quote_text(app.app_key) + " (also apps[" +
                    std::to_string(previous->second) + "])");
      }
    });
    r.required(item, app_path, "master_secret", [&](const json& v, const std::string& p) {
      app.master_secret = r.string(v, p, true);
    });
    r.required(item, app_path, "oppo", [&](const json& v, const std::string& p) {
      r.object(v, p, {"app_key", "master_secret"});
      r.required(v, p, "app_key", [&](const json& w, const std::string& q) {
        app.oppo.app_key = r.string(w, q, true);
      });
      r.required(v, p, "master_secret", [&](const json& w, const std::string& q) {
        app.oppo.master_secret = r.string(w, q, true);
      });
    });
    r.with(item, app_path, "rate_limit_per_s",
           [&](const json& v, const std::string& p) { app.rate_limit_per_s = r.number(v, p, 0); });
    out.push_back(std::move(app));
  }
}

std::string base_url(const reader& r, const json& value, const std::string& path) {
  std::string url = r.string(value, path);
  if (!starts_with_scheme(url, {"http", "https"}))
    fail(path, "must start with http:// or https://");
  // Paths are appended as "/server/v1/…"; a trailing slash would double it.
  while (url.ends_with('/')) url.pop_back();
  if (url.ends_with(':')) fail(path, "must start with http:// or https:// and name a host");
  return url;
}

void read_oppo(const reader& r, const json& value, const std::string& path, oppo_config& out) {
  r.object(value, path,
           {"auth_base_url", "media_base_url", "picture_ttl_s", "connect_timeout_ms", "timeout_ms",
            "retries", "proxy", "max_connections"});
  r.with(value, path, "auth_base_url",
         [&](const json& v, const std::string& p) { out.auth_base_url = base_url(r, v, p); });
  r.with(value, path, "media_base_url",
         [&](const json& v, const std::string& p) { out.media_base_url = base_url(r, v, p); });
  r.with(value, path, "picture_ttl_s", [&](const json& v, const std::string& p) {
    out.picture_ttl_s = r.integer(v, p, 1, max_duration);
  });
  r.with(value, path, "connect_timeout_ms",
         [&](const json& v, const std::string& p) { out.connect_timeout = r.duration(v, p, 1); });
  r.with(value, path, "timeout_ms",
         [&](const json& v, const std::string& p) { out.timeout = r.duration(v, p, 1); });
  r.with(value, path, "retries", [&](const json& v, const std::string& p) {
    out.retries = static_cast<int>(r.integer(v, p, 0, 10));
  });
  r.with(value, path, "max_connections", [&](const json& v, const std::string& p) {
    out.max_connections = static_cast<long>(r.integer(v, p, 1, 256));
  });
  r.with(value, path, "proxy", [&](const json& v, const std::string& p) {
    out.proxy = r.string(v, p);
    // The value is not quoted back: a proxy URL may carry user:password.
    if (!out.proxy.empty() && !starts_with_scheme(out.proxy, {"http", "https", "socks4", "socks4a",
                                                              "socks5", "socks5h"})) {
      fail(p, "must be empty or a proxy URL such as http://egress:3128");
    }
  });
}

void read_rule(const reader& r, const json& value, const std::string& path, image_rule& out) {
  r.object(value, path, {"width", "height", "max_bytes"});
  constexpr std::int64_t max_int = std::numeric_limits<int>::max();
  r.with(value, path, "width", [&](const json& v, const std::string& p) {
    out.width = static_cast<int>(r.integer(v, p, 1, max_int));
  });
  r.with(value, path, "height", [&](const json& v, const std::string& p) {
    out.height = static_cast<int>(r.integer(v, p, 1, max_int));
  });
  r.with(value, path, "max_bytes", [&](const json& v, const std::string& p) {
    out.max_bytes = static_cast<std::size_t>(r.integer(v, p, 1, unbounded));
  });
}

void read_fit_limits(const reader& r, const json& value, const std::string& path, fit_limits& out) {
  r.object(value, path,
           {"max_source_bytes", "max_source_pixels", "max_inflight", "max_inflight_per_app"});
  r.with(value, path, "max_source_bytes", [&](const json& v, const std::string& p) {
    out.max_source_bytes = static_cast<std::size_t>(r.integer(v, p, 1, unbounded));
  });
  r.with(value, path, "max_source_pixels", [&](const json& v, const std::string& p) {
    out.max_source_pixels = static_cast<std::size_t>(r.integer(v, p, 1, unbounded));
  });
  r.with(value, path, "max_inflight", [&](const json& v, const std::string& p) {
    out.max_inflight = static_cast<std::size_t>(r.integer(v, p, 1, 100000));
  });
  r.with(value, path, "max_inflight_per_app", [&](const json& v, const std::string& p) {
    out.max_inflight_per_app = static_cast<std::size_t>(r.integer(v, p, 1, 100000));
    if (out.max_inflight_per_app > out.max_inflight) {
      fail(p, "must not be more than images.fit.max_inflight (" + std::to_string(out.max_inflight) +
                  ")");
    }
  });
}

void read_images(const reader& r, const json& value, const std::string& path, images_config& out) {
  r.object(value, path, {"big", "small", "verify_decode", "fit"});
  r.with(value, path, "big",
         [&](const json& v, const std::string& p) { read_rule(r, v, p, out.big); });
  r.with(value, path, "small",
         [&](const json& v, const std::string& p) { read_rule(r, v, p, out.small); });
  r.with(value, path, "verify_decode",
         [&](const json& v, const std::string& p) { out.verify_decode = r.boolean(v, p); });
  r.with(value, path, "fit",
         [&](const json& v, const std::string& p) { read_fit_limits(r, v, p, out.fit); });
}

void read_fetch(const reader& r, const json& value, const std::string& path, fetch_config& out) {
  r.object(value, path,
           {"connect_timeout_ms", "timeout_ms", "max_redirects", "allow_networks", "revalidate",
            "max_fresh_s"});
  r.with(value, path, "revalidate",
         [&](const json& v, const std::string& p) { out.revalidate = r.boolean(v, p); });
  r.with(value, path, "max_fresh_s", [&](const json& v, const std::string& p) {
    out.max_fresh_s = static_cast<int>(r.integer(v, p, 0, 86400));
  });
  r.with(value, path, "connect_timeout_ms",
         [&](const json& v, const std::string& p) { out.connect_timeout = r.duration(v, p, 1); });
  r.with(value, path, "timeout_ms",
         [&](const json& v, const std::string& p) { out.timeout = r.duration(v, p, 1); });
  r.with(value, path, "max_redirects", [&](const json& v, const std::string& p) {
    out.max_redirects = static_cast<int>(r.integer(v, p, 0, 10));
  });
  r.with(value, path, "allow_networks", [&](const json& v, const std::string& p) {
    r.array(v, p);
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string item_path = p + "[" + std::to_string(i) + "]";
      const std::string text = r.string(v[i], item_path);
      std::optional<ip_network> network = ip_network::parse(text);
      if (!network) {
        fail(item_path,
             quote_text(text) + " is not a network such as \"10.0.0.0/8\" or \"::1/128\"");
      }
      out.allow_networks.push_back(*network);
    }
  });
}

void read_cache(const reader& r, const json& value, const std::string& path, cache_config& out) {
  r.object(value, path, {"max_entries"});
  r.with(value, path, "max_entries", [&](const json& v, const std::string& p) {
    out.max_entries = static_cast<std::size_t>(r.integer(v, p, 0, unbounded));
  });
}

void read_trace(const reader& r, const json& value, const std::string& path, trace_config& out) {
  r.object(value, path, {"generate"});
  r.with(value, path, "generate",
         [&](const json& v, const std::string& p) { out.generate = r.boolean(v, p); });
}

void read_log(const reader& r, const json& value, const std::string& path, log_config& out) {
  r.object(value, path, {"level"});
  r.with(value, path, "level", [&](const json& v, const std::string& p) {
    const std::string level = r.string(v, p);
    if (level == "debug") {
      out.level = log_level::debug;
    } else if (level == "info") {
      out.level = log_level::info;
    } else if (level == "warn") {
      out.level = log_level::warn;
    } else if (level == "error") {
      out.level = log_level::error;
    } else {
      fail(p, quote_text(level) + " is not one of debug, info, warn, error");
    }
  });
}

// host[:port] (an IPv6 literal in brackets) of a Redis URL or seed; `bad` never returns.
template <class Bad>
redis_endpoint read_redis_authority(std::string_view authority, const Bad& bad,
                                    std::string_view shape) {
  redis_endpoint out;
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) bad("has an unclosed [ in its host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad(std::string("must be ") + std::string(shape));
      port_text = after.substr(1);
    } else {
      port_text = "6379";
    }
  } else {
    const auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    port_text =
        colon == std::string_view::npos ? std::string_view("6379") : authority.substr(colon + 1);
  }
  if (out.host.empty()) bad("names no host");
  for (const char c : out.host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_' || c == ':';
    if (!ok) bad("has a character not allowed in a host name");
  }
  if (!all_digits(port_text) || port_text.size() > 5) bad("must have a port from 1 to 65535");
  const int port = std::stoi(std::string(port_text));
  if (port < 1 || port > 65535) bad("must have a port from 1 to 65535");
  out.port = std::string(port_text);
  return out;
}

// redis[s]://host[:port][/db], without user info (the password has its own key). The value is
// quoted back only when it cannot hold a password.
void read_redis_url(const std::string& path, redis_config& out) {
  const std::string& url = out.url;
  if (url.empty()) return;
  const auto bad = [&](const std::string& why) {
    const bool may_hold_secret = url.find('@') != std::string::npos;
    fail(path, (may_hold_secret ? std::string("the URL") : quote_text(url)) + " " + why);
  };
  constexpr std::string_view shape =
      "redis://host:port or redis://host:port/DB (rediss:// for TLS)";
  constexpr std::string_view plain = "redis://";
  constexpr std::string_view secure = "rediss://";
  out.tls = url.starts_with(secure);
  if (!out.tls && !url.starts_with(plain)) bad(std::string("must be ") + std::string(shape));
  std::string_view rest = std::string_view(url).substr(out.tls ? secure.size() : plain.size());
  if (rest.find('@') != std::string_view::npos) {
    bad("must not carry user info: write the password in redis.password");
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view db_text;
  if (authority.size() < rest.size()) db_text = rest.substr(authority.size() + 1);
  const redis_endpoint where = read_redis_authority(authority, bad, shape);
  out.host = where.host;
  out.port = where.port;
  if (!db_text.empty()) {
    if (!all_digits(db_text) || db_text.size() > 9) {
      bad("must end with a database number, e.g. /0");
    }
    out.db = std::stoi(std::string(db_text));
  }
}

// A file that must be readable now (checked without connecting anywhere).
void read_redis_file(const reader& r, const json& v, const std::string& p, std::string& out) {
  out = r.string(v, p);
  if (!out.empty() && ::access(out.c_str(), R_OK) != 0) {
    fail(p, quote_text(out) + " cannot be read: " + std::strerror(errno));
  }
}

void read_redis_tls(const reader& r, const json& value, const std::string& path,
                    redis_tls_config& out) {
  r.object(value, path, {"ca_file", "cert_file", "key_file", "server_name"});
  r.with(value, path, "ca_file",
         [&](const json& v, const std::string& p) { read_redis_file(r, v, p, out.ca_file); });
  r.with(value, path, "cert_file",
         [&](const json& v, const std::string& p) { read_redis_file(r, v, p, out.cert_file); });
  r.with(value, path, "key_file",
         [&](const json& v, const std::string& p) { read_redis_file(r, v, p, out.key_file); });
  r.with(value, path, "server_name",
         [&](const json& v, const std::string& p) { out.server_name = r.string(v, p); });
  if (out.cert_file.empty() != out.key_file.empty()) {
    fail(join(path, out.cert_file.empty() ? "key_file" : "cert_file"),
         "needs redis.tls." + std::string(out.cert_file.empty() ? "cert_file" : "key_file") +
             " too: a client certificate is a certificate and its key");
  }
}

// The keys that only work together, checked once all are read.
void check_redis(const std::string& path, const redis_config& out) {
  const redis_tls_config& t = out.tls_files;
  const bool tls_keys =
      !t.ca_file.empty() || !t.cert_file.empty() || !t.key_file.empty() || !t.server_name.empty();
  if (tls_keys && !out.tls) {
    fail(join(path, "tls"), "is set but redis.url is not rediss://: TLS would never be used");
  }
  if (out.mode == redis_mode::sentinel && out.sentinel_master.empty()) {
    fail(join(path, "sentinel_master"), "is required when redis.mode is \"sentinel\"");
  }
  if (out.mode != redis_mode::sentinel && !out.sentinel_master.empty()) {
    fail(join(path, "sentinel_master"), "is only for redis.mode \"sentinel\"");
  }
  if (out.mode == redis_mode::standalone && !out.seeds.empty()) {
    fail(join(path, "seeds"), "is only for redis.mode \"cluster\" or \"sentinel\"");
  }
  if (out.mode == redis_mode::cluster && out.db != 0) {
    fail(join(path, "url"), "must not name a database: Redis Cluster has only database 0");
  }
}

void read_redis(const reader& r, const json& value, const std::string& path, redis_config& out) {
  r.object(value, path,
           {"url", "mode", "seeds", "sentinel_master", "username", "password", "tls", "key_prefix",
            "timeout_ms", "lock_lease_ms", "expected_replicas"});
  r.with(value, path, "url", [&](const json& v, const std::string& p) {
    out.url = r.string(v, p);
    read_redis_url(p, out);
  });
  r.with(value, path, "mode", [&](const json& v, const std::string& p) {
    const std::string mode = r.string(v, p);
    if (mode == "standalone") {
      out.mode = redis_mode::standalone;
    } else if (mode == "cluster") {
      out.mode = redis_mode::cluster;
    } else if (mode == "sentinel") {
      out.mode = redis_mode::sentinel;
    } else {
      fail(p, quote_text(mode) + " is not one of standalone, cluster, sentinel");
    }
  });
  r.with(value, path, "seeds", [&](const json& v, const std::string& p) {
    r.array(v, p);
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string item_path = p + "[" + std::to_string(i) + "]";
      const std::string text = r.string(v[i], item_path);
      const auto bad = [&](const std::string& why) {
        fail(item_path,
             (text.find('@') != std::string::npos ? std::string("the seed") : quote_text(text)) +
                 " " + why);
      };
      // host:port, or a URL of the same scheme as redis.url without a database.
      std::string_view authority = text;
      for (const std::string_view scheme : {"redis://", "rediss://"}) {
        if (authority.starts_with(scheme)) authority.remove_prefix(scheme.size());
      }
      if (authority.size() != text.size() &&
          !text.starts_with(out.tls ? "rediss://" : "redis://")) {
        bad(std::string("must use the scheme of redis.url (") + (out.tls ? "rediss" : "redis") +
            "://)");
      }
      if (authority.find_first_of("/@") != std::string_view::npos) {
        bad("must be host:port (no user info, no database)");
      }
      out.seeds.push_back(read_redis_authority(authority, bad, "host:port"));
    }
  });
  r.with(value, path, "sentinel_master",
         [&](const json& v, const std::string& p) { out.sentinel_master = r.string(v, p); });
  r.with(value, path, "username",
         [&](const json& v, const std::string& p) { out.username = r.string(v, p); });
  r.with(value, path, "password",
         [&](const json& v, const std::string& p) { out.password = r.string(v, p); });
  r.with(value, path, "tls",
         [&](const json& v, const std::string& p) { read_redis_tls(r, v, p, out.tls_files); });
  r.with(value, path, "key_prefix", [&](const json& v, const std::string& p) {
    out.key_prefix = r.string(v, p);
    // A brace would become the key's Redis Cluster hash tag instead of ours.
    if (out.key_prefix.find_first_of("{}") != std::string::npos) fail(p, "must not contain { or }");
    if (out.key_prefix.size() > 128) fail(p, "must be at most 128 characters");
    for (const char c : out.key_prefix) {
      if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
        fail(p, "must not contain spaces or control characters");
      }
    }
  });
  r.with(value, path, "timeout_ms", [&](const json& v, const std::string& p) {
    out.timeout = milliseconds(r.integer(v, p, 1, 5000));
  });
  r.with(value, path, "lock_lease_ms", [&](const json& v, const std::string& p) {
    out.lock_lease = milliseconds(r.integer(v, p, 100, 60000));
  });
  r.with(value, path, "expected_replicas", [&](const json& v, const std::string& p) {
    out.expected_replicas = static_cast<int>(r.integer(v, p, 1, 10000));
  });
  if (!out.username.empty() && out.password.empty()) {
    fail(join(path, "username"), "needs redis.password: an ACL user signs in with a password");
  }
  check_redis(path, out);
}

}  // namespace

std::optional<std::string> process_env(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

config parse_config(std::string_view json_text, const env_lookup& env) {
  const json root = parse_json(json_text);
  if (!root.is_object()) {
    fail("", "configuration must be a JSON object, got " + type_of(root));
  }
  const reader r(env);
  r.object(root, "",
           {"server", "apps", "oppo", "images", "fetch", "cache", "log", "redis", "trace"});
  config out;
  r.with(root, "", "server",
         [&](const json& v, const std::string& p) { read_server(r, v, p, out.server); });
  const auto apps = root.find("apps");
  if (apps == root.end()) fail("apps", "is required: list at least one app");
  read_apps(r, *apps, "apps", out.apps);
  r.with(root, "", "oppo",
         [&](const json& v, const std::string& p) { read_oppo(r, v, p, out.oppo); });
  r.with(root, "", "images",
         [&](const json& v, const std::string& p) { read_images(r, v, p, out.images); });
  r.with(root, "", "fetch",
         [&](const json& v, const std::string& p) { read_fetch(r, v, p, out.fetch); });
  r.with(root, "", "cache",
         [&](const json& v, const std::string& p) { read_cache(r, v, p, out.cache); });
  r.with(root, "", "log", [&](const json& v, const std::string& p) { read_log(r, v, p, out.log); });
  r.with(root, "", "redis",
         [&](const json& v, const std::string& p) { read_redis(r, v, p, out.redis); });
  r.with(root, "", "trace",
         [&](const json& v, const std::string& p) { read_trace(r, v, p, out.trace); });
  return out;
}

config load_config_file(const std::string& path, const env_lookup& env) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) {
    throw config_error("cannot read configuration file " + quote_text(path) + ": " +
                       std::strerror(errno));
  }
  std::string text;
  char buffer[8192];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, got);
  if (std::ferror(file.get())) {
    throw config_error("cannot read configuration file " + quote_text(path) + ": " +
                       std::strerror(errno));
  }
  return parse_config(text, env);
}

}  // namespace image_gateway
