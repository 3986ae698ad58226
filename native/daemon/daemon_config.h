// File: daemon/daemon_config.h
//
// The part of /etc/pve/balancer.cfg the daemon acts on, and the adapter that fills it from the
// file's text.
//
//   auto r = pvebal::balancerd::parse_config_text(text, "/etc/pve/balancer.cfg");
//   if (!r) { log(r.error().to_string()); keep the last good configuration; }
//
// ADAPTER (until the engine's option schema lands on main): balancer.cfg's key table is owned
// by the engine (one schema: key, type, range, default, description, scope). Until that table
// and its parser exist, `daemon_keys()` below holds the rows of the keys the daemon reads, and
// parse_config_text() is a small parser with the rules of PVE::Balancer::Config::parse_config
// (key: value lines, '#' comments, no duplicates) that warns on keys it does not know instead
// of failing. When the engine's schema is there, these rows move into it (scope "daemon" or
// "integration") and parse_config_text() becomes a call of the engine's parser.
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

struct daemon_config {
    bool auto_balance = false; // auto
    unsigned interval = 60;    // interval: minutes between two interval-triggered cycles
    // psi-cpu, psi-memory, psi-io: share of time (percent) some tasks stall on the resource
    // within psi-window above which a node reports pressure; 0 turns the resource off.
    std::array<unsigned, 3> psi_threshold = {20, 10, 30};
    unsigned psi_window = 10;          // psi-window: seconds (kernel PSI trigger window)
    unsigned psi_debounce = 30;        // psi-debounce: seconds pressure must last before a cycle
    unsigned psi_holdoff = 300;        // psi-holdoff: seconds after a cycle before pressure counts
    unsigned cycle_timeout = 6 * 3600; // cycle-timeout: seconds before a cycle is stopped
    unsigned cycle_grace = 300;        // cycle-grace: seconds between SIGTERM and SIGKILL
    // Every other key of the file, as written: the engine's and the Manager's settings. The
    // daemon does not interpret them; a change among them may change what a cycle does.
    std::map<std::string, std::string> others;

    unsigned threshold(psi_resource r) const { return psi_threshold[index_of(r)]; }
    bool operator==(const daemon_config &) const = default;
};

enum class key_type : std::uint8_t { boolean, integer };

// One row of the schema, in the shape of the engine's option table.
struct key_spec {
    const char *key;
    key_type type;
    long min;
    long max;
    long default_value;
    const char *scope; // "integration" (shared with the API) or "daemon"
    const char *description;
};

// The rows of the keys the daemon reads, sorted by key.
const std::vector<key_spec> &daemon_keys();

struct config_load {
    daemon_config config;
    std::vector<std::string> warnings; // e.g. unknown keys; the file is still used
};

// Parses balancer.cfg text. An absent file is an empty text (all defaults). Errors name the
// file, the line and the key and say what was expected; nothing is half-applied.
result<config_load> parse_config_text(std::string_view text, const std::string &file);

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
