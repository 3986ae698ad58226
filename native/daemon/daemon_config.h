// File: daemon/daemon_config.h
//
// The part of /etc/pve/balancer.cfg the daemon acts on, read with the engine's one option
// schema (pvebal/option_schema.h): the daemon's keys are rows of that table (scope
// integration, group automation), and the engine's reader validates every line.
//
//   auto r = pvebal::balancerd::read_daemon_config(text, "/etc/pve/balancer.cfg");
//   if (!r) { log(r.error().to_string()); keep the last good configuration; }
//
// A file with a bad line or value is invalid as a whole: the daemon keeps acting on the last
// good configuration rather than on a half-read one. Unknown keys (written by a newer package
// during a rolling upgrade) and duplicates are warnings.
#ifndef PVEBAL_DAEMON_DAEMON_CONFIG_H_
#define PVEBAL_DAEMON_DAEMON_CONFIG_H_

#include "types.h"

#include "pvebal/error.h"

#include <array>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pvebal::balancerd {

// Defaults are the schema's (a unit test holds them equal).
struct daemon_config {
    bool auto_balance = false; // auto
    unsigned interval = 60;    // interval: minutes between two interval-triggered cycles
    // psi-cpu, psi-memory, psi-io: share of time (percent) some tasks stall on the resource
    // within psi-window above which a node reports pressure; 0 turns the resource off.
    std::array<unsigned, 3> psi_threshold = {20, 10, 30};
    unsigned psi_window = 10;          // psi-window: seconds (kernel PSI trigger window)
    unsigned psi_debounce = 30;        // psi-debounce: seconds pressure must last
    unsigned psi_holdoff = 300;        // psi-holdoff: seconds after a cycle before pressure counts
    unsigned cycle_timeout = 6 * 3600; // cycle-timeout: seconds before a cycle is stopped
    unsigned cycle_grace = 300;        // cycle-grace: seconds between SIGTERM and SIGKILL
    // Every other key of the file (canonical values; unknown keys as written): the engine's and
    // the Manager's settings. The daemon does not interpret them; a change among them may change
    // what a cycle does.
    std::map<std::string, std::string> others;

    unsigned threshold(psi_resource r) const { return psi_threshold[index_of(r)]; }
    bool operator==(const daemon_config &) const = default;
};

// The keys daemon_config reads, in schema order.
const std::vector<std::string_view> &daemon_keys();

struct config_load {
    daemon_config config;
    std::vector<std::string> warnings; // unknown keys, duplicates; the file is still used
};

// Reads balancer.cfg text (an absent file is an empty text: all defaults). Errors name the
// file, the line and the key and say what was expected; nothing is half-applied.
result<config_load> read_daemon_config(std::string_view text, const std::string &file);

// What a configuration change means for the daemon.
struct config_change {
    bool auto_on = false;     // auto switched on: balancing starts
    bool auto_off = false;    // auto switched off: a running cycle is stopped
    bool schedule = false;    // interval changed: the next interval cycle moves
    bool pressure = false;    // PSI thresholds or window changed: re-arm the watcher
    bool supervision = false; // cycle-timeout or cycle-grace changed
    bool plan_inputs = false; // a key a cycle reads changed (engine or Manager settings)

    // Whether the change is worth a cycle of its own (when auto is on).
    bool warrants_cycle() const { return auto_on || plan_inputs; }
};

// Keys of `others` whose change does not make a cycle plan differently.
bool is_bookkeeping_key(const std::string &key);

config_change compare(const daemon_config &before, const daemon_config &after);

} // namespace pvebal::balancerd

#endif
