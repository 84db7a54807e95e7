#include "image_gateway/oppo/multipart.hpp"

#include "image_gateway/util/strings.hpp"

namespace image_gateway::oppo {

namespace {

constexpr std::string_view crlf = "\r\n";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// One `name=value` or `name="quoted \" value"` parameter of a header value.
struct header_param {
  std::string name;  // lower-cased
  std::string value;
};

// Splits `type; a=b; c="d;e"` into the leading token and its parameters; nullopt when a quoted
// string is not closed.
std::optional<std::pair<std::string, std::vector<header_param>>> split_header_value(
    std::string_view value) {
  std::vector<header_param> params;
  std::size_t pos = value.find(';');
  std::string head(trim(value.substr(0, pos)));
  while (pos != std::string_view::npos) {
    ++pos;  // past ';'
    while (pos < value.size() && (value[pos] == ' ' || value[pos] == '\t')) ++pos;
    const std::size_t eq = value.find('=', pos);
    const std::size_t semi = value.find(';', pos);
    if (eq == std::string_view::npos || (semi != std::string_view::npos && semi < eq)) {
      // A parameter without a value: skip it.
      pos = semi;
      continue;
    }
    header_param param{to_lower(trim(value.substr(pos, eq - pos))), {}};
    pos = eq + 1;
    while (pos < value.size() && (value[pos] == ' ' || value[pos] == '\t')) ++pos;
    if (pos < value.size() && value[pos] == '"') {
      ++pos;
      bool closed = false;
      while (pos < value.size()) {
        const char c = value[pos++];
        if (c == '\\' && pos < value.size()) {
          param.value.push_back(value[pos++]);
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          param.value.push_back(c);
        }
      }
      if (!closed) return std::nullopt;
      pos = value.find(';', pos);
    } else {
      const std::size_t end = value.find(';', pos);
      param.value = std::string(trim(value.substr(pos, end - pos)));
      pos = end;
    }
    params.push_back(std::move(param));
  }
  return std::make_pair(std::move(head), std::move(params));
}

const header_param* find_param(const std::vector<header_param>& params, std::string_view name) {
  for (const auto& param : params) {
    if (param.name == name) return &param;
  }
  return nullptr;
}

// Fills a part from its header block (lines separated by CRLF); false when malformed.
bool parse_part_headers(std::string_view headers, multipart_part& part) {
  bool has_disposition = false;
  while (!headers.empty()) {
    const std::size_t eol = headers.find(crlf);
    const std::string_view line = headers.substr(0, eol);
    headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    const std::string name = to_lower(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-disposition") {
      auto split = split_header_value(value);
      if (!split || !iequals(split->first, "form-data")) return false;
      const header_param* field_name = find_param(split->second, "name");
      if (field_name == nullptr) return false;
      part.name = field_name->value;
      if (const header_param* filename = find_param(split->second, "filename")) {
        part.filename = filename->value;
      }
      has_disposition = true;
    } else if (name == "content-type") {
      part.content_type = std::string(value);
    }
  }
  return has_disposition;
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  auto split = split_header_value(content_type);
  if (!split || !iequals(split->first, "multipart/form-data")) return std::nullopt;
  const header_param* boundary = find_param(split->second, "boundary");
  // RFC 2046: 1 to 70 characters.
  if (boundary == nullptr || boundary->value.empty() || boundary->value.size() > 70) {
    return std::nullopt;
  }
  return boundary->value;
}

std::optional<std::vector<multipart_part>> parse_multipart(std::string_view body,
                                                           std::string_view boundary) {
  if (boundary.empty()) return std::nullopt;
  const std::string delimiter = "--" + std::string(boundary);
  const std::string next_delimiter = std::string(crlf) + delimiter;

  // The first delimiter opens the body or ends a preamble.
  std::size_t pos = 0;
  if (body.substr(0, delimiter.size()) != delimiter) {
    pos = body.find(next_delimiter);
    if (pos == std::string_view::npos) return std::nullopt;
    pos += 2;
  }
  pos += delimiter.size();

  std::vector<multipart_part> parts;
  for (;;) {
    if (body.substr(pos, 2) == "--") return parts;  // close delimiter; the epilogue is ignored
    // Transport padding may follow a delimiter before its CRLF.
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != crlf) return std::nullopt;
    pos += 2;

    const std::size_t end = body.find(next_delimiter, pos);
    if (end == std::string_view::npos) return std::nullopt;  // no close delimiter
    const std::string_view raw = body.substr(pos, end - pos);

    multipart_part part;
    std::string_view header_block;
    std::string_view data;
    if (raw.substr(0, 2) == crlf) {
      data = raw.substr(2);  // no headers at all: not form-data, refused below
    } else {
      const std::size_t blank = raw.find("\r\n\r\n");
      if (blank == std::string_view::npos) return std::nullopt;
      header_block = raw.substr(0, blank);
      data = raw.substr(blank + 4);
    }
    if (!parse_part_headers(header_block, part)) return std::nullopt;
    part.data = std::string(data);
    parts.push_back(std::move(part));
    pos = end + next_delimiter.size();
  }
}

}  // namespace image_gateway::oppo
