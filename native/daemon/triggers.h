// File: daemon/triggers.h
//
// When a balancing cycle is due, and why: the interval timer, node pressure and configuration
// changes, debounced and coalesced. A pure state machine: time comes in as arguments.
//
//   trigger_scheduler s;
//   s.configure({.auto_balance = true, .interval_min = 60, .debounce_s = 30, .holdoff_s = 300});
//   s.on_became_active(now);
//   s.on_node_pressure("pve3", true, "cpu 35.2%", now);
//   s.poll(now + 30'000, /*active*/ true, /*busy*/ false)  ->  {pressure, "pressure on pve3 ..."}
//
// Every member keeps this state from what the group shares (pressure of each node, the last
// cycle), so a node that takes over knows what is pending; only the active node asks poll().
//
// Rules (docs/daemon.md, "Triggers"):
// - interval: `interval` minutes after the start of the last cycle in the cluster (any
//   trigger), or after this node became active when no cycle is known.
// - pressure: level-triggered. Some node has been high for `psi-debounce` seconds (counted from
//   the end of the last cycle if it was already high then) and `psi-holdoff` seconds have passed
//   since the last cycle ended (at least min_holdoff). Pressure that goes away before that starts
//   nothing; pressure while a cycle runs is the cycle's business (migrations load nodes
//   themselves).
// - config: a change that matters, noticed by the active node; one that arrives while a cycle
//   runs gives one follow-up cycle after it.
// - Due triggers are coalesced into one cycle; starting any cycle satisfies all of them.
// - Nothing is due while auto is off, while this node is not active, or while a cycle runs
//   anywhere in the group (`busy`).
#ifndef PVEBAL_DAEMON_TRIGGERS_H_
#define PVEBAL_DAEMON_TRIGGERS_H_

#include "cycle.h"
#include "types.h"

#include <map>
#include <optional>
#include <string>

namespace pvebal::balancerd {

struct schedule_config {
    bool auto_balance = false;
    unsigned interval_min = 60;
    unsigned debounce_s = 30;
    unsigned holdoff_s = 300;
};

struct due_cycle {
    trigger_set triggers;
    std::string detail; // human-readable: what made each trigger due
};

struct next_cycle {
    millis due = 0;
    trigger_kind kind = trigger_kind::interval;
};

class trigger_scheduler {
public:
    // Pressure never starts a cycle sooner than this after the last one ended, whatever
    // psi-holdoff says: a cycle that ends at once must not restart in a loop while a node stays
    // under pressure.
    static constexpr millis min_holdoff = 5 * one_second;

    void configure(const schedule_config &c) { cfg_ = c; }
    const schedule_config &config() const { return cfg_; }

    // What the group shares (every member):
    void on_node_pressure(const std::string &node, bool high, const std::string &detail,
                          millis now);
    void on_node_gone(const std::string &node);
    // A cycle started or finished anywhere (the latest by start time is kept).
    void on_cycle(const cycle_record &c);

    // The active node only:
    void on_became_active(millis now) { active_since_ = now; }
    void on_config_change(millis now);

    // The cycle due at `now`, if any. Call on_cycle() once it is started.
    std::optional<due_cycle> poll(millis now, bool active, bool busy) const;
    // The next time something becomes due (for the timer and the status), if any.
    std::optional<next_cycle> next(bool active, bool busy) const;

    const std::optional<cycle_record> &last_cycle() const { return last_; }
    bool pressure_high(const std::string &node) const;

private:
    std::optional<millis> interval_due() const;
    std::optional<millis> pressure_due() const;
    millis last_end() const;

    schedule_config cfg_;
    std::optional<cycle_record> last_;
    std::optional<millis> active_since_;
    std::optional<millis> config_changed_;
    struct node_state {
        bool high = false;
        millis since = 0;
        std::string detail;
    };
    std::map<std::string, node_state> nodes_;
};

} // namespace pvebal::balancerd

#endif
