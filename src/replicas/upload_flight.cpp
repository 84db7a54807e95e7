#include "image_gateway/replicas/upload_flight.hpp"

#include "image_gateway/util/jitter.hpp"
#include "image_gateway/util/random_hex.hpp"
#include "owned_lock.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

namespace image_gateway::replicas {

namespace asio = boost::asio;
using wake_channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;
using std::chrono::milliseconds;

namespace {

// KEYS[1] id. The id and its remaining life, or nil.
const redis::script peek_script(R"lua(
if redis.call('TYPE', KEYS[1]).ok ~= 'string' then return false end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return false end
return {redis.call('GET', KEYS[1]), ttl}
)lua");

// A Lua function: whether a stored value can be a picture id (as plausible_picture_id).
const std::string plausible_lua = R"lua(
local function plausible(id)
  return string.len(id) > 0 and string.len(id) <= 512 and not string.find(id, '%c')
end
)lua";

// KEYS[1] id, KEYS[2] lock; ARGV[1] owner, ARGV[2] the lease in ms.
// {1, id, ms left} the id is there; {2} the lock is ours; {0, lock ms left} someone uploads.
// Junk under either key (another type, no expiry, not an id) is removed.
const redis::script claim_script(plausible_lua + R"lua(
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'string' then
  local id = redis.call('GET', KEYS[1])
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 and plausible(id) then
    return {1, id, ttl}
  end
  redis.call('DEL', KEYS[1])
elseif kind ~= 'none' then
  redis.call('DEL', KEYS[1])
end
if redis.call('TYPE', KEYS[2]).ok ~= 'none' and redis.call('PTTL', KEYS[2]) < 0 then
  redis.call('DEL', KEYS[2])
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0, redis.call('PTTL', KEYS[2])}
)lua");

// KEYS[1] id, KEYS[2] lock; ARGV[1] the uploaded id, ARGV[2] its end (Unix ms), ARGV[3] owner.
// The first id stored for an image stays: a good id already there (another replica's, uploaded
// while this one could not reach Redis) is kept, and this replica adopts it. The owner's lock
// goes either way. Answers {the id Redis holds now, its ms left} (ms left < 0: already ended).
const redis::script store_script(plausible_lua + R"lua(
local id, ttl = ARGV[1], -1
if redis.call('TYPE', KEYS[1]).ok == 'string' then
  local held = redis.call('GET', KEYS[1])
  local left = redis.call('PTTL', KEYS[1])
  if left > 0 and plausible(held) then id, ttl = held, left end
end
if ttl < 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
  ttl = redis.call('PTTL', KEYS[1])
end
if redis.call('TYPE', KEYS[2]).ok == 'string' and redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('DEL', KEYS[2])
end
return {id, ttl}
)lua");

std::string random_owner() { return random_hex(16); }

constexpr std::chrono::seconds republish_look_every{1};

// A steady-clock moment as Unix ms (what Redis's PXAT takes).
long long unix_ms_at(std::chrono::steady_clock::time_point at) {
  const auto ends = std::chrono::system_clock::now() +
                    std::chrono::duration_cast<std::chrono::system_clock::duration>(
                        at - std::chrono::steady_clock::now());
  return std::chrono::duration_cast<milliseconds>(ends.time_since_epoch()).count();
}

// KEYS[1] the epoch; ARGV[1] a new random epoch, ARGV[2] its life in ms. The epoch of the data
// Redis holds: made by the first replica to look after Redis started empty (or after the last
// epoch's life). Answers it.
const redis::script epoch_script(R"lua(
if redis.call('TYPE', KEYS[1]).ok == 'string' then return redis.call('GET', KEYS[1]) end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
)lua");

// As long as an id may live (OPPO's picture_ttl at most).
constexpr std::chrono::milliseconds epoch_life = std::chrono::hours(24 * 30);

std::string flat(const upload_key& key) { return upload_cache::flatten(key); }

api_error waited_too_long() {
  return api_error{error_kind::upstream_unavailable,
                   "the upload of the same image by another request did not end within the "
                   "request deadline",
                   std::nullopt};
}

// One upload in progress in this replica and the requests waiting for it.
struct flight {
  bool done = false;
  std::optional<result<std::string>> outcome;  // empty: the uploader went away
  std::vector<std::shared_ptr<wake_channel>> waiters;
};

}  // namespace

