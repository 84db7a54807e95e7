#pragma once
// Redis Cluster addressing, pure (no I/O): the hash slot of a key, the slot map a node gives
// for CLUSTER SLOTS, and the MOVED / ASK redirections.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "image_gateway/redis/resp.hpp"

namespace image_gateway::redis {

inline constexpr std::uint16_t cluster_slot_count = 16384;

// CRC16 (XMODEM: polynomial 0x1021, initial 0) of `bytes`.
std::uint16_t crc16(std::string_view bytes);

// The slot of `key`, as CLUSTER KEYSLOT answers it: when the key holds a `{` followed later by a
// `}` with at least one byte between them, only those bytes (of the first such pair) are hashed.
std::uint16_t key_slot(std::string_view key);

// A master node: its address and, when known, the id the cluster gave it (a MOVED names no id).
struct cluster_node {
  std::string host;
  std::string port;
  std::string id;
  std::string address() const { return host + ":" + port; }
  // The same address: the id only says which node is expected to answer there.
  friend bool operator==(const cluster_node& a, const cluster_node& b) {
    return a.host == b.host && a.port == b.port;
  }
};

// Which master serves each slot: an index into `nodes`, or -1 for a slot nobody serves.
struct slot_map {
  std::vector<cluster_node> nodes;
  std::array<std::int16_t, cluster_slot_count> owner{};
  // The id of every node the map names, masters and replicas: which cluster this is.
  std::vector<std::string> members;

  slot_map() { owner.fill(-1); }
  const cluster_node* node_of(std::uint16_t slot) const;
  // Makes `node` the owner of `slot` (adding it to `nodes` when new).
  void assign(std::uint16_t slot, const cluster_node& node);
  bool covers_all() const;
  // Whether the two maps name a node in common (by id): the same cluster, however much of it
  // changed. False when either names no id.
  bool shares_a_member_with(const slot_map& other) const;
};

// The map in a CLUSTER SLOTS reply (each entry: first slot, last slot, then the master as
// [host, port, id, ...] and its replicas as the same, counted as members only). A master announced
// with an empty host or "?" is the node that was asked (`asked_host`). nullopt when the reply is
// not that shape.
std::optional<slot_map> parse_cluster_slots(const reply& r, std::string_view asked_host);

// A redirection in an error reply: "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>".
struct redirection {
  bool ask = false;
  std::uint16_t slot = 0;
  cluster_node node;
};
std::optional<redirection> parse_redirection(std::string_view error_text);

// The key a command is routed by in a cluster: the first key of EVAL / EVALSHA (none when it
// has no keys), nothing for a command without keys (PING, TIME, INFO, DBSIZE, SCRIPT, CLUSTER,
// ...), the first argument for every other command (GET, SET, DEL, PEXPIRE, ...).
std::optional<std::string_view> command_key(std::span<const std::string> args);

}  // namespace image_gateway::redis
