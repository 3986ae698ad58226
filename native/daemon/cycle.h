// File: daemon/cycle.h
//
// A balancing cycle as the daemon sees it: what it was started for, and how it ended. The same
// record is kept by the supervisor, shared with the group and written to the status files.
#ifndef PVEBAL_DAEMON_CYCLE_H_
#define PVEBAL_DAEMON_CYCLE_H_

#include "types.h"

#include <optional>
#include <string>
#include <string_view>

namespace pvebal::balancerd {

// How a cycle ended (docs/daemon.md, "The cycle command").
enum class cycle_result : std::uint8_t {
    none,         // still running
    ok,           // exit 0
    skipped,      // exit 75: nothing could be done now (e.g. the cluster lease is held)
    failed,       // any other exit code
    cancelled,    // stopped by the daemon (leadership or quorum lost, auto off, shutdown)
    timed_out,    // stopped after cycle-timeout
    killed,       // did not exit within cycle-grace after SIGTERM: SIGKILL
    crashed,      // died of a signal the daemon did not send
    spawn_failed, // the command could not be started
};
std::string_view to_string(cycle_result r);
std::optional<cycle_result> cycle_result_from(std::string_view s);

// Why the daemon told a cycle to stop.
enum class stop_reason : std::uint8_t {
    none,
    timeout,
    leadership_lost,
    quorum_lost,
    disconnected,
    auto_off,
    shutdown,
};
std::string_view to_string(stop_reason r);
std::optional<stop_reason> stop_reason_from(std::string_view s);

struct cycle_record {
    std::string id;       // "<node>-<start epoch s>-<sequence>", unique in the cluster
    std::string node;     // where it ran
    trigger_set triggers; // why it was started
    std::string detail;   // e.g. "pressure on pve3 (cpu 35.2%)"
    millis started = 0;
    millis finished = 0; // 0 while running
    cycle_result result = cycle_result::none;
    int exit_code = -1;                      // when it exited
    int signal = 0;                          // when a signal ended it
    stop_reason stopped = stop_reason::none; // when the daemon told it to stop

    bool running() const { return finished == 0; }
    bool operator==(const cycle_record &) const = default;
};

// Exit code of the cycle command meaning "nothing could be done now" (BSD EX_TEMPFAIL).
inline constexpr int exit_skipped = 75;

} // namespace pvebal::balancerd

#endif