bool plausible_picture_id(std::string_view id) {
  if (id.empty() || id.size() > 512) return false;
  return std::none_of(id.begin(), id.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

struct upload_flight::impl {
  impl(upload_cache& l, redis::client* s, key_layout k, milliseconds lease_ms)
      : local(l), shared(s), keys(std::move(k)), lease(lease_ms) {
    if (shared != nullptr) replays.emplace(*shared);
  }

  upload_cache& local;
  redis::client* shared;
  key_layout keys;
  const milliseconds lease;
  std::optional<replay_queue> replays;  // with Redis: what waits for it to answer again
  std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<flight>> flights;
  // When to look next whether Redis's data is another (its epoch), whether the local ids are
  // being written to it, and the epoch they were last all written to.
  std::atomic<clock::rep> next_look{0};
  std::atomic<bool> republishing{false};
  std::string published_to;  // touched by the one republishing coroutine only

  void finish(const std::string& name, const std::shared_ptr<flight>& f,
              std::optional<result<std::string>> outcome) {
    std::vector<std::shared_ptr<wake_channel>> waiters;
    {
      std::lock_guard lock(mutex);
      if (f->done) return;
      f->done = true;
      f->outcome = std::move(outcome);
      waiters.swap(f->waiters);
      const auto found = flights.find(name);
      if (found != flights.end() && found->second == f) flights.erase(found);
    }
    for (auto& waiter : waiters) waiter->try_send(boost::system::error_code{});
  }

  void keep(const upload_key& key, const std::string& id, clock::time_point until) {
    if (until > clock::now()) local.insert(key, id, until);
  }

  asio::awaitable<result<std::string>> upload_here(const upload_key& key, milliseconds keep_for,
                                                   const upload_fn& upload) {
    const auto started = clock::now();
    result<std::string> uploaded = co_await upload();
    if (uploaded && keep_for.count() > 0) keep(key, uploaded.value(), started + keep_for);
    co_return uploaded;
  }

  // The store script's answer: when Redis holds another id for the image than the one we
  // uploaded, later requests here answer that one (the replicas converge on one id).
  void adopt(const upload_key& key, const std::string& ours, const redis::reply& answer) {
    if (answer.kind != redis::reply::type::array || answer.elements.size() != 2 ||
        answer.elements[0].kind != redis::reply::type::bulk ||
        answer.elements[1].kind != redis::reply::type::integer) {
      shared->reject("upload_store");
      return;
    }
    const std::string& held = answer.elements[0].text;
    if (held != ours && plausible_picture_id(held)) {
      keep(key, held, clock::now() + milliseconds(answer.elements[1].integer));
    }
  }

  // The end of a claim on Redis: our id stored (or Redis's adopted) and our lock released when
  // the upload worked, the lock released when it did not. Tried at once when `now`; queued for
  // when Redis answers again otherwise, or when that try fails (Redis may have run the claim
  // after we stopped waiting for it: owner-checked, the write ends exactly our claim).
  asio::awaitable<void> settle(const upload_key& key, const std::string& id_key,
                               const std::string& lock_key, const std::string& owner,
                               const result<std::string>& uploaded, clock::time_point keep_until,
                               const asio::any_io_executor& executor, bool now) {
    replay_queue::write w;
    if (uploaded && keep_until > clock::now()) {
      w = {&store_script,
           {id_key, lock_key},
           {uploaded.value(), std::to_string(unix_ms_at(keep_until)), owner},
           "upload_store",
           keep_until,
           [this, key, id = uploaded.value()](const redis::reply& r) { adopt(key, id, r); }};
    } else {
      w = release_write(lock_key, owner, lease, "upload_release");
    }
    if (now) {
      auto answer = co_await shared->run(*w.lua, w.keys, w.args, w.name);
      if (answer) {
        if (w.done) w.done(*answer);
        co_return;
      }
    }
    replays->push(std::move(w), executor);
  }

  // Redis failed us: upload alone, and end the claim (which Redis may yet run) once it is back.
  asio::awaitable<result<std::string>> alone(const upload_key& key, const std::string& id_key,
                                             const std::string& lock_key, const std::string& owner,
                                             milliseconds keep_for, const upload_fn& upload,
                                             const asio::any_io_executor& executor) {
    const auto started = clock::now();
    result<std::string> uploaded = co_await upload_here(key, keep_for, upload);
    co_await settle(key, id_key, lock_key, owner, uploaded, started + keep_for, executor, false);
    co_return uploaded;
  }

  // This replica's one uploader for `key`: with Redis, the cross-replica part.
  asio::awaitable<result<std::string>> lead(const upload_key& key, clock::time_point deadline,
                                            milliseconds keep_for, const upload_fn& upload) {
    if (shared == nullptr || keep_for.count() <= 0)
      co_return co_await upload_here(key, keep_for, upload);
    const std::string id_key = keys.upload(key);
    const std::string lock_key = key_layout::lock_of(id_key);
    const std::string owner = random_owner();
    const auto executor = co_await asio::this_coro::executor;
    milliseconds pause{10};
    for (;;) {
      // (Named vectors: GCC 12 miscompiles braced lists inside a co_await expression.)
      std::vector<std::string> claim_keys{id_key, lock_key};
      std::vector<std::string> claim_args{owner, std::to_string(lease.count())};
      auto claim = co_await shared->run(claim_script, std::move(claim_keys), std::move(claim_args),
                                        "upload_claim");
      const bool shaped = claim && claim->kind == redis::reply::type::array &&
                          !claim->elements.empty() &&
                          claim->elements[0].kind == redis::reply::type::integer;
      if (claim && !shaped) shared->reject("upload_claim");
      if (!shaped)
        co_return co_await alone(key, id_key, lock_key, owner, keep_for, upload, executor);
      const auto& parts = claim->elements;
      const long long verdict = parts[0].integer;
      if (verdict == 1 && parts.size() == 3 && parts[1].kind == redis::reply::type::bulk &&
          plausible_picture_id(parts[1].text) && parts[2].kind == redis::reply::type::integer) {
        keep(key, parts[1].text, clock::now() + milliseconds(parts[2].integer));
        co_return parts[1].text;
      }
      if (verdict == 2) {
        const auto started = clock::now();
        std::optional<result<std::string>> uploaded;
        {
          // The lease is renewed while we upload: it lapses a lease after we stop.
          const lease_renewal renewing(*shared, lock_key, owner, lease, executor);
          uploaded.emplace(co_await upload());
        }
        if (*uploaded) keep(key, uploaded->value(), started + keep_for);
        co_await settle(key, id_key, lock_key, owner, *uploaded, started + keep_for, executor,
                        true);
        co_return std::move(*uploaded);
      }
      if (verdict != 0 || parts.size() != 2 || parts[1].kind != redis::reply::type::integer) {
        shared->reject("upload_claim");
        co_return co_await alone(key, id_key, lock_key, owner, keep_for, upload, executor);
      }
      // Another replica uploads: poll until its id appears, or its lease lapses (then the lock
      // is ours), or our time is up. Never past the lease the lock has left.
      const milliseconds wait =
          std::min(jittered(pause), milliseconds(std::max<long long>(1, parts[1].integer)));
      if (deadline - clock::now() <= wait) co_return waited_too_long();
      asio::steady_timer timer(executor, wait);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return waited_too_long();
      pause = std::min(pause * 2, milliseconds(200));
    }
  }
};

namespace {

// A Redis that started empty (restarted without its data, or another one) gets the ids this
// replica holds (the first stored for an image stays, and is adopted here), so that the
// replicas that lack an image find it instead of uploading it once more.
asio::awaitable<void> republish(std::shared_ptr<upload_flight::impl> self) {
  struct done_on_exit {
    std::atomic<bool>& flag;
    ~done_on_exit() { flag = false; }
  } done{self->republishing};
  std::vector<std::string> epoch_keys{self->keys.epoch()};
  std::vector<std::string> epoch_args{random_owner(), std::to_string(epoch_life.count())};
  const auto epoch = co_await self->shared->run(epoch_script, std::move(epoch_keys),
                                                std::move(epoch_args), "upload_epoch");
  if (!epoch) co_return;
  if (epoch->kind != redis::reply::type::bulk) {
    self->shared->reject("upload_epoch");
    co_return;
  }
  if (epoch->text == self->published_to) co_return;
  for (const auto& entry : self->local.live(upload_flight::clock::now())) {
    const std::string id_key = self->keys.upload(entry.key);
    std::vector<std::string> keys{id_key, key_layout::lock_of(id_key)};
    std::vector<std::string> args{entry.picture_id, std::to_string(unix_ms_at(entry.expires_at)),
                                  ""};
    const auto answer = co_await self->shared->run(store_script, std::move(keys), std::move(args),
                                                   "upload_republish");
    if (!answer) co_return;  // gone again: all of them the next time it is back
    self->adopt(entry.key, entry.picture_id, *answer);
  }
  self->published_to = epoch->text;
}

}  // namespace

upload_flight::upload_flight(upload_cache& local, redis::client* shared, key_layout keys,
                             milliseconds lease)
    : impl_(std::make_shared<impl>(local, shared, std::move(keys), lease)) {}

upload_flight::~upload_flight() = default;

asio::awaitable<std::optional<std::string>> upload_flight::find(upload_key key) {
  const std::shared_ptr<impl> self = impl_;
  const auto now = clock::now();
  // At most once a second, while requests come: did Redis lose its data?
  auto due = self->next_look.load(std::memory_order_relaxed);
  if (self->shared != nullptr && now.time_since_epoch().count() >= due && self->shared->up() &&
      self->next_look.compare_exchange_strong(
          due, (now + republish_look_every).time_since_epoch().count()) &&
      !self->republishing.exchange(true)) {
    asio::co_spawn(co_await asio::this_coro::executor, republish(self), asio::detached);
  }
  if (auto id = self->local.find(key, now)) co_return id;
  if (self->shared == nullptr || !self->shared->up()) co_return std::nullopt;
  std::vector<std::string> peek_keys{self->keys.upload(key)};
  auto peek = co_await self->shared->run(peek_script, std::move(peek_keys), {}, "upload_find");
  if (!peek || peek->is_nil()) co_return std::nullopt;
  if (peek->kind != redis::reply::type::array || peek->elements.size() != 2 ||
      peek->elements[0].kind != redis::reply::type::bulk ||
      peek->elements[1].kind != redis::reply::type::integer) {
    self->shared->reject("upload_find");
    co_return std::nullopt;
  }
  std::string id = std::move(peek->elements[0].text);
  if (!plausible_picture_id(id)) co_return std::nullopt;  // junk: overwritten by the next upload
  self->keep(key, id, clock::now() + milliseconds(peek->elements[1].integer));
  co_return id;
}

asio::awaitable<result<std::string>> upload_flight::upload_once(upload_key key,
                                                                clock::time_point deadline,
                                                                milliseconds keep_for,
                                                                upload_fn upload) {
  const std::shared_ptr<impl> self = impl_;
  const std::string name = flat(key);
  const auto executor = co_await asio::this_coro::executor;
  for (;;) {
    if (auto id = self->local.find(key, clock::now())) co_return std::move(*id);
    std::shared_ptr<flight> mine;
    std::shared_ptr<flight> theirs;
    std::shared_ptr<wake_channel> channel;
    {
      std::lock_guard lock(self->mutex);
      std::shared_ptr<flight>& slot = self->flights[name];
      if (slot) {
        theirs = slot;
        channel = std::make_shared<wake_channel>(executor, 1);
        theirs->waiters.push_back(channel);
      } else {
        slot = std::make_shared<flight>();
        mine = slot;
      }
    }
    if (mine) {
      // If we are unwound before the end, the waiters start over.
      struct abandon_on_exit {
        impl* owner;
        const std::string& name;
        std::shared_ptr<flight> f;
        ~abandon_on_exit() {
          if (f) owner->finish(name, f, std::nullopt);
        }
      } guard{self.get(), name, mine};
      result<std::string> uploaded = co_await self->lead(key, deadline, keep_for, upload);
      guard.f.reset();
      self->finish(name, mine, uploaded);
      co_return uploaded;
    }

    asio::steady_timer timer(executor, deadline);
    co_await asio::experimental::make_parallel_group(channel->async_receive(asio::deferred),
                                                     timer.async_wait(asio::deferred))
        .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    {
      std::lock_guard lock(self->mutex);
      if (!theirs->done) {
        auto& waiters = theirs->waiters;
        waiters.erase(std::remove(waiters.begin(), waiters.end(), channel), waiters.end());
        co_return waited_too_long();
      }
    }
    if (!theirs->outcome) continue;  // the uploader went away: start over
    if (theirs->outcome->ok()) co_return *theirs->outcome;
    if (theirs->outcome->error().kind == error_kind::upstream_rejected) co_return *theirs->outcome;
    // Any other failure: one waiter takes over (the next turn of the loop).
  }
}

}  // namespace image_gateway::replicas
