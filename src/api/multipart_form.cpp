#include "image_gateway/api/multipart_form.hpp"

#include <algorithm>

#include "image_gateway/util/strings.hpp"

namespace image_gateway {
namespace {

constexpr std::string_view crlf = "\r\n";
constexpr std::size_t max_boundary_length = 70;  // RFC 2046 §5.1.1

api_error bad(std::string detail) {
  return api_error{error_kind::bad_form, "multipart/form-data body: " + std::move(detail),
                   std::nullopt};
}

bool is_space_or_tab(char c) { return c == ' ' || c == '\t'; }

// RFC 9110 tchar: what a token (a media type, a parameter name or an unquoted value) is made of.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 2046 bchars: what a boundary is made of.
bool is_bchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// Printable text for a detail: at most 40 bytes, control and non-ASCII bytes as '?'.
std::string shown(std::string_view text) { return printable_excerpt(text, 40); }

// `; name=value` parameters after a media type or a disposition type (RFC 9110 §5.6.6), the
// value a token or a quoted-string (unescaped). Names are lower-cased; a name given twice is
// refused (an attacker's second `name=` must not win over the first, or the reverse).
struct parameter {
  std::string name;
  std::string value;
};

// A token starting at `at` (possibly empty); `at` moves past it.
std::string_view read_token(std::string_view text, std::size_t& at) {
  const std::size_t start = at;
  while (at < text.size() && is_tchar(text[at])) ++at;
  return text.substr(start, at - start);
}

// A quoted-string whose opening quote is at `at`, unescaped; nullopt when it is not closed.
std::optional<std::string> read_quoted(std::string_view text, std::size_t& at) {
  std::string value;
  for (++at; at < text.size();) {
    const char c = text[at++];
    if (c == '"') return value;
    if (c == '\\') {
      if (at == text.size()) break;
      value += text[at++];
    } else {
      value += c;
    }
  }
  return std::nullopt;
}

// One `name=value` at `at`, the name lower-cased.
result<parameter> read_parameter(std::string_view text, std::size_t& at, std::string_view where) {
  parameter p;
  p.name = to_lower(read_token(text, at));
  if (p.name.empty()) return bad(std::string(where) + ": a parameter has no name");
  if (at == text.size() || text[at] != '=') {
    return bad(std::string(where) + ": parameter " + p.name + " has no '=' value");
  }
  ++at;
  if (at < text.size() && text[at] == '"') {
    std::optional<std::string> quoted = read_quoted(text, at);
    if (!quoted) {
      return bad(std::string(where) + ": the quoted value of " + p.name + " is not closed");
    }
    p.value = std::move(*quoted);
    return p;
  }
  p.value = std::string(read_token(text, at));
  if (p.value.empty()) {
    return bad(std::string(where) + ": parameter " + p.name + " has an empty value");
  }
  return p;
}

result<std::vector<parameter>> parse_parameters(std::string_view text, std::string_view where) {
  std::vector<parameter> out;
  std::size_t at = 0;
  const auto skip_ows = [&] {
    while (at < text.size() && is_space_or_tab(text[at])) ++at;
  };
  for (;;) {
    skip_ows();
    if (at == text.size()) return out;
    if (text[at] != ';') {
      return bad(std::string(where) + ": expected ';' before \"" + shown(text.substr(at)) + "\"");
    }
    ++at;
    skip_ows();
    auto p = read_parameter(text, at, where);
    if (!p) return p.take_error();
    for (const parameter& earlier : out) {
      if (earlier.name == p.value().name) {
        return bad(std::string(where) + ": parameter " + earlier.name + " is given twice");
      }
    }
    out.push_back(std::move(p).value());
  }
}

// The media type (or disposition type) token at the start of a header value, and the rest.
std::pair<std::string_view, std::string_view> split_type(std::string_view value) {
  value = trim_spaces_and_tabs(value);
  const std::size_t end = std::min(value.find(';'), value.size());
  return {trim_spaces_and_tabs(value.substr(0, end)), value.substr(end)};
}

// A part's `Content-Disposition: form-data; name="…"[; filename="…"]` into `out`.
std::optional<api_error> read_disposition(std::string_view value, const std::string& part,
                                          form_part_view& out) {
  const auto [type, rest] = split_type(value);
  if (!iequals(type, "form-data")) {
    return bad(part + ": Content-Disposition is \"" + shown(type) + "\", not form-data");
  }
  auto parameters = parse_parameters(rest, part + " Content-Disposition");
  if (!parameters) return parameters.take_error();
  for (parameter& p : parameters.value()) {
    if (p.name == "name") {
      out.name = std::move(p.value);
    } else if (p.name == "filename") {
      out.filename = std::move(p.value);
    }
    // filename* (RFC 7578 §4.2: not to be used) and other parameters are ignored.
  }
  if (out.name.empty()) return bad(part + ": Content-Disposition has no name (or an empty one)");
  return std::nullopt;
}

struct header_field {
  std::string_view name;
  std::string_view value;  // without surrounding spaces and tabs
};

// One header line of a part (its CRLF removed): `name: value`, nothing folded, no stray CR/LF.
result<header_field> read_header_line(std::string_view line, const std::string& part) {
  if (line.empty()) return bad(part + ": empty header line");
  if (is_space_or_tab(line.front())) {
    return bad(part + ": folded header line (obsolete line folding is not accepted)");
  }
  if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return bad(part + ": header line holds a bare CR, LF or NUL (lines end in CRLF)");
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return bad(part + ": header line without a colon: \"" + shown(line) + "\"");
  }
  const std::string_view name = line.substr(0, colon);
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) {
    return bad(part + ": malformed header name \"" + shown(name) + "\"");
  }
  return header_field{name, trim_spaces_and_tabs(line.substr(colon + 1))};
}

