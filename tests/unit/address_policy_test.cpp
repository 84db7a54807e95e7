#include "image_gateway/fetch/address_policy.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace image_gateway {
namespace {

ip_address addr(std::string_view text) {
  auto parsed = ip_address::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(ip_address{});
}

ip_network net(std::string_view text) {
  auto parsed = ip_network::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(ip_network{});
}

// ---- ip_address::parse ---------------------------------------------------------------------

TEST(IpAddressParse, DottedQuad) {
  auto a = ip_address::parse("192.168.1.20");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->is_v6);
  EXPECT_EQ(a->bytes[0], 192);
  EXPECT_EQ(a->bytes[1], 168);
  EXPECT_EQ(a->bytes[2], 1);
  EXPECT_EQ(a->bytes[3], 20);
  EXPECT_EQ(a->to_string(), "192.168.1.20");
  EXPECT_EQ(*ip_address::parse("0.0.0.0"), ip_address::v4(0));
  EXPECT_EQ(*ip_address::parse("255.255.255.255"), ip_address::v4(0xffffffff));
}

TEST(IpAddressParse, StrictRejectsOtherSpellings) {
  for (std::string_view text : {"",
                                "1.2.3",
                                "1.2.3.4.5",
                                "01.2.3.4",
                                "1.2.3.04",
                                "256.1.1.1",
                                "1.2.3.256",
                                "1.2.3.4.",
                                ".1.2.3",
                                "1..2.3",
                                "127.1",
                                "2130706433",
                                "0x7f000001",
                                "0177.0.0.1",
                                "1.2.3.4 ",
                                " 1.2.3.4",
                                "+1.2.3.4",
                                "1.2.3.-4",
                                "1.2.3.4/8",
                                "a.b.c.d",
                                "1234.1.1.1",
                                "[::1]",
                                "fe80::1%eth0",
                                "fe80::1%25eth0",
                                ":::",
                                "1::2::3",
                                "12345::",
                                "g::1",
                                "::ffff:1.2.3",
                                "::ffff:01.2.3.4",
                                "1:2:3:4:5:6:7:8:9",
                                "localhost"}) {
    EXPECT_FALSE(ip_address::parse(text).has_value()) << "'" << text << "'";
  }
}

