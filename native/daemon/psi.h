// File: daemon/psi.h
//
// Node pressure (Linux PSI, /proc/pressure/{cpu,memory,io}): the parser of the kernel's text
// and the per-node pressure state that decides when this node reports pressure to the group.
//
//   auto s = parse_psi("some avg10=1.53 avg60=0.87 avg300=0.22 total=58761459\n"
//                      "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", "cpu");
//   s->some.avg10 == 1.53
//
// A resource is "high" when, in trigger mode, the kernel's PSI trigger for it
// ("some <threshold × window> <window>") fired within the last two windows, or, in poll mode
// (when triggers are not permitted, or the files are not procfs), when its avg10 is at or above
// the threshold; it falls back below 80 % of the threshold (hysteresis). Rising edges are what
// the node sends to the group as a pressure event.
#ifndef PVEBAL_DAEMON_PSI_H_
#define PVEBAL_DAEMON_PSI_H_

#include "types.h"

#include "pvebal/error.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pvebal::balancerd {

struct psi_averages {
    double avg10 = 0; // percent of time stalled, exponentially averaged over 10 s
    double avg60 = 0;
    double avg300 = 0;
    std::uint64_t total = 0; // microseconds stalled since boot
};

struct psi_sample {
    psi_averages some;
    std::optional<psi_averages> full; // absent in /proc/pressure/cpu before Linux 5.13
};

// Parses one /proc/pressure file. Unknown lines and fields are ignored (newer kernels may add
// them); a missing or malformed "some" line is an error naming `what` and the field.
result<psi_sample> parse_psi(std::string_view text, const std::string &what);

// One read of the three files; nullopt where a file is missing or unreadable.
using psi_reading = std::array<std::optional<psi_sample>, 3>;

enum class psi_mode : std::uint8_t {
    off,     // not watching (auto off, every threshold 0, or no PSI in the kernel)
    trigger, // kernel PSI triggers, poll(2) for POLLPRI; no periodic reads
    poll,    // periodic reads of the averages
};
std::string_view to_string(psi_mode m);

struct resource_pressure {
    bool high = false;
    double value = 0;        // avg10 at the last read, percent
    millis since = 0;        // when `high` last changed
    millis last_trigger = 0; // trigger mode: when the kernel trigger last fired (0: never)
};

class pressure_monitor {
public:
    static constexpr millis poll_period = 5 * one_second;

    // Starts over with new thresholds (percent, 0 = off), window (seconds) and mode.
    void configure(const std::array<unsigned, 3> &threshold, unsigned window_s, psi_mode mode);

    struct edge {
        bool rose = false;    // a resource became high: report a pressure event
        bool changed = false; // the set of high resources changed: report the new state
    };

    // A kernel trigger fired for `r`; `reading` is a fresh read of the averages (for values).
    edge on_trigger(psi_resource r, const psi_reading &reading, millis now);
    // A read of the averages (poll mode period, a poke, or trigger mode's hold expiry).
    edge on_reading(const psi_reading &reading, millis now);

    // When the averages should be read next (nullopt: not needed).
    std::optional<millis> read_due(millis last_read) const;

    psi_mode mode() const { return mode_; }
    bool any_high() const;
    const resource_pressure &state(psi_resource r) const { return state_[index_of(r)]; }
    unsigned threshold(psi_resource r) const { return threshold_[index_of(r)]; }

private:
    edge set_high(psi_resource r, bool high, millis now);
    millis hold() const { return 2 * static_cast<millis>(window_s_) * one_second; }

    psi_mode mode_ = psi_mode::off;
    std::array<unsigned, 3> threshold_{};
    unsigned window_s_ = 10;
    std::array<resource_pressure, 3> state_{};
};

} // namespace pvebal::balancerd

#endif
