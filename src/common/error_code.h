// Error codes shared by every layer. The numeric values are Kafka's wire error
// codes, so a value can travel from storage to a Kafka reply unchanged; storage
// and raft use the names only, never the protocol.
#pragma once

#include <cstdint>
#include <string_view>

namespace fjord {

enum class ErrorCode : int16_t {
  kUnknownServerError = -1,
  kNone = 0,
  kOffsetOutOfRange = 1,
  kCorruptMessage = 2,
  kUnknownTopicOrPartition = 3,
  kInvalidFetchSize = 4,
  kLeaderNotAvailable = 5,
  kNotLeaderOrFollower = 6,
  kRequestTimedOut = 7,
  kMessageTooLarge = 10,
  kOffsetMetadataTooLarge = 12,
  kCoordinatorLoadInProgress = 14,
  kCoordinatorNotAvailable = 15,
  kNotCoordinator = 16,
  kInvalidTopicException = 17,
  kRecordListTooLarge = 18,
  kNotEnoughReplicas = 19,
  kInvalidRequiredAcks = 21,
  kIllegalGeneration = 22,
  kInconsistentGroupProtocol = 23,
  kInvalidGroupId = 24,
  kUnknownMemberId = 25,
  kInvalidSessionTimeout = 26,
  kRebalanceInProgress = 27,
  kInvalidCommitOffsetSize = 28,
  kTopicAuthorizationFailed = 29,
  kClusterAuthorizationFailed = 31,
  kInvalidTimestamp = 32,
  kUnsupportedSaslMechanism = 33,
  kUnsupportedVersion = 35,
  kTopicAlreadyExists = 36,
  kInvalidPartitions = 37,
  kInvalidReplicationFactor = 38,
  kInvalidReplicaAssignment = 39,
  kInvalidConfig = 40,
  kNotController = 41,
  kInvalidRequest = 42,
  kUnsupportedForMessageFormat = 43,
  kPolicyViolation = 44,
  kOutOfOrderSequenceNumber = 45,
  kDuplicateSequenceNumber = 46,
  kInvalidProducerEpoch = 47,
  kInvalidTxnState = 48,
  kInvalidProducerIdMapping = 49,
  kInvalidTransactionTimeout = 50,
  kConcurrentTransactions = 51,
  kTransactionCoordinatorFenced = 52,
  kTransactionalIdAuthorizationFailed = 53,
  kOperationNotAttempted = 55,
  kUnknownProducerId = 59,
  kKafkaStorageError = 56,
  kLogDirNotFound = 57,
  kUnknownTopicId = 100,
  kUnsupportedCompressionType = 76,
  kInvalidRecord = 87,
  kFetchSessionIdNotFound = 70,
  kInvalidFetchSessionEpoch = 71,
  kOffsetNotAvailable = 78,
  kGroupIdNotFound = 69,
  kNonEmptyGroup = 68,
  kMemberIdRequired = 79,
  kGroupMaxSizeReached = 81,
  kFencedInstanceId = 82,
  kThrottlingQuotaExceeded = 89,
  kProducerFenced = 90,
  kResourceNotFound = 91,
  kUnstableOffsetCommit = 88,
  kGroupSubscribedToTopic = 86,
  kTransactionalIdNotFound = 105,
  kStaleBrokerEpoch = 77,
  kBrokerIdNotRegistered = 102,
  kInconsistentClusterId = 104,
  // KIP-853 (AddRaftVoter / RemoveRaftVoter).
  kInvalidVoterKey = 125,
  kDuplicateVoter = 126,
  kVoterNotFound = 127,
};

inline int16_t to_wire(ErrorCode code) { return static_cast<int16_t>(code); }

// A short name for logs and CLI messages, e.g. "UNKNOWN_TOPIC_OR_PARTITION".
std::string_view error_name(ErrorCode code);

}  // namespace fjord