// One part's header block (each line ending in CRLF) into its view.
result<form_part_view> parse_part_headers(std::string_view block, std::size_t number) {
  const std::string part = "part " + std::to_string(number);
  form_part_view out;
  bool have_disposition = false;
  bool have_type = false;
  bool have_encoding = false;
  while (!block.empty()) {
    const std::size_t end = block.find(crlf);  // the block ends in CRLF: always found
    auto field = read_header_line(block.substr(0, end), part);
    block.remove_prefix(end + crlf.size());
    if (!field) return field.take_error();
    const auto [name, value] = field.value();
    if (iequals(name, "content-disposition")) {
      if (have_disposition) return bad(part + ": Content-Disposition is given twice");
      have_disposition = true;
      if (auto problem = read_disposition(value, part, out)) return std::move(*problem);
    } else if (iequals(name, "content-type")) {
      if (have_type) return bad(part + ": Content-Type is given twice");
      have_type = true;
      out.content_type = value;
    } else if (iequals(name, "content-transfer-encoding")) {
      if (have_encoding) return bad(part + ": Content-Transfer-Encoding is given twice");
      have_encoding = true;
      if (!iequals(value, "binary") && !iequals(value, "8bit") && !iequals(value, "7bit")) {
        return bad(part + ": Content-Transfer-Encoding \"" + shown(value) +
                   "\" is not accepted (send the bytes as they are)");
      }
    }
  }
  if (!have_disposition) return bad(part + ": no Content-Disposition header");
  return out;
}

enum class delimiter_end { next_part, closing };

// The rest of a delimiter line after its boundary, at `at`: `--` (the closing delimiter, then
// nothing, or transport padding, CRLF and an epilogue), or transport padding and CRLF (a part
// follows; `at` moves past the CRLF).
result<delimiter_end> read_delimiter_end(std::string_view body, std::size_t& at) {
  const bool closing = body.substr(at, 2) == "--";
  if (closing) at += 2;
  while (at < body.size() && is_space_or_tab(body[at])) ++at;  // transport padding
  if (closing) {
    if (at != body.size() && body.substr(at, 2) != crlf) {
      return bad("text after the closing delimiter on its line");
    }
    return delimiter_end::closing;
  }
  if (body.substr(at, 2) != crlf) {
    if (at == body.size()) return bad("the body ends after a delimiter, without --");
    return bad("a delimiter line does not end in CRLF (a bare LF, or text after the boundary)");
  }
  at += crlf.size();
  return delimiter_end::next_part;
}

