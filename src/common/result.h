// Result<T>: the value of an expected failure. Kafka replies carry an error code
// per partition, so failures are values with a code and a human-readable message,
// not exceptions.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "common/error_code.h"

namespace fjord {

struct Error {
  ErrorCode code = ErrorCode::kUnknownServerError;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  // An unset result is an error; it exists so that Result can travel through
  // APIs that need default construction (e.g. asio's co_spawn).
  Result() : state_(Error{ErrorCode::kUnknownServerError, "no result"}) {}
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT
  Result(ErrorCode code, std::string message = {}) : state_(Error{code, std::move(message)}) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(state_); }
  const T& value() const& { assert(ok()); return std::get<0>(state_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(state_); }
  ErrorCode code() const { return ok() ? ErrorCode::kNone : error().code; }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  Result(ErrorCode code, std::string message = {})
      : error_{code, std::move(message)}, ok_(code == ErrorCode::kNone) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }
  ErrorCode code() const { return ok_ ? ErrorCode::kNone : error_.code; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace fjord
