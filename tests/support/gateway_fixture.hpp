#pragma once
// The fixture most integration tests share: a fake OPPO, a fake image origin, and the real
// gateway started on demand (test settings, or the caller's) on an ephemeral port.
#include <gtest/gtest.h>

#include <memory>

#include "fakes/test_servers.hpp"

namespace image_gateway::testing {

class gateway_fixture : public ::testing::Test {
 protected:
  config settings() { return test_config(oppo.base_url()); }
  gateway_under_test& start(config c) {
    gateway = std::make_unique<gateway_under_test>(std::move(c));
    return *gateway;
  }
  gateway_under_test& start() { return start(settings()); }

  fake_oppo_server oppo;
  fake_origin origin;
  std::unique_ptr<gateway_under_test> gateway;
};

}  // namespace image_gateway::testing
