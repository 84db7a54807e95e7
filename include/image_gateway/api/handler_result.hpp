#pragma once
// What a request handler gives the server. Kept apart from http_types.hpp so that code using
// only the plain request and response types does not pull in Asio.
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <variant>

#include "image_gateway/api/http_types.hpp"

namespace image_gateway {

// A handler's answer: ready at once when it needed no I/O (a 401, /healthz, a 404), or a
// coroutine that makes it. The server writes the first without any coroutine machinery and
// awaits the second beside a watch for the client leaving (which cancels it).
using handler_result = std::variant<api_response, boost::asio::awaitable<api_response>>;

// What a header screen decided (http_server::hooks::screen): the refusal or nullopt (read the
// body), at once when it needed no I/O, or a coroutine that decides it (a rate limit shared
// through Redis). The server awaits the second before it reads or invites a body byte.
using screen_result =
    std::variant<std::optional<api_response>, boost::asio::awaitable<std::optional<api_response>>>;

}  // namespace image_gateway
