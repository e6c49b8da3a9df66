// Big-endian loads and stores for fixed-width integers (Kafka's byte order).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace fjord {

template <typename U>
inline U byteswap_unsigned(U u) {
  if constexpr (sizeof(U) == 2) return __builtin_bswap16(u);
  if constexpr (sizeof(U) == 4) return __builtin_bswap32(u);
  if constexpr (sizeof(U) == 8) return __builtin_bswap64(u);
  return u;
}

template <typename T>
inline T load_be(const uint8_t* p) {
  static_assert(std::is_integral_v<T>);
  std::make_unsigned_t<T> u;
  std::memcpy(&u, p, sizeof(T));
  if constexpr (sizeof(T) > 1) u = byteswap_unsigned(u);
  return static_cast<T>(u);
}

template <typename T>
inline void store_be(uint8_t* p, T value) {
  static_assert(std::is_integral_v<T>);
  auto u = static_cast<std::make_unsigned_t<T>>(value);
  if constexpr (sizeof(T) > 1) u = byteswap_unsigned(u);
  std::memcpy(p, &u, sizeof(T));
}

}  // namespace fjord
