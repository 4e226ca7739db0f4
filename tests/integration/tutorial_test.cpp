// The tutorial's behaviour, against the real binary.
#include "server_process.hpp"

#include <gtest/gtest.h>

using namespace test_support;

TEST(Tutorial, BothVectors)
{
    server_process srv({});
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    EXPECT_EQ(request(srv.port(), "test data 123\n"), "daf63590896c6e23\n");
}
