#include "image_gateway/fetch/address_policy.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <utility>

namespace image_gateway {

namespace {

ip_address v4_at(const ip_address& v6, std::size_t offset, std::uint32_t xor_mask = 0) {
  std::uint32_t value = (std::uint32_t{v6.bytes[offset]} << 24) |
                        (std::uint32_t{v6.bytes[offset + 1]} << 16) |
                        (std::uint32_t{v6.bytes[offset + 2]} << 8) | v6.bytes[offset + 3];
  return ip_address::v4(value ^ xor_mask);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A strict dotted quad: four decimal parts 0-255, no leading zeros, no sign, nothing else.
std::optional<ip_address> parse_dotted_quad(std::string_view text) {
  std::uint32_t value = 0;
  int parts = 0;
  std::size_t pos = 0;
  while (parts < 4) {
    std::size_t start = pos;
    unsigned part = 0;
    while (pos < text.size() && is_digit(text[pos]) && pos - start < 3) {
      part = part * 10 + static_cast<unsigned>(text[pos] - '0');
      ++pos;
    }
    std::size_t digits = pos - start;
    if (digits == 0 || part > 255 || (digits > 1 && text[start] == '0')) return std::nullopt;
    value = (value << 8) | part;
    ++parts;
    if (parts < 4) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
  }
  if (pos != text.size()) return std::nullopt;
  return ip_address::v4(value);
}

std::optional<ip_address> parse_v6(std::string_view text) {
  // inet_pton wants a NUL-terminated string; the longest valid form is 45 characters.
  if (text.empty() || text.size() > 45) return std::nullopt;
  for (char c : text) {
    bool ok =
        is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
    if (!ok) return std::nullopt;  // no zone ids ("%eth0"), no brackets, no spaces
  }
  char buffer[64];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  std::array<std::uint8_t, 16> bytes{};
  if (inet_pton(AF_INET6, buffer, bytes.data()) != 1) return std::nullopt;
  return ip_address::v6(bytes);
}

// One inet_aton part: decimal, octal with a leading 0, or hex with 0x ("0x" alone is 0, as in
// glibc). nullopt on anything else or when the value does not fit in 32 bits.
std::optional<std::uint32_t> parse_legacy_part(std::string_view part) {
  if (part.empty()) return std::nullopt;
  unsigned base = 10;
  std::size_t pos = 0;
  if (part[0] == '0') {
    if (part.size() >= 2 && (part[1] == 'x' || part[1] == 'X')) {
      base = 16;
      pos = 2;
    } else {
      base = 8;
      pos = 1;
    }
  }
  std::uint64_t value = 0;
  for (; pos < part.size(); ++pos) {
    char c = part[pos];
    unsigned digit = 0;
    if (is_digit(c)) {
      digit = static_cast<unsigned>(c - '0');
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    if (digit >= base) return std::nullopt;
    value = value * base + digit;
    if (value > 0xffffffffULL) return std::nullopt;
  }
  return static_cast<std::uint32_t>(value);
}

struct named_network {
  ip_network network;
  std::string_view name;
};

std::vector<named_network> make_table(
    std::initializer_list<std::pair<std::string_view, std::string_view>> rows) {
  std::vector<named_network> table;
  for (const auto& [cidr, name] : rows) table.push_back({*ip_network::parse(cidr), name});
  return table;
}

// IANA special-purpose IPv4 ranges a fetcher must not reach.
const std::vector<named_network>& v4_blocked() {
  static const std::vector<named_network> table = make_table({
      {"0.0.0.0/8", "this network"},
      {"10.0.0.0/8", "private"},
      {"100.64.0.0/10", "shared CGNAT"},
      {"127.0.0.0/8", "loopback"},
      {"169.254.0.0/16", "link-local (cloud metadata)"},
      {"172.16.0.0/12", "private"},
      {"192.0.0.0/24", "IETF protocol assignments"},
      {"192.0.2.0/24", "documentation"},
      {"192.88.99.0/24", "6to4 relay anycast (deprecated)"},
      {"192.168.0.0/16", "private"},
      {"198.18.0.0/15", "benchmarking"},
      {"198.51.100.0/24", "documentation"},
      {"203.0.113.0/24", "documentation"},
      {"224.0.0.0/4", "multicast"},
      {"240.0.0.0/4", "reserved"},
  });
  return table;
}

const std::vector<named_network>& v6_blocked() {
  static const std::vector<named_network> table = make_table({
      {"::/128", "unspecified"},
      {"::1/128", "loopback"},
      {"100::/64", "discard-only"},
      {"2001:2::/48", "benchmarking"},
      {"2001:10::/28", "ORCHID"},
      {"2001:20::/28", "ORCHIDv2"},
      {"2001:db8::/32", "documentation"},
      {"3fff::/20", "documentation"},
      {"5f00::/16", "SRv6 SIDs"},
      {"fc00::/7", "unique local"},
      {"fe80::/10", "link-local"},
      {"fec0::/10", "site-local"},
      {"ff00::/8", "multicast"},
  });
  return table;
}

// The IPv4 addresses an IPv6 address carries, which the packets effectively reach.
std::vector<ip_address> embedded_v4(const ip_address& address) {
  static const ip_network mapped = *ip_network::parse("::ffff:0:0/96");
  static const ip_network compatible = *ip_network::parse("::/96");
  static const ip_network nat64 = *ip_network::parse("64:ff9b::/96");
  static const ip_network local_nat64 = *ip_network::parse("64:ff9b:1::/48");
  static const ip_network six_to_four = *ip_network::parse("2002::/16");
  static const ip_network teredo = *ip_network::parse("2001::/32");

  if (mapped.contains(address) || compatible.contains(address) || nat64.contains(address) ||
      local_nat64.contains(address)) {
    return {v4_at(address, 12)};
  }
  if (six_to_four.contains(address)) return {v4_at(address, 2)};
  // Teredo: the client's address is stored inverted in the last 32 bits; the server's at 32..63.
  if (teredo.contains(address)) return {v4_at(address, 12, 0xffffffffU), v4_at(address, 4)};
  return {};
}

const named_network* find(const std::vector<named_network>& table, const ip_address& address) {
  for (const auto& row : table) {
    if (row.network.contains(address)) return &row;
  }
  return nullptr;
}

std::string describe(const named_network& row) {
  return row.network.to_string() + " (" + std::string(row.name) + ")";
}

}  // namespace

ip_address ip_address::v4(std::uint32_t host_order) {
  ip_address address;
  address.bytes[0] = static_cast<std::uint8_t>(host_order >> 24);
  address.bytes[1] = static_cast<std::uint8_t>(host_order >> 16);
  address.bytes[2] = static_cast<std::uint8_t>(host_order >> 8);
  address.bytes[3] = static_cast<std::uint8_t>(host_order);
  return address;
}

ip_address ip_address::v6(const std::array<std::uint8_t, 16>& network_order) {
  ip_address address;
  address.is_v6 = true;
  address.bytes = network_order;
  return address;
}

std::optional<ip_address> ip_address::parse(std::string_view text) {
  if (text.find(':') != std::string_view::npos) return parse_v6(text);
  return parse_dotted_quad(text);
}

// inet_aton semantics: 1-4 parts, the last part fills the remaining bytes. One trailing dot is
// accepted, as browsers do ("127.1." is 127.0.0.1): reading more spellings as addresses is the
// safe side for a block list.
std::optional<ip_address> ip_address::parse_legacy_ipv4(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > 64) return std::nullopt;
  std::uint32_t parts[4] = {};
  std::size_t count = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = host.find('.', start);
    std::string_view text =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (count == 4) return std::nullopt;
    auto value = parse_legacy_part(text);
    if (!value) return std::nullopt;
    parts[count++] = *value;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // Every part but the last is one byte; the last fills the 4 - (count - 1) bytes left.
  std::uint32_t value = 0;
  for (std::size_t i = 0; i + 1 < count; ++i) {
    if (parts[i] > 0xff) return std::nullopt;
    value |= parts[i] << (8 * (3 - i));
  }
  std::size_t last_bytes = 4 - (count - 1);
  std::uint32_t last = parts[count - 1];
  if (last_bytes < 4 && last >= (std::uint32_t{1} << (8 * last_bytes))) return std::nullopt;
  value |= last;
  return ip_address::v4(value);
}

std::string ip_address::to_string() const {
  if (!is_v6) {
    return std::to_string(bytes[0]) + "." + std::to_string(bytes[1]) + "." +
           std::to_string(bytes[2]) + "." + std::to_string(bytes[3]);
  }
  // glibc's inet_ntop follows RFC 5952 (lower case, longest zero run compressed).
  char buffer[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(AF_INET6, bytes.data(), buffer, sizeof buffer) == nullptr) return "?";
  return buffer;
}

// Host bits set in the base ("10.0.0.1/8") are accepted and masked off, so the network means
// what was most likely meant (10.0.0.0/8) and to_string() shows the masked form.
std::optional<ip_network> ip_network::parse(std::string_view cidr) {
  std::size_t slash = cidr.find('/');
  std::string_view address_text = cidr.substr(0, slash);
  auto address = ip_address::parse(address_text);
  if (!address) return std::nullopt;
  int max_prefix = address->is_v6 ? 128 : 32;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    std::string_view prefix_text = cidr.substr(slash + 1);
    if (prefix_text.empty() || prefix_text.size() > 3) return std::nullopt;
    if (prefix_text.size() > 1 && prefix_text[0] == '0') return std::nullopt;
    prefix = 0;
    for (char c : prefix_text) {
      if (!is_digit(c)) return std::nullopt;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > max_prefix) return std::nullopt;
  }
  ip_network network;
  network.base = *address;
  network.prefix_length = prefix;
  for (int bit = prefix; bit < max_prefix; ++bit) {
    network.base.bytes[static_cast<std::size_t>(bit / 8)] &=
        static_cast<std::uint8_t>(~(0x80U >> (bit % 8)));
  }
  return network;
}

bool ip_network::contains(const ip_address& address) const {
  if (address.is_v6 != base.is_v6) return false;
  int full_bytes = prefix_length / 8;
  for (int i = 0; i < full_bytes; ++i) {
    if (address.bytes[static_cast<std::size_t>(i)] != base.bytes[static_cast<std::size_t>(i)]) {
      return false;
    }
  }
  int rest = prefix_length % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff00U >> rest);
  auto index = static_cast<std::size_t>(full_bytes);
  return (address.bytes[index] & mask) == (base.bytes[index] & mask);
}

