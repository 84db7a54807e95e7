// libFuzzer target: URL and address parsing and the address policy on arbitrary text; a URL the
// policy accepts is one libcurl connects to exactly as the policy judged it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "image_gateway/fetch/address_policy.hpp"
#include "image_gateway/fetch/url_policy.hpp"
#include "image_gateway/http_client/url_parser.hpp"

namespace {

using namespace image_gateway;

const address_policy& default_policy() {
  static const address_policy policy;
  return policy;
}

const address_policy& loopback_allowed() {
  static const address_policy policy(
      {*ip_network::parse("127.0.0.0/8"), *ip_network::parse("::1/128")});
  return policy;
}

// Every parsed address: printable, parses back to itself, and judged by both policies.
void judge(const ip_address& address) {
  const std::string text = address.to_string();
  const auto again = ip_address::parse(text);
  if (!again || !(*again == address)) __builtin_trap();
  (void)default_policy().refusal(address);
  (void)loopback_allowed().refusal(address);
}

// What libcurl connects to when handed the URL the policy accepted must be what the policy judged:
// the normalised URL, parsed again, has the same scheme, host and port, and is stable.
void same_target_for_curl(const url_parts& parts) {
  const curl_url_result again = parse_url_with_curl(parts.normalised);
  if (!again.parts) __builtin_trap();
  std::string host = again.parts->host;
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  for (char& c : host) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (again.parts->scheme != parts.scheme || host != parts.host ||
      again.parts->port != parts.port || again.parts->has_userinfo ||
      !again.parts->zone_id.empty() || again.parts->normalised != parts.normalised) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto refusal = url_refusal(text);
  const auto parts = parse_url(text);
  // A URL the policy accepts is one parse_url understands, with an http(s) scheme.
  if (!refusal && !parts) __builtin_trap();
  if (!refusal) {
    // No host the policy accepts is percent-encoded: curl would decode it, a filter might not.
    const std::string_view rest = text.substr(text.find("://") + 3);
    if (rest.substr(0, rest.find_first_of("/?#")).find('%') != std::string_view::npos) {
      __builtin_trap();
    }
    // A redirect to the same URL is judged as the URL itself.
    if (redirect_refusal("http://example.com/", text) != refusal) __builtin_trap();
  }
  if (parts) {
    if (parts->scheme != "http" && parts->scheme != "https") __builtin_trap();
    same_target_for_curl(*parts);
    if (const auto address = ip_address::parse(parts->host)) judge(*address);
    if (const auto legacy = ip_address::parse_legacy_ipv4(parts->host)) judge(*legacy);
  }
  if (const auto address = ip_address::parse(text)) judge(*address);
  if (const auto legacy = ip_address::parse_legacy_ipv4(text)) judge(*legacy);
  if (const auto network = ip_network::parse(text)) {
    // The base of a network is inside it, and its text parses back to the same network.
    if (!network->contains(network->base)) __builtin_trap();
    const auto again = ip_network::parse(network->to_string());
    if (!again || !(again->base == network->base) ||
        again->prefix_length != network->prefix_length) {
      __builtin_trap();
    }
    (void)address_policy({*network}).refusal(network->base);
  }
  return 0;
}
