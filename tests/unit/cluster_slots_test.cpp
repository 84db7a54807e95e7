// Redis Cluster addressing (redis/cluster_slots.hpp): slots as a real redis-server 7.0's
// CLUSTER KEYSLOT answers them, the CLUSTER SLOTS map, MOVED / ASK.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "image_gateway/redis/cluster_slots.hpp"

namespace image_gateway::redis {
namespace {

TEST(ClusterSlots, Crc16IsXmodem) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(crc16(""), 0);
}

TEST(ClusterSlots, KeySlotsMatchClusterKeyslot) {
  // Each value as `redis-cli cluster keyslot` answered it.
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot(""), 0);
  EXPECT_EQ(key_slot("image-gateway:writable:{probe}"), 5258);
}

TEST(ClusterSlots, HashTagsFollowTheFirstNonEmptyBracePair) {
  EXPECT_EQ(key_slot("{user1000}.following"), 3443);
  EXPECT_EQ(key_slot("{user1000}.followers"), 3443);
  EXPECT_EQ(key_slot("a{b}"), 3300);
  EXPECT_EQ(key_slot("foo{bar}{zap}"), 5061);  // only the first pair: "bar"
  // An empty tag hashes the whole key.
  EXPECT_EQ(key_slot("{}foo"), 9500);
  EXPECT_EQ(key_slot("foo{}{bar}"), 8363);
  // The tag runs from the first '{' to the next '}': "{bar".
  EXPECT_EQ(key_slot("foo{{bar}}zap"), 4015);
  EXPECT_EQ(key_slot("{bar"), 4015);
}

reply integer(long long v) {
  reply r;
  r.kind = reply::type::integer;
  r.integer = v;
  return r;
}
reply bulk(std::string text) {
  reply r;
  r.kind = reply::type::bulk;
  r.text = std::move(text);
  return r;
}
reply array(std::vector<reply> elements) {
  reply r;
  r.kind = reply::type::array;
  r.elements = std::move(elements);
  return r;
}
reply range(long long first, long long last, std::string host, long long port,
            std::string master_id = "id-master", std::string replica_id = "id-replica") {
  return array({integer(first), integer(last),
                array({bulk(std::move(host)), integer(port), bulk(std::move(master_id))}),
                array({bulk("10.0.0.9"), integer(7000), bulk(std::move(replica_id))})});
}

TEST(ClusterSlots, MapFromClusterSlots) {
  const reply r = array({range(0, 5460, "10.0.0.1", 6379), range(5461, 10922, "10.0.0.2", 6380),
                         range(10923, 16383, "", 6381)});
  const auto map = parse_cluster_slots(r, "seed.example");
  ASSERT_TRUE(map);
  EXPECT_TRUE(map->covers_all());
  ASSERT_EQ(map->nodes.size(), 3U);  // replicas are not nodes to send to
  EXPECT_EQ(map->node_of(0)->address(), "10.0.0.1:6379");
  EXPECT_EQ(map->node_of(5460)->address(), "10.0.0.1:6379");
  EXPECT_EQ(map->node_of(5461)->address(), "10.0.0.2:6380");
  EXPECT_EQ(map->node_of(12182)->address(), "seed.example:6381");  // empty host: the one asked
}

TEST(ClusterSlots, GapsAreUnservedSlots) {
  const auto map = parse_cluster_slots(array({range(0, 100, "h", 1)}), "x");
  ASSERT_TRUE(map);
  EXPECT_FALSE(map->covers_all());
  EXPECT_EQ(map->node_of(101), nullptr);
  const auto empty = parse_cluster_slots(array({}), "x");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->covers_all());
}

TEST(ClusterSlots, MalformedRepliesAreRefused) {
  EXPECT_FALSE(parse_cluster_slots(bulk("no"), "x"));
  EXPECT_FALSE(
      parse_cluster_slots(array({array({integer(5), integer(1), array({bulk("h"), integer(1)})})}),
                          "x"));                                             // first > last
  EXPECT_FALSE(parse_cluster_slots(array({range(0, 16384, "h", 1)}), "x"));  // past the last slot
  EXPECT_FALSE(parse_cluster_slots(array({range(0, 1, "h", 0)}), "x"));      // port 0
  EXPECT_FALSE(parse_cluster_slots(array({array({integer(0), integer(1)})}), "x"));
  EXPECT_FALSE(parse_cluster_slots(array({array({integer(0), integer(1), bulk("h")})}), "x"));
}

TEST(ClusterSlots, AssignMovesOneSlot) {
  auto map = parse_cluster_slots(array({range(0, 16383, "a", 1)}), "x");
  ASSERT_TRUE(map);
  map->assign(12182, cluster_node{"b", "2"});
  EXPECT_EQ(map->node_of(12182)->address(), "b:2");
  EXPECT_EQ(map->node_of(12181)->address(), "a:1");
  map->assign(12181, cluster_node{"b", "2"});
  EXPECT_EQ(map->nodes.size(), 2U);
}

