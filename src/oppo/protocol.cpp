#include "image_gateway/oppo/protocol.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "image_gateway/util/sha256.hpp"
#include "image_gateway/util/strings.hpp"

namespace image_gateway::oppo {

namespace {

using json = nlohmann::json;

std::string_view strip_one_slash(std::string_view base) {
  if (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return base;
}

// OPPO's message cut to a bounded size without splitting a UTF-8 sequence (the JSON parser
// already refused invalid UTF-8, so a cut at a lead byte keeps it valid).
std::string cap_message(std::string_view message) {
  if (message.size() <= max_upstream_message_bytes) return std::string(message);
  std::size_t end = max_upstream_message_bytes;
  while (end > 0 && (static_cast<unsigned char>(message[end]) & 0xC0) == 0x80) --end;
  return std::string(message.substr(0, end));
}

// create_time in milliseconds, clamped so the conversion to system_clock cannot overflow
// (nanoseconds in int64 reach year 2262); nullopt when it is neither a number nor digits.
std::optional<std::int64_t> create_time_ms(const json& value) {
  constexpr std::int64_t limit = 9'000'000'000'000;  // ms, about year 2255
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    return v > static_cast<std::uint64_t>(limit) ? limit : static_cast<std::int64_t>(v);
  }
  if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    return std::clamp(v, std::int64_t{0}, limit);  // before 1970 is as absurd as 2255
  }
  if (value.is_number_float()) {
    const double v = value.get<double>();
    if (std::isnan(v)) return std::nullopt;
    return static_cast<std::int64_t>(std::clamp(v, 0.0, 9e12));
  }
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc::result_out_of_range) return limit;
    if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
    return std::min(v, limit);
  }
  return std::nullopt;
}

// The common envelope: {"code":N,"message":"…","data":{…}}. On code 0 returns the JSON object,
// otherwise the failure.
std::variant<json, oppo_failure, parse_failure> parse_envelope(std::string_view body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return parse_failure{"the answer is not JSON"};
  if (!doc.is_object()) return parse_failure{"the answer is not a JSON object"};
  const auto code_it = doc.find("code");
  if (code_it == doc.end()) return parse_failure{"the answer has no \"code\""};
  if (!code_it->is_number_integer()) return parse_failure{"\"code\" is not an integer"};
  std::int64_t code = 0;
  if (code_it->is_number_unsigned()) {
    const auto v = code_it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
      return parse_failure{"\"code\" is out of range"};
    }
    code = static_cast<std::int64_t>(v);
  } else {
    code = code_it->get<std::int64_t>();
    if (code < std::numeric_limits<int>::min() || code > std::numeric_limits<int>::max()) {
      return parse_failure{"\"code\" is out of range"};
    }
  }
  if (code != 0) {
    std::string message;
    const auto message_it = doc.find("message");
    if (message_it != doc.end() && message_it->is_string()) {
      message = cap_message(message_it->get_ref<const std::string&>());
    }
    return oppo_failure{static_cast<int>(code), std::move(message)};
  }
  return doc;
}

const json* data_field(const json& doc, std::string_view name) {
  const auto data_it = doc.find("data");
  if (data_it == doc.end() || !data_it->is_object()) return nullptr;
  const auto field_it = data_it->find(name);
  if (field_it == data_it->end()) return nullptr;
  return &*field_it;
}

}  // namespace

std::string auth_sign(std::string_view app_key, std::int64_t timestamp_ms,
                      std::string_view master_secret) {
  std::string input;
  input.reserve(app_key.size() + 20 + master_secret.size());
  input.append(app_key);
  input.append(std::to_string(timestamp_ms));
  input.append(master_secret);
  return sha256_hex(input);
}

std::string auth_form_body(std::string_view app_key, std::string_view master_secret,
                           std::int64_t timestamp_ms) {
  std::string body = "app_key=";
  body += form_url_encode(app_key);
  body += "&timestamp=";
  body += std::to_string(timestamp_ms);
  body += "&sign=";
  body += auth_sign(app_key, timestamp_ms, master_secret);
  return body;
}

std::string upload_url(std::string_view media_base_url, image_kind kind) {
  std::string url(strip_one_slash(media_base_url));
  url += "/server/v1/media/upload/";
  url += kind_name(kind);
  return url;
}

