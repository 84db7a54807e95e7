#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <optional>
#include <utility>

#include "image_gateway/http_client/async_perform.hpp"

namespace image_gateway {

std::string header_value(const http_response& response, std::string_view name) {
  std::string value;
  for (const http_header& header : response.headers) {
    if (header.name != name) continue;
    if (!value.empty()) value += ", ";
    value += header.value;
  }
  return value;
}

namespace {

namespace asio = boost::asio;

// Shared between the initiating thread, the client's thread (completion) and whoever emits
// cancellation. The mutex guards the race where the transfer completes, or is cancelled, before
// start() has returned its id.
template <class Handler>
struct perform_state {
  using work_executor =
      std::decay_t<decltype(asio::prefer(std::declval<asio::associated_executor_t<Handler>>(),
                                         asio::execution::outstanding_work.tracked))>;

  perform_state(Handler h, work_executor w) : handler(std::move(h)), work(std::move(w)) {}

  std::mutex mutex;
  std::optional<http_client::transfer_id> id;
  bool done = false;
  bool cancel_requested = false;
  Handler handler;
  // Keeps the io_context from running out of work while the transfer is on the client's thread.
  std::optional<work_executor> work;
};

struct initiate_perform {
  template <class Handler>
  void operator()(Handler handler, http_client* client, http_request request) const {
    auto executor = asio::get_associated_executor(handler);
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto state = std::make_shared<perform_state<Handler>>(
        std::move(handler), asio::prefer(executor, asio::execution::outstanding_work.tracked));

    if (slot.is_connected()) {
      slot.assign([state, client](asio::cancellation_type type) {
        if ((type & (asio::cancellation_type::terminal | asio::cancellation_type::partial)) ==
            asio::cancellation_type::none) {
          return;
        }
        std::optional<http_client::transfer_id> id;
        {
          std::lock_guard lock(state->mutex);
          if (state->done) return;
          if (!state->id) {
            state->cancel_requested = true;  // start() has not returned yet
            return;
          }
          id = state->id;
        }
        client->cancel(*id);  // outside the lock: a client may complete synchronously
      });
    }

    // Runs on the client's thread: hand the answer to the handler's executor and return.
    auto completion = [state, slot](http_response response) mutable {
      std::optional<typename perform_state<Handler>::work_executor> work;
      {
        std::lock_guard lock(state->mutex);
        if (state->done) return;  // called twice: a client bug; ignore the second call
        state->done = true;
        work = std::move(state->work);
        state->work.reset();
      }
      asio::post(*work, [state, slot, response = std::move(response)]() mutable {
        // The slot belongs to the awaiting operation; it is cleared on its own executor.
        if (slot.is_connected()) slot.clear();
        std::move(state->handler)(std::move(response));
      });
    };

    const http_client::transfer_id id = client->start(std::move(request), std::move(completion));
    bool cancel_now = false;
    {
      std::lock_guard lock(state->mutex);
      state->id = id;
      cancel_now = state->cancel_requested && !state->done;
    }
    if (cancel_now) client->cancel(id);
  }
};

template <class CompletionToken>
auto async_perform_op(http_client& client, http_request request, CompletionToken&& token) {
  return asio::async_initiate<CompletionToken, void(http_response)>(initiate_perform{}, token,
                                                                    &client, std::move(request));
}

}  // namespace

asio::awaitable<http_response> async_perform(http_client& client, http_request request) {
  co_return co_await async_perform_op(client, std::move(request), asio::use_awaitable);
}

}  // namespace image_gateway
