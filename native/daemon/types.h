// File: daemon/types.h
//
// Small value types shared by the daemon's modules: wall-clock time, member identity, the PSI
// resources and the trigger kinds, each enum with its one spelling for logs, messages and
// status files.
#ifndef PVEBAL_DAEMON_TYPES_H_
#define PVEBAL_DAEMON_TYPES_H_

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pvebal::balancerd {

// Wall-clock time in milliseconds since the epoch. Cycle times are compared across nodes, so
// the daemon reasons in wall-clock time; timers are re-armed from it after every event.
using millis = std::int64_t;
inline constexpr millis one_second = 1000;

inline std::int64_t to_epoch_seconds(millis t) {
    return t / one_second;
}

enum class log_level : std::uint8_t { error, warning, notice, info, debug };

// One process in the CPG group: corosync node id and process id. Ordered by node id first, so
// "lowest node id" is the smallest member (the pid only breaks the tie of two daemons on one
// node, which the pid-file lock prevents).
struct member_id {
    std::uint32_t nodeid = 0;
    std::uint32_t pid = 0;
    auto operator<=>(const member_id &) const = default;
};

enum class psi_resource : std::uint8_t { cpu, memory, io };
inline constexpr std::array<psi_resource, 3> all_psi_resources = {
    psi_resource::cpu, psi_resource::memory, psi_resource::io};
inline constexpr std::size_t index_of(psi_resource r) {
    return static_cast<std::size_t>(r);
}
std::string_view to_string(psi_resource r);
std::optional<psi_resource> psi_resource_from(std::string_view s);

// Why a cycle runs. A cycle started for several reasons at once lists them all.
enum class trigger_kind : std::uint8_t { interval, pressure, config };
inline constexpr std::array<trigger_kind, 3> all_trigger_kinds = {
    trigger_kind::interval, trigger_kind::pressure, trigger_kind::config};
std::string_view to_string(trigger_kind k);
std::optional<trigger_kind> trigger_kind_from(std::string_view s);

// A small set of trigger kinds; its text form is "interval,pressure" (kinds in enum order).
class trigger_set {
public:
    trigger_set() = default;
    trigger_set(std::initializer_list<trigger_kind> kinds) {
        for (auto k : kinds) {
            add(k);
        }
    }
    void add(trigger_kind k) { bits_ |= bit(k); }
    void add(trigger_set s) { bits_ |= s.bits_; }
    bool has(trigger_kind k) const { return (bits_ & bit(k)) != 0; }
    bool empty() const { return bits_ == 0; }
    std::string to_string() const;
    static std::optional<trigger_set> parse(std::string_view text);
    bool operator==(const trigger_set &) const = default;

private:
    static std::uint8_t bit(trigger_kind k) {
        return static_cast<std::uint8_t>(1u << static_cast<unsigned>(k));
    }
    std::uint8_t bits_ = 0;
};

} // namespace pvebal::balancerd

#endif
