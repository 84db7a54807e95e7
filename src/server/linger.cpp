#include "linger.hpp"

namespace image_gateway {

net::awaitable<void> drop_input_before_close(tcp::socket& socket, connection_deadline& deadline,
                                             std::chrono::milliseconds at_most_for,
                                             std::size_t at_most_bytes) {
  deadline.expire_after(at_most_for);
  std::size_t dropped = 0;
  char chunk[4096];
  while (dropped < at_most_bytes) {
    const auto [ec, n] =
        co_await socket.async_read_some(net::buffer(chunk), net::as_tuple(net::use_awaitable));
    if (ec) break;
    dropped += n;
  }
}

}  // namespace image_gateway
