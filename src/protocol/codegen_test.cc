// The committed generated code must be what the generator produces from the
// schemas. Needs ../shared/kafka-protocol next to the checkout; skipped without.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Codegen, CommittedOutputIsUpToDate) {
  const fs::path source_dir = FJORD_SOURCE_DIR;
  const fs::path schemas = source_dir / ".." / "shared" / "kafka-protocol";
  const fs::path generator = source_dir / "tools" / "codegen" / "kafka_codegen.py";
  const fs::path committed = source_dir / "src" / "protocol" / "generated";
  if (!fs::is_directory(schemas / "messages")) GTEST_SKIP() << "no schemas at " << schemas;
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";

  const fs::path out = fs::temp_directory_path() / ("fjord_codegen_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const std::string command = "/usr/bin/python3 '" + generator.string() + "' --schemas '" +
                              schemas.string() + "' --out '" + out.string() + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  size_t compared = 0;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    if (!entry.is_regular_file()) continue;
    const fs::path relative = fs::relative(entry.path(), out);
    EXPECT_TRUE(fs::exists(committed / relative)) << relative << " is not committed";
    EXPECT_EQ(read_all(entry.path()), read_all(committed / relative))
        << relative << " differs: rerun tools/codegen/kafka_codegen.py";
    ++compared;
  }
  for (const auto& entry : fs::recursive_directory_iterator(committed)) {
    if (!entry.is_regular_file()) continue;
    const fs::path relative = fs::relative(entry.path(), committed);
    EXPECT_TRUE(fs::exists(out / relative)) << relative << " is stale (no longer generated)";
  }
  EXPECT_GT(compared, 400u);
  fs::remove_all(out);
}

}  // namespace
