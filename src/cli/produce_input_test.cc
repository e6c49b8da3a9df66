#include "cli/produce_input.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace fjord::cli {
namespace {

TEST(SplitKey, SplitsAtTheFirstSeparator) {
  KeyedLine line = split_key("user-1::a::b", "::");
  ASSERT_TRUE(line.key.has_value());
  EXPECT_EQ(*line.key, "user-1");
  EXPECT_EQ(line.value, "a::b");
}

TEST(SplitKey, NoSeparatorMeansNoKey) {
  EXPECT_FALSE(split_key("a:b", "").key.has_value());
  KeyedLine line = split_key("plain", ":");
  EXPECT_FALSE(line.key.has_value());
  EXPECT_EQ(line.value, "plain");
}

TEST(SplitKey, EmptyKeyIsAKey) {
  KeyedLine line = split_key(":v", ":");
  ASSERT_TRUE(line.key.has_value());
  EXPECT_EQ(*line.key, "");
  EXPECT_EQ(line.value, "v");
}

TEST(ParseHeaderArgument, SplitsAtTheFirstEquals) {
  auto header = parse_header_argument("trace=a=b");
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->first, "trace");
  EXPECT_EQ(header->second, "a=b");
  EXPECT_TRUE(parse_header_argument("empty=").ok());
  EXPECT_FALSE(parse_header_argument("=v").ok());
  EXPECT_FALSE(parse_header_argument("novalue").ok());
}

// Reads every line of `input` with a reader limited to `max_line_bytes`.
std::vector<std::string> read_all(const std::string& input, size_t max_line_bytes,
                                  std::string* error = nullptr) {
  std::FILE* file = fmemopen(const_cast<char*>(input.data()), input.size(), "r");
  LineReader reader(file, max_line_bytes);
  std::vector<std::string> lines;
  while (true) {
    auto line = reader.next();
    if (!line.ok()) {
      if (error != nullptr) *error = line.error().message;
      break;
    }
    if (!line->has_value()) break;
    lines.emplace_back(**line);
  }
  std::fclose(file);
  return lines;
}

TEST(LineReader, ReadsLinesWithAndWithoutFinalNewline) {
  EXPECT_EQ(read_all("a\nbb\n\nccc", 100), (std::vector<std::string>{"a", "bb", "", "ccc"}));
  EXPECT_EQ(read_all("a\n", 100), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(read_all("", 100).empty());
}

TEST(LineReader, DropsCarriageReturnOfCrlf) {
  EXPECT_EQ(read_all("a\r\nb\r\n", 100), (std::vector<std::string>{"a", "b"}));
}

TEST(LineReader, ReadsManyLinesAcrossBufferRefills) {
  std::string input;
  for (int i = 0; i < 100000; ++i) input += std::to_string(i) + "\n";
  auto lines = read_all(input, 16);
  ASSERT_EQ(lines.size(), 100000u);
  EXPECT_EQ(lines.front(), "0");
  EXPECT_EQ(lines.back(), "99999");
}

TEST(LineReader, RejectsALineLongerThanTheLimitNamingItsNumber) {
  std::string error;
  auto lines = read_all("ok\n" + std::string(11, 'x') + "\nafter\n", 10, &error);
  EXPECT_EQ(lines, (std::vector<std::string>{"ok"}));
  EXPECT_NE(error.find("line 2"), std::string::npos) << error;
}

TEST(LineReader, RejectsAnOverlongLineWithoutNewline) {
  std::string error;
  read_all(std::string(300000, 'x'), 1000, &error);
  EXPECT_NE(error.find("line 1"), std::string::npos) << error;
}

TEST(LineReader, AcceptsALineOfExactlyTheLimit) {
  auto lines = read_all(std::string(10, 'x') + "\n" + std::string(10, 'y'), 10);
  ASSERT_EQ(lines.size(), 2u);
}

}  // namespace
}  // namespace fjord::cli
