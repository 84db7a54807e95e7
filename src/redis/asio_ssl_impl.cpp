// Asio's TLS layer compiled once (BOOST_ASIO_SEPARATE_COMPILATION), for the Redis client: the
// only user of TLS in the program.
#include <boost/asio/ssl/impl/src.hpp>