TEST(ClusterSlots, NodeIdsAndEveryMemberAreKept) {
  const auto map = parse_cluster_slots(
      array({range(0, 8000, "a", 1, "m1", "r1"), range(8001, 16383, "b", 2, "m2", "r2")}), "x");
  ASSERT_TRUE(map);
  EXPECT_EQ(map->node_of(0)->id, "m1");
  EXPECT_EQ(map->node_of(16383)->id, "m2");
  EXPECT_EQ(map->members, (std::vector<std::string>{"m1", "r1", "m2", "r2"}));
  // Servers before 4.0 name no id: nodes without one, and no members.
  const auto old = parse_cluster_slots(
      array({array({integer(0), integer(16383), array({bulk("a"), integer(1)})})}), "x");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->node_of(0)->id, "");
  EXPECT_TRUE(old->members.empty());
}

TEST(ClusterSlots, MapsOfOneClusterShareAMemberAndAnotherClustersDoNot) {
  const auto known = parse_cluster_slots(
      array({range(0, 8000, "a", 1, "m1", "r1"), range(8001, 16383, "b", 2, "m2", "r2")}), "x");
  // After both masters failed over, only the former replicas are masters: still this cluster.
  const auto failed_over = parse_cluster_slots(
      array({range(0, 8000, "c", 3, "r1", "n1"), range(8001, 16383, "d", 4, "r2", "n2")}), "x");
  // Another cluster on one of the known addresses.
  const auto other = parse_cluster_slots(array({range(0, 16383, "a", 1, "z1", "z2")}), "x");
  const auto without_ids = parse_cluster_slots(
      array({array({integer(0), integer(16383), array({bulk("a"), integer(1)})})}), "x");
  ASSERT_TRUE(known && failed_over && other && without_ids);
  EXPECT_TRUE(known->shares_a_member_with(*failed_over));
  EXPECT_TRUE(failed_over->shares_a_member_with(*known));
  EXPECT_FALSE(known->shares_a_member_with(*other));
  EXPECT_FALSE(known->shares_a_member_with(*without_ids));
  EXPECT_FALSE(without_ids->shares_a_member_with(*without_ids));
}

TEST(ClusterSlots, ARedirectionToAKnownAddressKeepsItsId) {
  auto map = parse_cluster_slots(
      array({range(0, 8000, "a", 1, "m1", "r1"), range(8001, 16383, "b", 2, "m2", "r2")}), "x");
  ASSERT_TRUE(map);
  map->assign(0, cluster_node{"b", "2"});  // a MOVED names no id
  EXPECT_EQ(map->node_of(0)->id, "m2");
  map->assign(1, cluster_node{"c", "3"});
  EXPECT_EQ(map->node_of(1)->id, "");
  EXPECT_EQ(map->node_of(1)->address(), "c:3");
}

TEST(ClusterSlots, Redirections) {
  const auto moved = parse_redirection("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved);
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->node.address(), "127.0.0.1:6381");
  const auto ask = parse_redirection("ASK 12182 ::1:7000");
  ASSERT_TRUE(ask);
  EXPECT_TRUE(ask->ask);
  EXPECT_EQ(ask->slot, 12182);
  EXPECT_EQ(ask->node.host, "::1");
  EXPECT_EQ(ask->node.port, "7000");
  EXPECT_FALSE(parse_redirection("ERR wrong number of arguments"));
  EXPECT_FALSE(parse_redirection("MOVED 16384 h:1"));
  EXPECT_FALSE(parse_redirection("MOVED x h:1"));
  EXPECT_FALSE(parse_redirection("MOVED 1 h"));
  EXPECT_FALSE(parse_redirection("MOVED 1 h:"));
  EXPECT_FALSE(parse_redirection("MOVED 1 h:6x"));
  EXPECT_FALSE(parse_redirection("ASK 1"));
}

std::optional<std::string> key_of(std::vector<std::string> args) {
  const auto key = command_key(args);
  if (!key) return std::nullopt;
  return std::string(*key);
}

TEST(ClusterSlots, CommandsAreRoutedByTheirFirstKey) {
  EXPECT_EQ(key_of({"GET", "k"}), "k");
  EXPECT_EQ(key_of({"set", "k", "v", "PX", "10"}), "k");
  EXPECT_EQ(key_of({"PEXPIRE", "k", "10"}), "k");
  EXPECT_EQ(key_of({"EVALSHA", "abc", "2", "k1", "k2", "arg"}), "k1");
  EXPECT_EQ(key_of({"EVAL", "return 1", "0", "arg"}), std::nullopt);
  EXPECT_EQ(key_of({"PING"}), std::nullopt);
  EXPECT_EQ(key_of({"DBSIZE"}), std::nullopt);
  EXPECT_EQ(key_of({"CLUSTER", "SLOTS"}), std::nullopt);
  EXPECT_EQ(key_of({"SCRIPT", "LOAD", "return 1"}), std::nullopt);
  EXPECT_EQ(key_of({}), std::nullopt);
}

}  // namespace
}  // namespace image_gateway::redis
