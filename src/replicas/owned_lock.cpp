#include "owned_lock.hpp"

namespace image_gateway::replicas {

const redis::script& release_owned_lock() {
  static const redis::script script(R"lua(
if redis.call('TYPE', KEYS[1]).ok == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
)lua");
  return script;
}

}  // namespace image_gateway::replicas
