#include "cli/message_format.h"

#include <gtest/gtest.h>

namespace fjord::cli {
namespace {

MessageView sample() {
  MessageView message;
  message.topic = "orders";
  message.partition = 2;
  message.offset = 41;
  message.timestamp_ms = 1700000000000;
  message.key = "k1";
  message.value = "hello";
  message.headers = {{"trace", "abc"}, {"empty", std::nullopt}};
  return message;
}

std::string render(std::string_view format, const MessageView& message) {
  auto compiled = MessageFormat::compile(format);
  EXPECT_TRUE(compiled.ok()) << compiled.error().message;
  std::string out;
  compiled->render(message, out);
  return out;
}

TEST(MessageFormat, DefaultPrintsTheValueAndANewline) {
  EXPECT_EQ(render(kDefaultMessageFormat, sample()), "hello\n");
}

TEST(MessageFormat, ExpandsEveryPlaceholder) {
  EXPECT_EQ(render("%t/%p@%o %T %k=%v (%K,%S) [%h] 100%%", sample()),
            "orders/2@41 1700000000000 k1=hello (2,5) [trace=abc,empty=] 100%");
}

TEST(MessageFormat, PercentSIsTheValueLikeKcat) { EXPECT_EQ(render("%s", sample()), "hello"); }

TEST(MessageFormat, ExpandsEscapes) {
  EXPECT_EQ(render("%k\\t%v\\r\\n\\\\", sample()), "k1\thello\r\n\\");
}

TEST(MessageFormat, NullKeyAndValuePrintNothingWithLengthMinusOne) {
  MessageView message = sample();
  message.key.reset();
  message.value.reset();
  EXPECT_EQ(render("[%k][%v] %K %S", message), "[][] -1 -1");
}

TEST(MessageFormat, ReportsHeaderUse) {
  EXPECT_TRUE(MessageFormat::compile("%h")->uses_headers());
  EXPECT_FALSE(MessageFormat::compile("%v")->uses_headers());
}

TEST(MessageFormat, RejectsUnknownPlaceholderNamingIt) {
  auto compiled = MessageFormat::compile("%v %x");
  ASSERT_FALSE(compiled.ok());
  EXPECT_NE(compiled.error().message.find("'%x'"), std::string::npos);
}

TEST(MessageFormat, RejectsTrailingPercentAndUnknownEscape) {
  EXPECT_FALSE(MessageFormat::compile("%v%").ok());
  EXPECT_FALSE(MessageFormat::compile("%v\\").ok());
  EXPECT_FALSE(MessageFormat::compile("\\q").ok());
}

TEST(MessageFormat, AppendsToExistingOutput) {
  auto compiled = MessageFormat::compile("%o,");
  ASSERT_TRUE(compiled.ok());
  std::string out = "x";
  compiled->render(sample(), out);
  compiled->render(sample(), out);
  EXPECT_EQ(out, "x41,41,");
}

}  // namespace
}  // namespace fjord::cli
