#pragma once
// File descriptors: every client connection takes one, and so do the things around them. At
// start the process raises its soft RLIMIT_NOFILE to the hard limit, and when the configured
// connection cap and a reserve for everything else do not fit under it, the cap is lowered so
// that the cap, not EMFILE, is what a flood of clients meets.
#include <cstddef>
#include <cstdint>

namespace image_gateway {

class logger;

// Descriptors kept for everything but client connections: a fixed part (listening socket,
// epoll, timers and signals, stdio and the log, Redis, the server's spare for answering at
// EMFILE, curl's own) plus two image fetches per request in flight and the OPPO connections to
// its two hosts.
inline constexpr std::size_t fd_reserve_fixed = 64;
std::size_t fd_reserve(std::size_t max_inflight, std::size_t oppo_connections_per_host);

// Client connections that fit under `fd_limit` descriptors beside `reserve`: at most `wanted`,
// at least 1. A limit that does not even hold the reserve gives half of it to clients.
std::size_t connections_within(std::size_t wanted, std::uint64_t fd_limit, std::size_t reserve);

struct fd_limit {
  std::uint64_t soft_before = 0;  // as the process found it
  std::uint64_t soft = 0;         // after raising it (RLIM_INFINITY: unlimited)
  std::uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit (best effort; the result says what holds).
fd_limit raise_fd_limit();

// raise_fd_limit(), then the connection cap that fits beside `reserve`: `wanted` when it fits,
// else lower, with one warning on `log` that says so and why.
std::size_t connections_for_fd_limit(std::size_t wanted, std::size_t reserve, logger& log);

}  // namespace image_gateway
