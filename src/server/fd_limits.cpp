#include "image_gateway/server/fd_limits.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "image_gateway/log/logger.hpp"

namespace image_gateway {

std::size_t fd_reserve(std::size_t max_inflight, std::size_t oppo_connections_per_host) {
  return fd_reserve_fixed + 2 * max_inflight + 2 * oppo_connections_per_host;
}

std::size_t connections_within(std::size_t wanted, std::uint64_t fd_limit, std::size_t reserve) {
  if (fd_limit == static_cast<std::uint64_t>(RLIM_INFINITY))
    return std::max<std::size_t>(wanted, 1);
  const std::uint64_t available = fd_limit > reserve ? fd_limit - reserve : fd_limit / 2;
  return static_cast<std::size_t>(
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(wanted, available)));
}

fd_limit raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  fd_limit found{limit.rlim_cur, limit.rlim_cur, limit.rlim_max};
  if (limit.rlim_cur != limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) found.soft = limit.rlim_max;
  }
  return found;
}

std::size_t connections_for_fd_limit(std::size_t wanted, std::size_t reserve, logger& log) {
  const fd_limit limit = raise_fd_limit();
  if (limit.soft == 0) return wanted;  // unknown: nothing to fit to
  const std::size_t fitted = connections_within(wanted, limit.soft, reserve);
  if (fitted < wanted) {
    log.write(
        log_level::warn,
        "server.max_connections lowered to fit the open file limit (RLIMIT_NOFILE)",
        {{"max_connections", fitted},
         {"configured", wanted},
         {"fd_limit", limit.soft},
         {"fd_limit_was", limit.soft_before},
         {"fd_reserve", reserve},
         {"hint", "raise LimitNOFILE (systemd) or ulimit -n, or lower server.max_connections"}});
  }
  return fitted;
}

}  // namespace image_gateway