TEST(IpAddressParse, V6Forms) {
  struct row {
    std::string_view text;
    std::string_view canonical;
  };
  for (const auto& r : std::vector<row>{
           {"::", "::"},
           {"::1", "::1"},
           {"0:0:0:0:0:0:0:1", "::1"},
           {"2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
           {"2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"},
           {"fe80::1", "fe80::1"},
           {"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
           {"::ffff:7f00:1", "::ffff:127.0.0.1"},
           {"64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe"},
           {"2606:4700::1111", "2606:4700::1111"},
       }) {
    auto a = ip_address::parse(r.text);
    ASSERT_TRUE(a) << r.text;
    EXPECT_TRUE(a->is_v6) << r.text;
    EXPECT_EQ(a->to_string(), r.canonical) << r.text;
  }
  auto mapped = *ip_address::parse("::ffff:1.2.3.4");
  EXPECT_EQ(mapped.bytes[10], 0xff);
  EXPECT_EQ(mapped.bytes[11], 0xff);
  EXPECT_EQ(mapped.bytes[12], 1);
  EXPECT_EQ(mapped.bytes[15], 4);
}

// ---- ip_address::parse_legacy_ipv4 -------------------------------------------------------------

TEST(IpAddressLegacy, InetAtonSpellings) {
  struct row {
    std::string_view text;
    std::string_view address;
  };
  for (const auto& r : std::vector<row>{
           {"127.1", "127.0.0.1"},
           {"2130706433", "127.0.0.1"},
           {"0x7f000001", "127.0.0.1"},
           {"0X7F000001", "127.0.0.1"},
           {"0177.0.0.1", "127.0.0.1"},
           {"0x7f.1", "127.0.0.1"},
           {"0x7f.0.0.0x1", "127.0.0.1"},
           {"127.0.1", "127.0.0.1"},
           {"127.0.0.1", "127.0.0.1"},
           {"127.1.", "127.0.0.1"},  // one trailing dot, as browsers read it
           {"0", "0.0.0.0"},
           {"0x", "0.0.0.0"},  // glibc reads a bare 0x as zero
           {"4294967295", "255.255.255.255"},
           {"10.16777215", "10.255.255.255"},
           {"169.254.43518", "169.254.169.254"},
           {"0251.0376.0251.0376", "169.254.169.254"},
           {"1.2.3.4", "1.2.3.4"},
       }) {
    auto a = ip_address::parse_legacy_ipv4(r.text);
    ASSERT_TRUE(a) << r.text;
    EXPECT_FALSE(a->is_v6);
    EXPECT_EQ(a->to_string(), r.address) << r.text;
  }
}

TEST(IpAddressLegacy, NotNumbers) {
  for (std::string_view text : {"",
                                ".",
                                "example.com",
                                "127.0.0.1.1",
                                "4294967296",
                                "0x100000000",
                                "256.1",
                                "1.256.1",
                                "1.2.65536",
                                "1.2.3.256",
                                "1.16777216",
                                "08",
                                "0178.0.0.1",
                                "0xg",
                                "1..1",
                                ".1",
                                "127.1..",
                                "-1",
                                "+1",
                                "1 ",
                                "1e3",
                                "::1",
                                "99999999999999999999"}) {
    EXPECT_FALSE(ip_address::parse_legacy_ipv4(text).has_value()) << "'" << text << "'";
  }
}

// ---- ip_network ------------------------------------------------------------------------------

TEST(IpNetwork, ParseAndContains) {
  auto n = net("10.0.0.0/8");
  EXPECT_EQ(n.prefix_length, 8);
  EXPECT_EQ(n.to_string(), "10.0.0.0/8");
  EXPECT_TRUE(n.contains(addr("10.0.0.0")));
  EXPECT_TRUE(n.contains(addr("10.255.255.255")));
  EXPECT_FALSE(n.contains(addr("11.0.0.0")));
  EXPECT_FALSE(n.contains(addr("9.255.255.255")));
  EXPECT_FALSE(n.contains(addr("::ffff:10.0.0.1")));  // families never mix

  auto odd = net("100.64.0.0/10");
  EXPECT_TRUE(odd.contains(addr("100.127.255.255")));
  EXPECT_FALSE(odd.contains(addr("100.128.0.0")));

  auto host = net("192.0.2.7");
  EXPECT_EQ(host.prefix_length, 32);
  EXPECT_TRUE(host.contains(addr("192.0.2.7")));
  EXPECT_FALSE(host.contains(addr("192.0.2.8")));

  auto v6host = net("::1");
  EXPECT_EQ(v6host.prefix_length, 128);
  EXPECT_EQ(v6host.to_string(), "::1/128");
  EXPECT_TRUE(v6host.contains(addr("::1")));
  EXPECT_FALSE(v6host.contains(addr("::2")));
  EXPECT_FALSE(v6host.contains(addr("127.0.0.1")));

  auto all4 = net("0.0.0.0/0");
  EXPECT_TRUE(all4.contains(addr("8.8.8.8")));
  EXPECT_FALSE(all4.contains(addr("::1")));
  auto all6 = net("::/0");
  EXPECT_TRUE(all6.contains(addr("2606:4700::1111")));

  auto fe80 = net("fe80::/10");
  EXPECT_TRUE(fe80.contains(addr("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(fe80.contains(addr("fec0::")));
}

TEST(IpNetwork, HostBitsAreMasked) {
  auto n = net("10.1.2.3/8");
  EXPECT_EQ(n.to_string(), "10.0.0.0/8");
  EXPECT_TRUE(n.contains(addr("10.200.0.1")));
  auto v6 = net("2001:db8::1/32");
  EXPECT_EQ(v6.to_string(), "2001:db8::/32");
  auto odd = net("172.31.255.255/12");
  EXPECT_EQ(odd.to_string(), "172.16.0.0/12");
}

TEST(IpNetwork, ParseErrors) {
  for (std::string_view text :
       {"", "/", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/+8",
        "10.0.0.0/8/8", "10.0.0.0/08", "10.0.0.0/1000", "10.0.0.0/a", "10.0.0.0 /8", "10.0.0.0/ 8",
        "garbage", "garbage/8", "10.0.0/8", "10.0.0.0.0/8", "::1/12a"}) {
    EXPECT_FALSE(ip_network::parse(text).has_value()) << "'" << text << "'";
  }
  EXPECT_TRUE(ip_network::parse("10.0.0.0/32"));
  EXPECT_TRUE(ip_network::parse("10.0.0.0/0"));
  EXPECT_TRUE(ip_network::parse("::/128"));
}

// ---- address_policy --------------------------------------------------------------------------

struct refusal_row {
  std::string_view address;
  std::string_view reason;  // empty: allowed
};

void expect_rows(const address_policy& policy, const std::vector<refusal_row>& rows) {
  for (const auto& r : rows) {
    auto reason = policy.refusal(addr(r.address));
    if (r.reason.empty()) {
      EXPECT_FALSE(reason.has_value()) << r.address << " refused: " << reason.value_or("");
    } else {
      ASSERT_TRUE(reason.has_value()) << r.address << " allowed";
      EXPECT_EQ(*reason, r.reason) << r.address;
    }
  }
}

// Both edges of every IPv4 range, and the neighbours just outside it.
TEST(AddressPolicy, Ipv4RangesAndEdges) {
  expect_rows(
      address_policy{},
      {
          {"0.0.0.0", "0.0.0.0 is in 0.0.0.0/8 (this network)"},
          {"0.255.255.255", "0.255.255.255 is in 0.0.0.0/8 (this network)"},
          {"1.0.0.0", ""},
          {"9.255.255.255", ""},
          {"10.0.0.0", "10.0.0.0 is in 10.0.0.0/8 (private)"},
          {"10.255.255.255", "10.255.255.255 is in 10.0.0.0/8 (private)"},
          {"11.0.0.0", ""},
          {"100.63.255.255", ""},
          {"100.64.0.0", "100.64.0.0 is in 100.64.0.0/10 (shared CGNAT)"},
          {"100.127.255.255", "100.127.255.255 is in 100.64.0.0/10 (shared CGNAT)"},
          {"100.128.0.0", ""},
          {"126.255.255.255", ""},
          {"127.0.0.0", "127.0.0.0 is in 127.0.0.0/8 (loopback)"},
          {"127.0.0.1", "127.0.0.1 is in 127.0.0.0/8 (loopback)"},
          {"127.255.255.255", "127.255.255.255 is in 127.0.0.0/8 (loopback)"},
          {"128.0.0.0", ""},
          {"169.253.255.255", ""},
          {"169.254.0.0", "169.254.0.0 is in 169.254.0.0/16 (link-local (cloud metadata))"},
          {"169.254.169.254", "169.254.169.254 is in 169.254.0.0/16 (link-local (cloud metadata))"},
          {"169.254.255.255", "169.254.255.255 is in 169.254.0.0/16 (link-local (cloud metadata))"},
          {"169.255.0.0", ""},
          {"172.15.255.255", ""},
          {"172.16.0.0", "172.16.0.0 is in 172.16.0.0/12 (private)"},
          {"172.31.255.255", "172.31.255.255 is in 172.16.0.0/12 (private)"},
          {"172.32.0.0", ""},
          {"191.255.255.255", ""},
          {"192.0.0.0", "192.0.0.0 is in 192.0.0.0/24 (IETF protocol assignments)"},
          {"192.0.0.255", "192.0.0.255 is in 192.0.0.0/24 (IETF protocol assignments)"},
          {"192.0.1.0", ""},
          {"192.0.1.255", ""},
          {"192.0.2.0", "192.0.2.0 is in 192.0.2.0/24 (documentation)"},
          {"192.0.2.255", "192.0.2.255 is in 192.0.2.0/24 (documentation)"},
          {"192.0.3.0", ""},
          {"192.88.98.255", ""},
          {"192.88.99.0", "192.88.99.0 is in 192.88.99.0/24 (6to4 relay anycast (deprecated))"},
          {"192.88.99.255", "192.88.99.255 is in 192.88.99.0/24 (6to4 relay anycast (deprecated))"},
          {"192.88.100.0", ""},
          {"192.167.255.255", ""},
          {"192.168.0.0", "192.168.0.0 is in 192.168.0.0/16 (private)"},
          {"192.168.255.255", "192.168.255.255 is in 192.168.0.0/16 (private)"},
          {"192.169.0.0", ""},
          {"198.17.255.255", ""},
          {"198.18.0.0", "198.18.0.0 is in 198.18.0.0/15 (benchmarking)"},
          {"198.19.255.255", "198.19.255.255 is in 198.18.0.0/15 (benchmarking)"},
          {"198.20.0.0", ""},
          {"198.51.99.255", ""},
          {"198.51.100.0", "198.51.100.0 is in 198.51.100.0/24 (documentation)"},
          {"198.51.100.255", "198.51.100.255 is in 198.51.100.0/24 (documentation)"},
          {"198.51.101.0", ""},
          {"203.0.112.255", ""},
          {"203.0.113.0", "203.0.113.0 is in 203.0.113.0/24 (documentation)"},
          {"203.0.113.255", "203.0.113.255 is in 203.0.113.0/24 (documentation)"},
          {"203.0.114.0", ""},
          {"223.255.255.255", ""},
          {"224.0.0.0", "224.0.0.0 is in 224.0.0.0/4 (multicast)"},
          {"239.255.255.255", "239.255.255.255 is in 224.0.0.0/4 (multicast)"},
          {"240.0.0.0", "240.0.0.0 is in 240.0.0.0/4 (reserved)"},
          {"255.255.255.254", "255.255.255.254 is in 240.0.0.0/4 (reserved)"},
          {"255.255.255.255", "255.255.255.255 is in 240.0.0.0/4 (reserved)"},
      });
}

TEST(AddressPolicy, Ipv6RangesAndEdges) {
  expect_rows(
      address_policy{},
      {
          {"::", ":: is in ::/128 (unspecified)"},
          {"::1", "::1 is in ::1/128 (loopback)"},
          {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
           "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff is outside 2000::/3 (reserved, not global "
           "unicast)"},
          {"fc00::", "fc00:: is in fc00::/7 (unique local)"},
          {"fd12:3456::1", "fd12:3456::1 is in fc00::/7 (unique local)"},
          {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
           "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff is in fc00::/7 (unique local)"},
          {"fe00::", "fe00:: is outside 2000::/3 (reserved, not global unicast)"},
          {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
           "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff is outside 2000::/3 (reserved, not global "
           "unicast)"},
          {"fe80::", "fe80:: is in fe80::/10 (link-local)"},
          {"fe80::1", "fe80::1 is in fe80::/10 (link-local)"},
          {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
           "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff is in fe80::/10 (link-local)"},
          {"fec0::", "fec0:: is in fec0::/10 (site-local)"},
          {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
           "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff is in fec0::/10 (site-local)"},
          {"ff00::", "ff00:: is in ff00::/8 (multicast)"},
          {"ff02::1", "ff02::1 is in ff00::/8 (multicast)"},
          {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
           "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff is in ff00::/8 (multicast)"},
          {"ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
           "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff is outside 2000::/3 (reserved, not global "
           "unicast)"},
          {"100::", "100:: is in 100::/64 (discard-only)"},
          {"100::ffff:ffff:ffff:ffff", "100::ffff:ffff:ffff:ffff is in 100::/64 (discard-only)"},
          {"100:0:0:1::", "100:0:0:1:: is outside 2000::/3 (reserved, not global unicast)"},
          {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", ""},
          {"2001:db8::", "2001:db8:: is in 2001:db8::/32 (documentation)"},
          {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
           "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff is in 2001:db8::/32 (documentation)"},
          {"2001:db9::", ""},
          {"2001:2::1", "2001:2::1 is in 2001:2::/48 (benchmarking)"},
          {"2001:2:1::", ""},
          {"2001:10::1", "2001:10::1 is in 2001:10::/28 (ORCHID)"},
          {"2001:2f::1", "2001:2f::1 is in 2001:20::/28 (ORCHIDv2)"},
          {"2001:30::1", ""},
          {"3fff::1", "3fff::1 is in 3fff::/20 (documentation)"},
          {"3fff:1000::", ""},
          {"5f00::1", "5f00::1 is in 5f00::/16 (SRv6 SIDs)"},
          // Outside 2000::/3 and not an embedding form: reserved by the IETF.
          {"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
           "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff is outside 2000::/3 (reserved, not global "
           "unicast)"},
          {"2000::", ""},
          {"3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
          {"4000::", "4000:: is outside 2000::/3 (reserved, not global unicast)"},
          {"::1:0:0:1", "::1:0:0:1 is outside 2000::/3 (reserved, not global unicast)"},
      });
}

TEST(AddressPolicy, PublicAddressesAllowed) {
  expect_rows(address_policy{}, {
                                    {"8.8.8.8", ""},
                                    {"1.1.1.1", ""},
                                    {"93.184.216.34", ""},
                                    {"2606:4700::1111", ""},
                                    {"2a00:1450:4001:81c::200e", ""},
                                    {"::ffff:8.8.8.8", ""},
                                    {"64:ff9b::808:808", ""},
                                    {"2002:808:808::1", ""},
                                });
}

// IPv4 spelled the old ways reaches the same address, so it meets the same refusal.
TEST(AddressPolicy, LegacySpellingsRefused) {
  address_policy policy;
  for (std::string_view text :
       {"127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1", "127.0.1"}) {
    auto a = ip_address::parse_legacy_ipv4(text);
    ASSERT_TRUE(a) << text;
    EXPECT_EQ(policy.refusal(*a), "127.0.0.1 is in 127.0.0.0/8 (loopback)") << text;
  }
  auto metadata = ip_address::parse_legacy_ipv4("2852039166");
  ASSERT_TRUE(metadata);
  EXPECT_EQ(policy.refusal(*metadata),
            "169.254.169.254 is in 169.254.0.0/16 (link-local (cloud metadata))");
}

TEST(AddressPolicy, EmbeddedIpv4JudgedAsIpv4) {
  expect_rows(
      address_policy{},
      {
          // mapped ::ffff:0:0/96
          {"::ffff:7f00:1",
           "::ffff:127.0.0.1 embeds 127.0.0.1, which is in 127.0.0.0/8 (loopback)"},
          {"::ffff:10.1.2.3", "::ffff:10.1.2.3 embeds 10.1.2.3, which is in 10.0.0.0/8 (private)"},
          {"::ffff:169.254.169.254",
           "::ffff:169.254.169.254 embeds 169.254.169.254, which is in "
           "169.254.0.0/16 (link-local (cloud metadata))"},
          {"::ffff:0.0.0.0", "::ffff:0.0.0.0 embeds 0.0.0.0, which is in 0.0.0.0/8 (this network)"},
          // compatible ::/96
          {"::127.0.0.1", "::127.0.0.1 embeds 127.0.0.1, which is in 127.0.0.0/8 (loopback)"},
          {"::192.168.0.1",
           "::192.168.0.1 embeds 192.168.0.1, which is in 192.168.0.0/16 (private)"},
          {"::2", "::2 embeds 0.0.0.2, which is in 0.0.0.0/8 (this network)"},
          // NAT64 64:ff9b::/96
          {"64:ff9b::a9fe:a9fe",
           "64:ff9b::a9fe:a9fe embeds 169.254.169.254, which is in "
           "169.254.0.0/16 (link-local (cloud metadata))"},
          {"64:ff9b::7f00:1",
           "64:ff9b::7f00:1 embeds 127.0.0.1, which is in 127.0.0.0/8 (loopback)"},
          // local-use NAT64 64:ff9b:1::/48: the IPv4 is in the last 32 bits
          {"64:ff9b:1::a00:1",
           "64:ff9b:1::a00:1 embeds 10.0.0.1, which is in 10.0.0.0/8 (private)"},
          {"64:ff9b:1:ffff:ffff:ffff:7f00:1",
           "64:ff9b:1:ffff:ffff:ffff:7f00:1 embeds 127.0.0.1, which is in 127.0.0.0/8 (loopback)"},
          {"64:ff9b:1::808:808", ""},
          // 6to4 2002::/16: bits 16..47
          {"2002:a9fe:a9fe::",
           "2002:a9fe:a9fe:: embeds 169.254.169.254, which is in "
           "169.254.0.0/16 (link-local (cloud metadata))"},
          {"2002:7f00:1::1", "2002:7f00:1::1 embeds 127.0.0.1, which is in 127.0.0.0/8 (loopback)"},
          // Teredo 2001::/32: client = last 32 bits inverted (127.0.0.1 -> 80ff:fffe)
          {"2001:0:4136:e378:8000:63bf:80ff:fffe",
           "2001:0:4136:e378:8000:63bf:80ff:fffe embeds 127.0.0.1, which is in 127.0.0.0/8 "
           "(loopback)"},
          {"2001:0:4136:e378:8000:63bf:f5ff:fffe",
           "2001:0:4136:e378:8000:63bf:f5ff:fffe embeds 10.0.0.1, which is in 10.0.0.0/8 "
           "(private)"},
          // Teredo with a public client (8.8.8.8 inverted) but a private server at bits 32..63
          {"2001:0:a00:1::f7f7:f7f7",
           "2001:0:a00:1::f7f7:f7f7 embeds 10.0.0.1, which is in 10.0.0.0/8 (private)"},
          // Teredo with public server and client
          {"2001:0:4136:e378:8000:63bf:f7f7:f7f7", ""},
          // just outside the embedding prefixes: ordinary global addresses
          {"64:ff9b:2::7f00:1",
           "64:ff9b:2::7f00:1 is outside 2000::/3 (reserved, not global unicast)"},
          {"2003:7f00:1::", ""},
          {"2001:1::7f00:1", ""},
      });
}

TEST(AddressPolicy, AllowListExempts) {
  address_policy policy({net("127.0.0.0/8")});
  expect_rows(
      policy,
      {
          {"127.0.0.1", ""},
          {"127.255.255.255", ""},
          {"::ffff:127.0.0.1", ""},
          {"::127.0.0.1", ""},
          {"10.0.0.1", "10.0.0.1 is in 10.0.0.0/8 (private)"},
          {"::1", "::1 is in ::1/128 (loopback)"},
          {"::ffff:10.0.0.1", "::ffff:10.0.0.1 embeds 10.0.0.1, which is in 10.0.0.0/8 (private)"},
          {"169.254.169.254", "169.254.169.254 is in 169.254.0.0/16 (link-local (cloud metadata))"},
      });

  address_policy v6_loopback({net("::1/128")});
  expect_rows(v6_loopback, {
                               {"::1", ""},
                               {"127.0.0.1", "127.0.0.1 is in 127.0.0.0/8 (loopback)"},
                               {"fe80::1", "fe80::1 is in fe80::/10 (link-local)"},
                           });

  // A single host, and an IPv6 network that contains an embedding address as given.
  address_policy narrow({net("10.0.0.5"), net("fd00::/16"), net("::ffff:192.168.0.0/112")});
  expect_rows(narrow, {
                          {"10.0.0.5", ""},
                          {"10.0.0.6", "10.0.0.6 is in 10.0.0.0/8 (private)"},
                          {"fd00::1", ""},
                          {"fd01::1", "fd01::1 is in fc00::/7 (unique local)"},
                          {"::ffff:192.168.3.4", ""},
                          {"192.168.3.4", "192.168.3.4 is in 192.168.0.0/16 (private)"},
                      });
}

}  // namespace
}  // namespace image_gateway