std::string ip_network::to_string() const {
  return base.to_string() + "/" + std::to_string(prefix_length);
}

address_policy::address_policy(std::vector<ip_network> allowed) : allowed_(std::move(allowed)) {}

std::optional<std::string> address_policy::refusal(const ip_address& address) const {
  auto allowed = [this](const ip_address& candidate) {
    for (const auto& network : allowed_) {
      if (network.contains(candidate)) return true;
    }
    return false;
  };
  if (allowed(address)) return std::nullopt;

  if (!address.is_v6) {
    if (const auto* row = find(v4_blocked(), address)) {
      return address.to_string() + " is in " + describe(*row);
    }
    return std::nullopt;
  }
  if (const auto* row = find(v6_blocked(), address)) {
    return address.to_string() + " is in " + describe(*row);
  }
  // An embedded IPv4 is judged like the IPv4 itself, the allow list included.
  const auto inner_addresses = embedded_v4(address);
  for (const auto& inner : inner_addresses) {
    if (allowed(inner)) continue;
    if (const auto* row = find(v4_blocked(), inner)) {
      return address.to_string() + " embeds " + inner.to_string() + ", which is in " +
             describe(*row);
    }
  }
  // Everything else outside 2000::/3 is reserved by the IETF: no public host lives there.
  static const ip_network global_unicast = *ip_network::parse("2000::/3");
  if (inner_addresses.empty() && !global_unicast.contains(address)) {
    return address.to_string() + " is outside 2000::/3 (reserved, not global unicast)";
  }
  return std::nullopt;
}

}  // namespace image_gateway
