#pragma once
// multipart/form-data request bodies (RFC 7578 on RFC 2046 §5.1) as a pure function over the
// body: every part's content is a view into the body buffer, never a copy. The body is hostile
// input: the parser walks it once, bounds what it searches, and names what is wrong.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image_gateway/domain/error.hpp"

namespace image_gateway {

// True when a Content-Type's media type is multipart/form-data (case-insensitive, whatever its
// parameters). What decides which body limit applies and how the body is read.
bool is_multipart_form_data(std::string_view content_type);

// The boundary parameter of a multipart/form-data Content-Type (token or quoted-string;
// RFC 2046: 1 to 70 of DIGIT ALPHA '()+_,-./:=? and space, not ending in a space). Errors
// (bad_form) say what is wrong: no boundary, an empty or over-long one, a character it may not
// hold, boundary given twice, a parameter that does not parse.
result<std::string> multipart_boundary_of(std::string_view content_type);

// One part of a form.
struct form_part_view {
  std::string name;                     // Content-Disposition's name (quoted-string unescaped)
  std::optional<std::string> filename;  // set for a file part (`curl -F name=@file`)
  std::string_view content_type;        // the part's Content-Type as sent, "" when absent
  std::string_view data;                // the content: a view into the body
};

struct multipart_limits {
  std::size_t max_parts = 16;                // more parts is refused
  std::size_t max_part_header_bytes = 2048;  // one part's header block, CRLFs included
};

// The parts, in order, of a body framed by `boundary` (from multipart_boundary_of): an optional
// preamble, then for each part the delimiter line `--boundary` (optional spaces/tabs, CRLF), its
// header lines ending in CRLF, an empty line, and its content up to CRLF `--boundary`; then the
// closing delimiter `--boundary--` followed by nothing, or by optional spaces/tabs and CRLF and
// an epilogue (ignored). Each part needs `Content-Disposition: form-data; name="…"` (name not
// empty); Content-Type is kept; Content-Transfer-Encoding other than 7bit, 8bit or binary is
// refused (nothing is decoded); other header fields are ignored. Refused with a bad_form error
// saying what is wrong: no delimiter, a delimiter line not ending in CRLF (a bare LF, or text
// after the boundary), a body ending before the closing delimiter, too many parts, a header
// block over the limit or without its empty line, a header line without a colon, folded, or
// holding a bare CR, LF or NUL, a field given twice, a Content-Disposition that is not
// form-data or whose parameters do not parse. Never throws.
result<std::vector<form_part_view>> parse_multipart_form(std::string_view body,
                                                         std::string_view boundary,
                                                         const multipart_limits& limits = {});

}  // namespace image_gateway
