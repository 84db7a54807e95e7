#pragma once

#include <boost/asio/awaitable.hpp>

#include "image_gateway/http_client/http_client.hpp"

namespace image_gateway {

// Runs a transfer and resumes the awaiting coroutine on its own executor with the answer.
// When the coroutine's cancellation slot fires (e.g. its client went away), the transfer is
// cancelled too.
boost::asio::awaitable<http_response> async_perform(http_client& client, http_request request);

}  // namespace image_gateway