std::string auth_url(std::string_view auth_base_url) {
  std::string url(strip_one_slash(auth_base_url));
  url += "/server/v1/auth";
  return url;
}

code_class classify(int oppo_code) {
  switch (oppo_code) {
    case 0:
      return code_class::success;
    case 11:
    case 29:
      return code_class::token_bad;
    case 14:
    case 15:
    case 16:
    case 17:
    case 18:
    case 19:
    case 26:
    case 27:
    case 28:
    case 30:
      return code_class::credentials;
    case -1:
    case -2:
    case 13:
    case 55:
      return code_class::transient;
    default:
      return code_class::business;
  }
}

system_time token_expiry(system_time create_time, system_time arrival) {
  // A create_time we cannot trust (ahead of our clock, or older than a token can live) says
  // nothing about the end; count from arrival. Otherwise create_time + 24 h is the earlier end.
  if (create_time > arrival || create_time < arrival - token_lifetime) {
    return arrival + token_lifetime;
  }
  return create_time + token_lifetime;
}

std::variant<auth_token, oppo_failure, parse_failure> parse_auth_answer(std::string_view body,
                                                                        system_time arrival) {
  auto envelope = parse_envelope(body);
  if (auto* failure = std::get_if<oppo_failure>(&envelope)) return std::move(*failure);
  if (auto* failure = std::get_if<parse_failure>(&envelope)) return std::move(*failure);
  const json& doc = std::get<json>(envelope);

  const json* token = data_field(doc, "auth_token");
  if (token == nullptr || !token->is_string() || token->get_ref<const std::string&>().empty()) {
    return parse_failure{"the auth answer has no data.auth_token string"};
  }
  const json* created = data_field(doc, "create_time");
  if (created == nullptr) return parse_failure{"the auth answer has no data.create_time"};
  const auto created_ms = create_time_ms(*created);
  if (!created_ms) return parse_failure{"data.create_time is not a number of milliseconds"};

  const system_time create_time{
      std::chrono::duration_cast<system_time::duration>(std::chrono::milliseconds(*created_ms))};
  return auth_token{token->get<std::string>(), token_expiry(create_time, arrival)};
}

std::variant<std::string, oppo_failure, parse_failure> parse_upload_answer(std::string_view body,
                                                                           image_kind kind) {
  auto envelope = parse_envelope(body);
  if (auto* failure = std::get_if<oppo_failure>(&envelope)) return std::move(*failure);
  if (auto* failure = std::get_if<parse_failure>(&envelope)) return std::move(*failure);
  const json& doc = std::get<json>(envelope);

  const std::string field = std::string(kind_name(kind)) + "_id";
  const json* id = data_field(doc, field);
  if (id == nullptr || !id->is_string() || id->get_ref<const std::string&>().empty()) {
    return parse_failure{"the upload answer has no data." + field + " string"};
  }
  return id->get<std::string>();
}

api_error error_for_oppo_failure(const oppo_failure& failure, std::string_view what) {
  const std::string message = cap_message(failure.message);
  const std::string code_text =
      "(code " + std::to_string(failure.code) + (message.empty() ? "" : ": " + message) + ")";
  // Every one of these is an OPPO answer with OPPO's own code: all carry `upstream`
  // (docs/api.md#errors).
  const upstream_status upstream{failure.code, message};
  switch (classify(failure.code)) {
    case code_class::credentials:
      return api_error{
          error_kind::upstream_credentials,
          "OPPO refused the gateway's credentials for " + std::string(what) + " " + code_text,
          upstream};
    case code_class::token_bad:
      return api_error{error_kind::upstream_credentials,
                       "OPPO refused the gateway's auth token for " + std::string(what) +
                           " again after a refresh " + code_text,
                       upstream};
    case code_class::transient:
      return api_error{error_kind::upstream_unavailable,
                       "OPPO was unavailable for " + std::string(what) + " " + code_text, upstream};
    case code_class::business:
      return api_error{error_kind::upstream_rejected,
                       "OPPO refused " + std::string(what) + " " + code_text, upstream};
    case code_class::success:
      break;
  }
  return api_error{error_kind::upstream_bad_answer,
                   "OPPO answered " + std::string(what) + " with code 0 but no result",
                   std::nullopt};
}

}  // namespace image_gateway::oppo
