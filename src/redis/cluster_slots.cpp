#include "image_gateway/redis/cluster_slots.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace image_gateway::redis {

std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (const char c : bytes) {
    crc ^= static_cast<std::uint16_t>(static_cast<unsigned char>(c) << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::uint16_t key_slot(std::string_view key) {
  const std::size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<std::uint16_t>(crc16(key) % cluster_slot_count);
}

const cluster_node* slot_map::node_of(std::uint16_t slot) const {
  if (slot >= cluster_slot_count || owner[slot] < 0) return nullptr;
  return &nodes[static_cast<std::size_t>(owner[slot])];
}

void slot_map::assign(std::uint16_t slot, const cluster_node& node) {
  if (slot >= cluster_slot_count) return;
  std::size_t index = 0;
  while (index < nodes.size() && !(nodes[index] == node)) ++index;
  if (index == nodes.size()) nodes.push_back(node);
  owner[slot] = static_cast<std::int16_t>(index);
}

bool slot_map::shares_a_member_with(const slot_map& other) const {
  return std::find_first_of(members.begin(), members.end(), other.members.begin(),
                            other.members.end()) != members.end();
}

bool slot_map::covers_all() const {
  for (const std::int16_t index : owner) {
    if (index < 0) return false;
  }
  return true;
}

namespace {

bool is_slot(const reply& r) {
  return r.kind == reply::type::integer && r.integer >= 0 && r.integer < cluster_slot_count;
}

std::optional<std::uint16_t> slot_of_text(std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value >= cluster_slot_count) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

// The node id in a CLUSTER SLOTS node entry ([host, port, id, ...]); empty when not given
// (servers before 4.0).
std::string id_in(const reply& node) {
  if (node.elements.size() < 3) return {};
  const reply& id = node.elements[2];
  return id.kind == reply::type::bulk || id.kind == reply::type::simple ? id.text : std::string();
}

void add_member(std::vector<std::string>& members, std::string id) {
  if (id.empty() || std::find(members.begin(), members.end(), id) != members.end()) return;
  members.push_back(std::move(id));
}

}  // namespace

std::optional<slot_map> parse_cluster_slots(const reply& r, std::string_view asked_host) {
  if (r.kind != reply::type::array) return std::nullopt;
  slot_map map;
  for (const reply& range : r.elements) {
    if (range.kind != reply::type::array || range.elements.size() < 3) return std::nullopt;
    const reply& first = range.elements[0];
    const reply& last = range.elements[1];
    const reply& master = range.elements[2];
    if (!is_slot(first) || !is_slot(last) || first.integer > last.integer) return std::nullopt;
    if (master.kind != reply::type::array || master.elements.size() < 2) return std::nullopt;
    const reply& host = master.elements[0];
    const reply& port = master.elements[1];
    if ((host.kind != reply::type::bulk && host.kind != reply::type::simple) ||
        port.kind != reply::type::integer || port.integer <= 0 || port.integer > 65535) {
      return std::nullopt;
    }
    cluster_node node{host.text.empty() || host.text == "?" ? std::string(asked_host) : host.text,
                      std::to_string(port.integer), id_in(master)};
    add_member(map.members, node.id);
    for (std::size_t i = 3; i < range.elements.size(); ++i) {
      if (range.elements[i].kind == reply::type::array) {
        add_member(map.members, id_in(range.elements[i]));
      }
    }
    for (long long slot = first.integer; slot <= last.integer; ++slot) {
      map.assign(static_cast<std::uint16_t>(slot), node);
    }
  }
  return map;
}

std::optional<redirection> parse_redirection(std::string_view text) {
  redirection out;
  if (text.starts_with("MOVED ")) {
    text.remove_prefix(6);
  } else if (text.starts_with("ASK ")) {
    out.ask = true;
    text.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto slot = slot_of_text(text.substr(0, space));
  const std::string_view address = text.substr(space + 1);
  const std::size_t colon = address.rfind(':');
  if (!slot || colon == std::string_view::npos || colon + 1 == address.size()) {
    return std::nullopt;
  }
  out.slot = *slot;
  out.node.host = std::string(address.substr(0, colon));
  out.node.port = std::string(address.substr(colon + 1));
  for (const char c : out.node.port) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  // "MOVED 3999 :6380": the node that answered; the caller knows it, an empty host says so.
  return out;
}

std::optional<std::string_view> command_key(std::span<const std::string> args) {
  if (args.empty()) return std::nullopt;
  std::string name = args[0];
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (name == "EVAL" || name == "EVALSHA") {
    if (args.size() < 4 || args[2] == "0") return std::nullopt;
    return args[3];
  }
  static constexpr std::string_view keyless[] = {
      "PING",   "ECHO",    "TIME",   "INFO",     "DBSIZE",  "CLUSTER",  "SCRIPT",
      "CONFIG", "COMMAND", "ASKING", "AUTH",     "HELLO",   "SELECT",   "CLIENT",
      "MULTI",  "EXEC",    "QUIT",   "FLUSHALL", "FLUSHDB", "READONLY", "READWRITE"};
  if (std::find(std::begin(keyless), std::end(keyless), name) != std::end(keyless) ||
      args.size() < 2) {
    return std::nullopt;
  }
  return args[1];
}

}  // namespace image_gateway::redis
