// A compiling placeholder for the Raft core while the real one is written.
#include "raft/raft.h"

namespace fjord::raft {

struct Raft::State {
  RaftOptions options;
  Storage& storage;
};

Raft::Raft(const RaftOptions& options, Storage& storage)
    : state_(std::make_unique<State>(State{options, storage})) {}
Raft::~Raft() = default;

void Raft::bootstrap(Storage& storage, const Config& config) {
  storage.save_snapshot(SnapshotMeta{.end_offset = 0, .last_term = 0, .config = config},
                        std::make_shared<const Bytes>());
  storage.sync();
}

void Raft::tick() {}
void Raft::step(const Message&) {}
Result<Offset> Raft::propose(std::vector<uint8_t>, int32_t) {
  return Error{ErrorCode::kNotLeaderOrFollower, "not the leader"};
}
Result<Offset> Raft::change_config(const ConfigChange&) {
  return Error{ErrorCode::kNotLeaderOrFollower, "not the leader"};
}
Status Raft::transfer_leadership(NodeId) { return Error{ErrorCode::kNotLeaderOrFollower, ""}; }
Status Raft::read_index(uint64_t) { return Error{ErrorCode::kNotLeaderOrFollower, ""}; }
void Raft::snapshot_taken(Offset, std::shared_ptr<const Bytes>) {}
bool Raft::has_ready() const { return false; }
Ready Raft::ready() { return {}; }
void Raft::advance(const Ready&) {}
RaftStatus Raft::status() const { return {}; }
Role Raft::role() const { return Role::kFollower; }
Term Raft::term() const { return state_->storage.hard_state().term; }
NodeId Raft::leader() const { return kNoNode; }
Offset Raft::high_watermark() const { return 0; }

}  // namespace fjord::raft
