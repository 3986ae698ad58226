#include "cycle.h"

namespace pvebal::balancerd {

std::string_view to_string(cycle_result r) {
    switch (r) {
    case cycle_result::none:
        return "running";
    case cycle_result::ok:
        return "ok";
    case cycle_result::skipped:
        return "skipped";
    case cycle_result::failed:
        return "failed";
    case cycle_result::cancelled:
        return "cancelled";
    case cycle_result::timed_out:
        return "timeout";
    case cycle_result::killed:
        return "killed";
    case cycle_result::crashed:
        return "crashed";
    case cycle_result::spawn_failed:
        return "spawn-failed";
    }
    return "?";
}

std::string_view to_string(stop_reason r) {
    switch (r) {
    case stop_reason::none:
        return "none";
    case stop_reason::timeout:
        return "timeout";
    case stop_reason::leadership_lost:
        return "leadership-lost";
    case stop_reason::quorum_lost:
        return "quorum-lost";
    case stop_reason::disconnected:
        return "disconnected";
    case stop_reason::auto_off:
        return "auto-off";
    case stop_reason::shutdown:
        return "shutdown";
    }
    return "?";
}

std::optional<cycle_result> cycle_result_from(std::string_view s) {
    for (auto r = static_cast<int>(cycle_result::none);
         r <= static_cast<int>(cycle_result::spawn_failed); ++r) {
        if (to_string(static_cast<cycle_result>(r)) == s) {
            return static_cast<cycle_result>(r);
        }
    }
    return std::nullopt;
}

std::optional<stop_reason> stop_reason_from(std::string_view s) {
    for (auto r = static_cast<int>(stop_reason::none); r <= static_cast<int>(stop_reason::shutdown);
         ++r) {
        if (to_string(static_cast<stop_reason>(r)) == s) {
            return static_cast<stop_reason>(r);
        }
    }
    return std::nullopt;
}

} // namespace pvebal::balancerd
