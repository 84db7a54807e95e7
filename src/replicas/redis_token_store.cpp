#include "image_gateway/replicas/redis_token_store.hpp"

#include <boost/asio/this_coro.hpp>
#include <nlohmann/json.hpp>

#include "image_gateway/replicas/replay_queue.hpp"
#include "owned_lock.hpp"

namespace image_gateway::replicas {

namespace asio = boost::asio;
using oppo::system_time;
using std::chrono::milliseconds;

namespace {

// KEYS[1] token. The stored text when the key holds a string.
const redis::script load_script(R"lua(
if redis.call('TYPE', KEYS[1]).ok ~= 'string' then return false end
return redis.call('GET', KEYS[1])
)lua");

// KEYS[1] lock; ARGV[1] owner, ARGV[2] ms. 1: ours; 0: someone else's. A lock of another type
// or without an expiry is junk: removed.
const redis::script lock_script(R"lua(
if redis.call('TYPE', KEYS[1]).ok ~= 'none' and redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('DEL', KEYS[1])
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
)lua");

// KEYS[1] token; ARGV[1] the new JSON, ARGV[2] its end (Unix ms), ARGV[3] the refused token.
// Never an older token over a newer one: the stored one stays when it ends no earlier and is
// not the refused one. Answers what the key holds afterwards.
const redis::script store_script(R"lua(
if redis.call('TYPE', KEYS[1]).ok == 'string' then
  local text = redis.call('GET', KEYS[1])
  local ok, cur = pcall(cjson.decode, text)
  if ok and type(cur) == 'table' and type(cur.token) == 'string' and
     type(cur.expires_at_ms) == 'number' and cur.token ~= ARGV[3] and
     cur.expires_at_ms >= tonumber(ARGV[2]) then
    return text
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
return ARGV[1]
)lua");

std::int64_t unix_ms(system_time t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

redis_token_store::redis_token_store(redis::client& redis, key_layout keys, milliseconds lease)
    : redis_(redis),
      keys_(std::move(keys)),
      lease_(lease),
      replays_(std::make_unique<replay_queue>(redis, 256)) {}

redis_token_store::~redis_token_store() = default;

std::optional<auth_token> redis_token_store::parse(std::string_view stored) {
  const auto json = nlohmann::json::parse(stored, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  const auto token = json.find("token");
  const auto ends = json.find("expires_at_ms");
  if (token == json.end() || !token->is_string() || ends == json.end() ||
      !ends->is_number_integer()) {
    return std::nullopt;
  }
  std::string text = token->get<std::string>();
  if (text.empty() || text.size() > 1024) return std::nullopt;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return std::nullopt;
  }
  return auth_token{std::move(text), system_time(milliseconds(ends->get<std::int64_t>()))};
}

asio::awaitable<oppo::token_store::loaded> redis_token_store::load(std::string oppo_app_key) {
  // (Named vectors: GCC 12 miscompiles braced lists inside a co_await expression.)
  std::vector<std::string> keys{keys_.token(oppo_app_key)};
  auto answer = co_await redis_.run(load_script, std::move(keys), {}, "token_load");
  if (!answer) co_return loaded{status::failed, std::nullopt};
  if (answer->is_nil()) co_return loaded{status::ok, std::nullopt};
  if (answer->kind != redis::reply::type::bulk) {
    redis_.reject("token_load");
    co_return loaded{status::failed, std::nullopt};
  }
  co_return loaded{status::ok, parse(answer->text)};
}

asio::awaitable<oppo::token_store::lock_result> redis_token_store::lock(std::string oppo_app_key,
                                                                        std::string owner) {
  const std::string lock_key = keys_.token_lock(oppo_app_key);
  std::vector<std::string> keys{lock_key};
  std::vector<std::string> args{owner, std::to_string(lease_.count())};
  auto answer = co_await redis_.run(lock_script, std::move(keys), std::move(args), "token_lock");
  if (answer && answer->kind != redis::reply::type::integer) redis_.reject("token_lock");
  if (!answer || answer->kind != redis::reply::type::integer) {
    // Redis may have taken the lock for us without telling us in time.
    co_await release_later(lock_key, std::move(owner));
    co_return lock_result::failed;
  }
  co_return answer->integer == 1 ? lock_result::acquired : lock_result::held_elsewhere;
}

asio::awaitable<std::unique_ptr<oppo::token_store::renewal>> redis_token_store::keep(
    std::string oppo_app_key, std::string owner) {
  struct renewing final : renewal {
    renewing(redis::client& redis, std::string lock_key, std::string owner, milliseconds lease,
             const asio::any_io_executor& where)
        : held(redis, std::move(lock_key), std::move(owner), lease, where) {}
    lease_renewal held;
  };
  co_return std::make_unique<renewing>(redis_, keys_.token_lock(oppo_app_key), std::move(owner),
                                       lease_, co_await asio::this_coro::executor);
}

asio::awaitable<void> redis_token_store::unlock(std::string oppo_app_key, std::string owner) {
  const std::string lock_key = keys_.token_lock(oppo_app_key);
  std::vector<std::string> keys{lock_key};
  std::vector<std::string> args{owner};
  auto answer =
      co_await redis_.run(release_owned_lock(), std::move(keys), std::move(args), "token_unlock");
  if (!answer) co_await release_later(lock_key, std::move(owner));
}

asio::awaitable<void> redis_token_store::release_later(std::string lock_key, std::string owner) {
  replays_->push(release_write(std::move(lock_key), std::move(owner), lease_, "token_unlock"),
                 co_await asio::this_coro::executor);
}

asio::awaitable<std::optional<auth_token>> redis_token_store::store(std::string oppo_app_key,
                                                                    auth_token fresh,
                                                                    std::string refused) {
  const std::int64_t ends = unix_ms(fresh.expires_at);
  const std::string json = nlohmann::json{{"token", fresh.token}, {"expires_at_ms", ends}}.dump();
  std::vector<std::string> keys{keys_.token(oppo_app_key)};
  std::vector<std::string> args{json, std::to_string(ends), std::move(refused)};
  auto answer = co_await redis_.run(store_script, std::move(keys), std::move(args), "token_store");
  if (!answer) co_return std::nullopt;
  if (answer->kind != redis::reply::type::bulk) {
    redis_.reject("token_store");
    co_return std::nullopt;
  }
  co_return parse(answer->text);
}

}  // namespace image_gateway::replicas
