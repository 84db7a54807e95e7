#include "image_gateway/oppo/fake_oppo.hpp"

#include <charconv>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <unordered_map>

#include "image_gateway/oppo/multipart.hpp"
#include "image_gateway/oppo/protocol.hpp"
#include "image_gateway/util/sha256.hpp"
#include "image_gateway/util/strings.hpp"

namespace image_gateway::oppo {

namespace {

using json = nlohmann::json;
using std::chrono::system_clock;

constexpr std::string_view auth_path = "/server/v1/auth";
constexpr std::string_view upload_prefix = "/server/v1/media/upload/";
constexpr long long max_picture_ttl_s = 2592000;

std::string_view message_for(int code) {
  switch (code) {
    case 0:
      return "success";
    case -1:
      return "Service Currently Unavailable";
    case -2:
      return "Service in Flow Control";
    case 11:
      return "Invalid AuthToken";
    case 12:
      return "Http Action Not Allowed";
    case 13:
      return "App Call Limited";
    case 14:
      return "Invalid App Key";
    case 15:
      return "Missing App Key";
    case 16:
      return "Invalid Signature";
    case 17:
      return "Missing Signature";
    case 18:
      return "Missing Timestamp";
    case 19:
      return "Invalid Timestamp";
    case 29:
      return "Missing Auth Token";
    case 33:
    case 34:
      return "The number of uploads exceeds the daily limit";
    case 40:
      return "Missing Required Arguments";
    case 41:
      return "Invalid Arguments";
    case 51:
      return "Picture Size Exceeds";
    case 55:
      return "Service Busy";
    default:
      return "Error";
  }
}

api_response answer(int status, json body) {
  api_response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = body.dump();
  return response;
}

api_response oppo_code(int code) {
  return answer(200, json{{"code", code}, {"message", message_for(code)}});
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             system_clock::now().time_since_epoch())
      .count();
}

template <class Int>
std::optional<Int> parse_decimal(std::string_view text) {
  Int value{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

bool ends_with_ci(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && iequals(text.substr(text.size() - suffix.size()), suffix);
}

// The media type of a Content-Type value, lower-cased, without parameters.
std::string media_type(std::string_view content_type) {
  const auto semi = content_type.find(';');
  std::string_view type = content_type.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  while (!type.empty() && type.front() == ' ') type.remove_prefix(1);
  return to_lower(type);
}

}  // namespace

struct fake_oppo::impl {
  explicit impl(options o) : settings(std::move(o)), random(std::random_device{}()) {}

  const options settings;
  mutable std::mutex mutex;
  std::mt19937_64 random;
  std::unordered_map<std::string, system_clock::time_point> tokens;  // token -> end of life
  std::deque<int> upload_script;
  std::deque<int> auth_script;
  std::chrono::milliseconds delay{0};
  std::uint64_t next_id = 1;
  counters stats;
  // The files of the latest accepted uploads by picture id, for tests to read back (bounded:
  // the sandbox runs for days).
  std::deque<std::pair<std::string, std::string>> recent_files;
  static constexpr std::size_t max_recent_files = 32;

  std::string random_hex(std::size_t length) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(length, '0');
    for (char& c : out) c = digits[random() & 0x0f];
    return out;
  }

  // Callers hold the mutex in the functions below.
  api_response auth(const api_request& request);
  api_response upload(const api_request& request, image_kind kind);
};

api_response fake_oppo::impl::auth(const api_request& request) {
  ++stats.auth_requests;
  if (!auth_script.empty()) {
    const int code = auth_script.front();
    auth_script.pop_front();
    if (code != 0) return oppo_code(code);
  }
  if (media_type(request.header("content-type")) != "application/x-www-form-urlencoded") {
    return oppo_code(41);
  }
  const auto fields = parse_form_urlencoded(request.body);
  if (!fields) return oppo_code(41);
  auto field = [&](std::string_view name) -> std::optional<std::string> {
    for (const auto& [key, value] : *fields) {
      if (key == name) return value;
    }
    return std::nullopt;
  };

  const auto app_key = field("app_key");
  if (!app_key || app_key->empty()) return oppo_code(15);
  const oppo_credentials* app = nullptr;
  for (const auto& candidate : settings.apps) {
    if (candidate.app_key == *app_key) app = &candidate;
  }
  if (app == nullptr) return oppo_code(14);

  const auto timestamp_text = field("timestamp");
  if (!timestamp_text || timestamp_text->empty()) return oppo_code(18);
  const auto timestamp = parse_decimal<std::int64_t>(*timestamp_text);
  if (!timestamp) return oppo_code(19);
  const std::int64_t now = now_ms();
  const std::int64_t window = settings.timestamp_window.count();
  if (*timestamp < now - window || *timestamp > now + window) return oppo_code(19);

  const auto sign = field("sign");
  if (!sign || sign->empty()) return oppo_code(17);
  if (!constant_time_equal(*sign, auth_sign(app->app_key, *timestamp, app->master_secret))) {
    return oppo_code(16);
  }

  if (tokens.size() > 4096)
    std::erase_if(tokens, [](const auto& t) { return t.second <= system_clock::now(); });
  std::string token = random_hex(32);
  tokens[token] = system_clock::now() + token_lifetime;
  return answer(200, json{{"code", 0},
                          {"message", "success"},
                          {"data", {{"auth_token", token}, {"create_time", now}}}});
}

api_response fake_oppo::impl::upload(const api_request& request, image_kind kind) {
  ++stats.upload_requests;
  const auto boundary = multipart_boundary(request.header("content-type"));
  std::optional<std::vector<multipart_part>> parts;
  if (boundary) parts = parse_multipart(request.body, *boundary);
  auto part = [&](std::string_view name) -> const multipart_part* {
    if (!parts) return nullptr;
    for (const auto& p : *parts) {
      if (p.name == name) return &p;
    }
    return nullptr;
  };
  const multipart_part* token = part("auth_token");
  stats.last_upload_token = token != nullptr ? token->data : std::string();

  if (!upload_script.empty()) {
    const int code = upload_script.front();
    upload_script.pop_front();
    if (code != 0) return oppo_code(code);
  }
  if (!parts) return oppo_code(41);

  if (token == nullptr || token->data.empty()) return oppo_code(29);
  const auto known = tokens.find(token->data);
  if (known == tokens.end() || known->second <= system_clock::now()) return oppo_code(11);

  const multipart_part* ttl_part = part("picture_ttl");
  const multipart_part* file = part("file");
  if (ttl_part == nullptr || file == nullptr) return oppo_code(40);
  const auto ttl = parse_decimal<long long>(ttl_part->data);
  if (!ttl || *ttl < 1 || *ttl > max_picture_ttl_s) return oppo_code(41);

  const std::span<const unsigned char> bytes(
      reinterpret_cast<const unsigned char*>(file->data.data()), file->data.size());
  const auto format = sniff_format(bytes);
  if (!format) return oppo_code(51);
  const bool name_matches =
      *format == image_format::png
          ? ends_with_ci(file->filename, ".png")
          : ends_with_ci(file->filename, ".jpg") || ends_with_ci(file->filename, ".jpeg");
  if (!name_matches || media_type(file->content_type) != mime_type(*format)) {
    return oppo_code(41);
  }
  const image_rule& rule = kind == image_kind::big ? settings.big : settings.small;
  if (!inspect_image(bytes, rule, "file").ok()) return oppo_code(51);

  ++stats.uploads_accepted;
  const std::string id = random_hex(16) + std::to_string(next_id++);
  recent_files.emplace_back(id, file->data);
  if (recent_files.size() > max_recent_files) recent_files.pop_front();
  return answer(200, json{{"code", 0},
                          {"message", "success"},
                          {"data", {{std::string(kind_name(kind)) + "_id", id}}}});
}

fake_oppo::fake_oppo(options settings) : impl_(std::make_unique<impl>(std::move(settings))) {}

fake_oppo::~fake_oppo() = default;

fake_reply fake_oppo::handle(const api_request& request) {
  std::lock_guard lock(impl_->mutex);
  fake_reply reply;
  reply.delay = impl_->delay;

  std::optional<image_kind> kind;
  const bool is_auth = request.path == auth_path;
  if (request.path.starts_with(upload_prefix)) {
    const std::string_view name = std::string_view(request.path).substr(upload_prefix.size());
    for (const image_kind k : all_image_kinds) {
      if (name == kind_name(k)) kind = k;
    }
  }
  if (!is_auth && !kind) {
    reply.response = answer(404, json{{"code", 404}, {"message", "Not Found"}});
  } else if (request.method != "POST") {
    reply.response = answer(405, json{{"code", 12}, {"message", message_for(12)}});
  } else if (is_auth) {
    reply.response = impl_->auth(request);
  } else {
    reply.response = impl_->upload(request, *kind);
  }
  return reply;
}

void fake_oppo::script_upload_codes(std::vector<int> codes) {
  std::lock_guard lock(impl_->mutex);
  impl_->upload_script.assign(codes.begin(), codes.end());
}

void fake_oppo::script_auth_codes(std::vector<int> codes) {
  std::lock_guard lock(impl_->mutex);
  impl_->auth_script.assign(codes.begin(), codes.end());
}

void fake_oppo::set_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(impl_->mutex);
  impl_->delay = delay;
}

void fake_oppo::revoke_tokens() {
  std::lock_guard lock(impl_->mutex);
  impl_->tokens.clear();
}

std::optional<std::string> fake_oppo::uploaded_file(const std::string& picture_id) const {
  std::lock_guard lock(impl_->mutex);
  for (const auto& [id, bytes] : impl_->recent_files) {
    if (id == picture_id) return bytes;
  }
  return std::nullopt;
}

fake_oppo::counters fake_oppo::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

}  // namespace image_gateway::oppo
