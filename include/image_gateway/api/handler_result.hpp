#pragma once
// What a request handler gives the server. Kept apart from http_types.hpp so that code using
// only the plain request and response types does not pull in Asio.
#include <boost/asio/awaitable.hpp>
#include <variant>

#include "image_gateway/api/http_types.hpp"

namespace image_gateway {

// A handler's answer: ready at once when it needed no I/O (a 401, /healthz, a 404), or a
// coroutine that makes it. The server writes the first without any coroutine machinery and
// awaits the second beside a watch for the client leaving (which cancels it).
using handler_result = std::variant<api_response, boost::asio::awaitable<api_response>>;

}  // namespace image_gateway
