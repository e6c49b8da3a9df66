#include "payload.h"

#include <gtest/gtest.h>

#include <vector>

namespace fjord::bench {
namespace {

TEST(PayloadTest, StampRoundTripsAndLeavesFillerAlone) {
  std::vector<uint8_t> message(1024, uint8_t{'x'});
  const PayloadStamp stamp{.run_id = 0xfeedface12345678,
                           .sequence = 42,
                           .intended_send_ns = 1'000'000'007,
                           .actual_send_ns = -3};
  write_stamp(message, stamp);
  const auto read = read_stamp(message);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->run_id, stamp.run_id);
  EXPECT_EQ(read->sequence, 42u);
  EXPECT_EQ(read->intended_send_ns, 1'000'000'007);
  EXPECT_EQ(read->actual_send_ns, -3);
  EXPECT_EQ(message[kPayloadHeaderBytes], 'x');
  EXPECT_EQ(message.back(), 'x');
}

TEST(PayloadTest, RejectsShortMessagesAndForeignBytes) {
  std::vector<uint8_t> message(kPayloadHeaderBytes, 0);
  write_stamp(message, {});
  EXPECT_TRUE(read_stamp(message).has_value());
  EXPECT_FALSE(read_stamp(std::span(message).first(kPayloadHeaderBytes - 1)).has_value());
  message[0] ^= 1;  // not our magic: someone else's message
  EXPECT_FALSE(read_stamp(message).has_value());
}

}  // namespace
}  // namespace fjord::bench
