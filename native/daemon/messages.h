// File: daemon/messages.h
//
// What members of the CPG group `pve-balancer` tell each other. Each message is one JSON object
// (UTF-8, at most a few hundred bytes) with "type" and "format" (1):
//
//   {"type":"state","format":1,"node":"pve2","version":"0.1.0","role":"standby",...}
//   {"type":"pressure","format":1,"node":"pve3","resources":{"cpu":35.2}}
//
// `state` is a member's daemon state; every member sends it after joining, when a member joins,
// and when its role, quorum, pressure or cycle changes. `pressure` is a rising edge of node
// pressure. Times are milliseconds since the epoch. A message of an unknown type or a newer
// format is skipped (a newer daemon in a mixed-version cluster); a malformed one is an error
// naming the field. The sender's identity is CPG's (node id, pid), never the message's.
#ifndef PVEBAL_DAEMON_MESSAGES_H_
#define PVEBAL_DAEMON_MESSAGES_H_

#include "cycle.h"
#include "leadership.h"
#include "psi.h"
#include "types.h"

#include "pvebal/error.h"

#include <json/json.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace pvebal::balancerd {

inline constexpr int message_format = 1;

struct pressure_info {
    psi_mode mode = psi_mode::off;
    std::array<bool, 3> high{};
    std::array<double, 3> value{}; // avg10 at the last read, percent
    millis changed = 0;            // when the set of high resources last changed (0: never)
    bool any_high() const { return high[0] || high[1] || high[2]; }
    bool operator==(const pressure_info &) const = default;
};

// "cpu 35.2%, memory 12.0%" for the high resources.
std::string describe_pressure(const pressure_info &p);

struct state_message {
    std::string node;
    std::string version;
    role r = role::disconnected;
    bool quorate = false;
    bool auto_balance = false;
    millis started = 0;      // daemon start
    millis active_since = 0; // when it became active (role active only)
    pressure_info pressure;
    std::optional<cycle_record> cycle;      // running here
    std::optional<cycle_record> last_cycle; // the last cycle this node ran
    bool operator==(const state_message &) const = default;
};

struct pressure_message {
    std::string node;
    std::array<std::optional<double>, 3> resources; // the resources that became high, avg10 %
    bool operator==(const pressure_message &) const = default;
};

using message = std::variant<state_message, pressure_message>;

std::string encode(const message &m);

// nullopt: a message this daemon does not understand (unknown type or newer format).
result<std::optional<message>> decode(std::string_view bytes);

// A cycle record as JSON; times in milliseconds (messages) or seconds (status files).
enum class time_unit : std::uint8_t { milliseconds, seconds };
Json::Value to_json(const cycle_record &c, time_unit unit);
result<cycle_record> cycle_from_json(const Json::Value &v, const std::string &path, time_unit unit);

} // namespace pvebal::balancerd

#endif
