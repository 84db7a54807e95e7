#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace image_gateway {

// An IPv4 or IPv6 address as bytes (IPv4 in the first 4 bytes).
struct ip_address {
  bool is_v6 = false;
  std::array<std::uint8_t, 16> bytes{};

  static ip_address v4(std::uint32_t host_order);
  static ip_address v6(const std::array<std::uint8_t, 16>& network_order);
  // Strict textual forms only: dotted quad "1.2.3.4" or an IPv6 literal without brackets.
  static std::optional<ip_address> parse(std::string_view text);
  // inet_aton's legacy IPv4 spellings as URL hosts resolve them: "127.1", "2130706433",
  // "0x7f000001", "0177.0.0.1", "0x7f.1"; also strict dotted quads. Parts are decimal, octal
  // (leading 0) or hex (0x); the last part fills the remaining bytes. One trailing dot is
  // accepted as browsers do ("127.1."). nullopt when the host is not such a number or a part
  // is out of range.
  static std::optional<ip_address> parse_legacy_ipv4(std::string_view host);

  std::string to_string() const;
  friend bool operator==(const ip_address&, const ip_address&) = default;
};

struct ip_network {
  ip_address base;
  int prefix_length = 0;

  // "10.0.0.0/8", "::1/128"; a bare address means a single host. Host bits set in the base
  // ("10.1.2.3/8") are accepted and masked off (base becomes 10.0.0.0).
  static std::optional<ip_network> parse(std::string_view cidr);
  bool contains(const ip_address& address) const;
  std::string to_string() const;
};

// Which addresses the fetcher may connect to (docs/security.md#fetching-untrusted-urls-ssrf, issue
// 3): everything but the special-purpose ranges, with IPv4 embedded in IPv6 (mapped, compatible,
// NAT64, 6to4, Teredo) judged as IPv4, unless an allowed network contains the address.
class address_policy {
 public:
  explicit address_policy(std::vector<ip_network> allowed = {});

  // Why this address is refused ("127.0.0.1 is in 127.0.0.0/8 (loopback)", "::ffff:127.0.0.1
  // embeds 127.0.0.1, which is in 127.0.0.0/8 (loopback)"), or nullopt. An allowed network
  // exempts an address it contains, and an embedded IPv4 it contains.
  std::optional<std::string> refusal(const ip_address& address) const;

 private:
  std::vector<ip_network> allowed_;
};

}  // namespace image_gateway
