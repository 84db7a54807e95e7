#pragma once
// Before closing a connection the server refused: a client may still be sending (the rest of a
// large header or body). Closing with unread bytes makes the kernel send a reset, which can
// destroy the refusal before the client reads it; so read and drop what comes, bounded in time
// and bytes, first.
#include <chrono>
#include <cstddef>

#include "beast.hpp"
#include "connection_deadline.hpp"

namespace image_gateway {

net::awaitable<void> drop_input_before_close(tcp::socket& socket, connection_deadline& deadline,
                                             std::chrono::milliseconds at_most_for,
                                             std::size_t at_most_bytes);

}  // namespace image_gateway
