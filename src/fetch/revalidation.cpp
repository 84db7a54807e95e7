#include "image_gateway/fetch/revalidation.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>
#include <vector>

#include "image_gateway/util/strings.hpp"

namespace image_gateway {
namespace {

// A Cache-Control directive by name, whatever its case or argument ("private="x"").
bool has_directive(std::string_view cache_control, std::string_view name) {
  while (!cache_control.empty()) {
    const auto comma = cache_control.find(',');
    std::string_view item = trim_spaces_and_tabs(cache_control.substr(0, comma));
    item = trim_spaces_and_tabs(item.substr(0, item.find('=')));
    if (iequals(item, name)) return true;
    if (comma == std::string_view::npos) break;
    cache_control.remove_prefix(comma + 1);
  }
  return false;
}

// A strong entity tag: one quoted string of etagc characters (RFC 9110 §8.8.3), no W/.
bool strong_etag(std::string_view etag) {
  if (etag.size() < 2 || etag.front() != '"' || etag.back() != '"') return false;
  for (const char c : etag.substr(1, etag.size() - 2)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte == '"' || byte < 0x21 || byte == 0x7f) return false;
  }
  return true;
}

int number(std::string_view text) {
  int value = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return -1;
  return value;
}

// A token character (RFC 9110 §5.6.2).
bool token_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (std::isalnum(byte) != 0) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// One Cache-Control directive: its name and its argument (without quotes), if it has one.
struct directive {
  std::string_view name;
  std::optional<std::string_view> argument;
};

// A Cache-Control value as its directives: #( token [ "=" ( token / quoted-string ) ] ), empty
// elements allowed; nullopt for anything else (an unterminated quote, a stray character...).
std::optional<std::vector<directive>> split_directives(std::string_view text) {
  std::vector<directive> found;
  std::size_t i = 0;
  const auto skip_spaces = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  const auto token = [&] {
    const std::size_t start = i;
    while (i < text.size() && token_char(text[i])) ++i;
    return text.substr(start, i - start);
  };
  for (skip_spaces(); i < text.size(); skip_spaces()) {
    if (text[i] == ',') {
      ++i;
      continue;
    }
    directive& item = found.emplace_back();
    item.name = token();
    if (item.name.empty()) return std::nullopt;
    if (i < text.size() && text[i] == '=') {
      ++i;
      if (i < text.size() && text[i] == '"') {
        const std::size_t start = ++i;
        while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
        if (i >= text.size()) return std::nullopt;
        item.argument = text.substr(start, i - start);
        ++i;
      } else {
        item.argument = token();
        if (item.argument->empty()) return std::nullopt;
      }
    }
    skip_spaces();
    if (i < text.size() && text[i] != ',') return std::nullopt;
  }
  return found;
}

// delta-seconds (1*DIGIT), a value too large to hold counting as 2^31 (RFC 9111 §1.2.2).
std::optional<long long> delta_seconds(std::string_view text) {
  constexpr long long most = 2147483648LL;
  if (text.empty()) return std::nullopt;
  long long value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = std::min(most, value * 10 + (c - '0'));
  }
  return value;
}

}  // namespace

std::optional<std::chrono::seconds> freshness_left(const origin_answer& answer, long long now_s) {
  if (answer.redirects > 0) return std::nullopt;
  const auto directives = split_directives(answer.cache_control);
  if (!directives) return std::nullopt;
  std::optional<long long> shared_max_age;
  std::optional<long long> max_age;
  for (const directive& item : *directives) {
    if (iequals(item.name, "no-store") || iequals(item.name, "no-cache") ||
        iequals(item.name, "private")) {
      return std::nullopt;
    }
    std::optional<long long>* slot = iequals(item.name, "s-maxage")  ? &shared_max_age
                                     : iequals(item.name, "max-age") ? &max_age
                                                                     : nullptr;
    if (slot == nullptr) continue;
    const auto seconds = item.argument ? delta_seconds(*item.argument) : std::nullopt;
    if (!seconds || (*slot && **slot != *seconds)) return std::nullopt;
    *slot = seconds;
  }
  std::optional<long long> date;
  if (!trim_spaces_and_tabs(answer.date).empty()) {
    date = parse_http_date(answer.date);
    if (!date) return std::nullopt;
  }
  long long lifetime = 0;
  if (shared_max_age) {
    lifetime = *shared_max_age;
  } else if (max_age) {
    lifetime = *max_age;
  } else if (!trim_spaces_and_tabs(answer.expires).empty()) {
    const auto expires = parse_http_date(answer.expires);
    if (!expires) return std::nullopt;
    lifetime = *expires - date.value_or(now_s);
  } else {
    return std::nullopt;
  }
  long long age = date ? std::max(0LL, now_s - *date) : 0;
  if (const auto stated = trim_spaces_and_tabs(answer.age); !stated.empty()) {
    const auto seconds = delta_seconds(stated);
    if (!seconds) return std::nullopt;
    age = std::max(age, *seconds);
  }
  if (lifetime <= age) return std::nullopt;
  return std::chrono::seconds(lifetime - age);
}

