#pragma once
// A real redis-server for tests: started by the test on a free 127.0.0.1 port, without
// persistence, never the system service. Killed (SIGKILL), frozen (SIGSTOP) and restarted on
// the same port at will; a blocking client for looking at and planting keys.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include "image_gateway/redis/client.hpp"
#include "image_gateway/redis/resp.hpp"

namespace image_gateway::testing {

class redis_process {
 public:
  // `password` "": none (requirepass otherwise). `extra` are more redis-server arguments
  // (e.g. --replicaof, the --tls-* ones). `port` 0: a free one.
  explicit redis_process(std::string password = "", std::vector<std::string> extra = {},
                         unsigned short port = 0);
  ~redis_process();
  redis_process(const redis_process&) = delete;
  redis_process& operator=(const redis_process&) = delete;

  // A sentinel watching the master at 127.0.0.1:`master_port` as `name` (quorum 1, a master
  // taken as down after 1 s), its configuration in a file of its own (removed with it).
  static std::unique_ptr<redis_process> sentinel(unsigned short master_port,
                                                 const std::string& name);

  unsigned short port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  void kill();     // SIGKILL and reap; the port is free again
  void restart();  // a fresh server (empty, no scripts) on the same port
  void freeze();   // SIGSTOP
  void thaw();     // SIGCONT

  // One command over a fresh blocking connection (AUTH first when there is a password).
  redis::reply command(const std::vector<std::string>& args) const;
  // Every key (SCAN).
  std::vector<std::string> keys() const;

 private:
  struct as_sentinel {};
  redis_process(as_sentinel, std::string sentinel_config);
  // Starts the server; when the port turns out to be another server's, a new free port when
  // `may_move`, the same one a moment later otherwise (a restart keeps its port).
  void start(bool may_move);
  std::vector<std::string> arguments() const;
  // True when the server came up on the port; false when the port is another server's.
  bool launch(std::vector<std::string>& args);
  std::string password_;
  std::vector<std::string> extra_;
  std::string sentinel_config_;  // "" : a plain server
  unsigned short port_ = 0;
  pid_t pid_ = -1;
  bool frozen_ = false;
};

// Client settings for tests (no address yet): a time-out generous for a loaded machine, a short
// reconnect back-off, and the write probe.
redis::client_settings test_client_settings();

// True when redis-server is installed (the tests that need it say so when it is not).
bool redis_server_available();

}  // namespace image_gateway::testing
