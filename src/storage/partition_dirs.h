// Partition directories under one data dir: "<data_dir>/<topic>-<partition>/".
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace fjord::storage {

std::filesystem::path partition_dir(const std::filesystem::path& data_dir,
                                    const std::string& topic, int32_t partition);
// Every "<topic>-<partition>" directory, sorted; "*.deleted" ones are skipped.
Result<std::vector<std::pair<std::string, int32_t>>> list_partition_dirs(
    const std::filesystem::path& data_dir);
// Topic deletion: renames the directory to "<dir>.deleted" (atomic), fsyncs the
// parent, then removes the files. Directories left as "*.deleted" by a crash are
// removed by remove_leftover_deleted_dirs().
Status remove_partition_dir(const std::filesystem::path& dir);
void remove_leftover_deleted_dirs(const std::filesystem::path& data_dir);

}  // namespace fjord::storage
