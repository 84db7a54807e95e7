#pragma once
// Where a request ends must be beyond doubt before anything else is looked at (RFC 9112 §6.3):
// a message whose length two parties could read differently is how requests are smuggled past a
// load balancer. Pure: judged from the header fields alone, so it is tested without sockets.
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace image_gateway {

// Why the framing of a request with this HTTP version (10 or 11) and these header fields (names
// lower-cased, in the order received) cannot be trusted, in words for the answer's detail; or
// nullopt when it can. Refused: a Content-Length that is not one decimal number, two
// Content-Lengths that differ, Content-Length together with Transfer-Encoding, a
// Transfer-Encoding whose final coding is not `chunked` (or that applies `chunked` twice), any
// Transfer-Encoding in an HTTP/1.0 request, `chunked` with parameters, an HTTP/1.1 request with
// no Host or several; and, as unsafe to pass on, a Host value that is not uri-host [":" port]
// (RFC 9112 3.2, RFC 3986) and two Authorization fields.
std::optional<std::string> framing_problem(
    unsigned http_version, const std::vector<std::pair<std::string, std::string>>& headers);

}  // namespace image_gateway
