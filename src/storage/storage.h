// The storage engine's public API in one include (docs/storage-format.md).
#pragma once

#include "storage/compaction.h"
#include "storage/log_config.h"
#include "storage/partition_dirs.h"
#include "storage/partition_log.h"
#include "storage/syncer.h"