// The header block of part `number` starting at `at` (its lines, each with its CRLF; empty when
// the part has none), up to the empty line that ends it; searched only up to the limit.
result<std::string_view> read_header_block(std::string_view body, std::size_t at,
                                           std::size_t number, const multipart_limits& limits) {
  if (body.substr(at, 2) == crlf) return std::string_view();  // no header lines at all
  const std::string_view window = body.substr(at, limits.max_part_header_bytes + 2);
  const std::size_t end = window.find("\r\n\r\n");
  if (end != std::string_view::npos) return window.substr(0, end + crlf.size());
  if (window.size() == limits.max_part_header_bytes + 2) {
    return bad("part " + std::to_string(number) + ": header block is larger than " +
               std::to_string(limits.max_part_header_bytes) + " bytes");
  }
  return bad("part " + std::to_string(number) +
             ": header block does not end with an empty line (CRLF CRLF)");
}

}  // namespace

bool is_multipart_form_data(std::string_view content_type) {
  return iequals(split_type(content_type).first, "multipart/form-data");
}

result<std::string> multipart_boundary_of(std::string_view content_type) {
  const auto [type, rest] = split_type(content_type);
  if (!iequals(type, "multipart/form-data")) {
    return bad("Content-Type \"" + shown(type) + "\" is not multipart/form-data");
  }
  auto parameters = parse_parameters(rest, "Content-Type");
  if (!parameters) return parameters.take_error();
  for (parameter& p : parameters.value()) {
    if (p.name != "boundary") continue;
    if (p.value.empty()) return bad("the boundary in Content-Type is empty");
    if (p.value.size() > max_boundary_length) {
      return bad("the boundary in Content-Type is longer than 70 characters");
    }
    if (!std::all_of(p.value.begin(), p.value.end(), is_bchar)) {
      return bad("the boundary in Content-Type holds a character RFC 2046 does not allow");
    }
    if (p.value.back() == ' ') return bad("the boundary in Content-Type ends in a space");
    return std::move(p.value);
  }
  return bad("Content-Type has no boundary parameter");
}

result<std::vector<form_part_view>> parse_multipart_form(std::string_view body,
                                                         std::string_view boundary,
                                                         const multipart_limits& limits) {
  if (boundary.empty()) return bad("empty boundary");
  const std::string dash_boundary = "--" + std::string(boundary);
  const std::string delimiter = std::string(crlf) + dash_boundary;  // ends every part's content

  // The first delimiter: at the very start, or after a preamble and its CRLF.
  std::size_t at = 0;
  if (body.substr(0, dash_boundary.size()) != dash_boundary) {
    const std::size_t found = body.find(delimiter);
    if (found == std::string_view::npos) {
      return bad("no delimiter line --" + shown(boundary) + " (the boundary of Content-Type)");
    }
    at = found + crlf.size();
  }

  std::vector<form_part_view> parts;
  for (;;) {
    // `at` is at a delimiter: "--boundary".
    at += dash_boundary.size();
    auto line_end = read_delimiter_end(body, at);
    if (!line_end) return line_end.take_error();
    if (line_end.value() == delimiter_end::closing) return parts;
    if (parts.size() == limits.max_parts) {
      return bad("more than " + std::to_string(limits.max_parts) + " parts");
    }
    const std::size_t number = parts.size() + 1;

    auto block = read_header_block(body, at, number, limits);
    if (!block) return block.take_error();
    const std::size_t content_start = at + block.value().size() + crlf.size();
    auto part = parse_part_headers(block.value(), number);
    if (!part) return part.take_error();

    const std::size_t content_end = body.find(delimiter, content_start);
    if (content_end == std::string_view::npos) {
      return bad("part " + std::to_string(number) + " is not closed: no closing delimiter --" +
                 shown(boundary) + "--");
    }
    part.value().data = body.substr(content_start, content_end - content_start);
    parts.push_back(std::move(part).value());
    at = content_end + crlf.size();
  }
}

}  // namespace image_gateway