std::optional<long long> parse_http_date(std::string_view text) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions.
  text = trim_spaces_and_tabs(text);
  static constexpr std::array<std::string_view, 7> days = {"Sun", "Mon", "Tue", "Wed",
                                                           "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  bool day_ok = false;
  for (const auto day : days) day_ok = day_ok || text.substr(0, 3) == day;
  int month = -1;
  for (int i = 0; i < 12; ++i) {
    if (text.substr(8, 3) == months[static_cast<std::size_t>(i)]) month = i;
  }
  const int mday = number(text.substr(5, 2));
  const int year = number(text.substr(12, 4));
  const int hour = number(text.substr(17, 2));
  const int minute = number(text.substr(20, 2));
  const int second = number(text.substr(23, 2));
  if (!day_ok || month < 0 || mday < 1 || mday > 31 || year < 1970 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = mday;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<long long>(::timegm(&tm));
}

std::optional<validators> revalidatable(const origin_answer& answer) {
  if (answer.redirects > 0) return std::nullopt;
  if (has_directive(answer.cache_control, "no-store") ||
      has_directive(answer.cache_control, "private")) {
    return std::nullopt;
  }
  validators found;
  if (const auto etag = trim_spaces_and_tabs(answer.etag); strong_etag(etag))
    found.etag = std::string(etag);
  const auto modified = parse_http_date(answer.last_modified);
  const auto date = parse_http_date(answer.date);
  if (modified && date && *modified + 1 <= *date) {
    found.last_modified = std::string(trim_spaces_and_tabs(answer.last_modified));
  }
  if (found.empty()) return std::nullopt;
  return found;
}

revalidation_memo::revalidation_memo(std::size_t max_entries, clock::duration max_age)
    : max_entries_(max_entries), max_age_(max_age) {}

std::string revalidation_memo::key_of(std::string_view url, image_kind kind) {
  std::string key;
  key_into(key, url, kind);
  return key;
}

void revalidation_memo::key_into(std::string& key, std::string_view url, image_kind kind) {
  key.assign(kind_name(kind));
  key += '|';
  key += url;
}

std::optional<remembered_image> revalidation_memo::find(std::string_view url, image_kind kind,
                                                        clock::time_point now) {
  if (max_entries_ == 0) return std::nullopt;
  // Built in a buffer this thread keeps: a lookup allocates no key.
  thread_local std::string key;
  key_into(key, url, kind);
  const std::lock_guard lock(mutex_);
  const auto found = index_.find(key);
  if (found == index_.end()) return std::nullopt;
  const auto it = found->second;
  if (now >= it->expires_at) {
    index_.erase(found);
    lru_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it);
  return it->image;
}

void revalidation_memo::remember(std::string_view url, image_kind kind, remembered_image image,
                                 clock::time_point now) {
  if (max_entries_ == 0) return;
  // Without validators it is worth something only while fresh, and kept no longer.
  const clock::time_point expires_at =
      image.sent.empty() ? std::min(image.fresh_until, now + max_age_) : now + max_age_;
  if (expires_at <= now) return;
  std::string key = key_of(url, kind);
  const std::lock_guard lock(mutex_);
  if (const auto found = index_.find(key); found != index_.end()) {
    const auto it = found->second;
    it->image = std::move(image);
    it->expires_at = expires_at;
    lru_.splice(lru_.begin(), lru_, it);
    return;
  }
  lru_.push_front(entry{key, std::move(image), expires_at});
  index_.emplace(std::move(key), lru_.begin());
  while (lru_.size() > max_entries_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

void revalidation_memo::forget(std::string_view url, image_kind kind) {
  const std::string key = key_of(url, kind);
  const std::lock_guard lock(mutex_);
  if (const auto found = index_.find(key); found != index_.end()) {
    lru_.erase(found->second);
    index_.erase(found);
  }
}

void revalidation_memo::freshen(std::string_view url, image_kind kind, std::string_view sha256_hex,
                                clock::time_point fresh_until, std::string_view requester) {
  const std::string key = key_of(url, kind);
  const std::lock_guard lock(mutex_);
  const auto found = index_.find(key);
  if (found == index_.end() || found->second->image.sha256_hex != sha256_hex) return;
  found->second->image.fresh_until = fresh_until;
  found->second->image.fresh_for = requester;
}

std::size_t revalidation_memo::size() const {
  const std::lock_guard lock(mutex_);
  return lru_.size();
}

}  // namespace image_gateway
