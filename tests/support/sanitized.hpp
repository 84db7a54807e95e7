#pragma once
// IGW_SANITIZED is defined in an ASan (+ UBSan) build, for the few tests whose subject the
// sanitizers' runtime itself gets in the way of; each says why where it skips.
#if defined(__SANITIZE_ADDRESS__)
#define IGW_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IGW_SANITIZED 1
#endif
#endif
