// File: daemon/status.h
//
// The two status files (formats in docs/daemon.md, "Status files"):
//
// - the local status, /run/pve-balancerd/status.json: this node's view (role, members, config,
//   pressure, the cycle child, last and next cycle);
// - the cluster summary, /etc/pve/balancer/daemon.json: written by the active node only, while
//   quorate, and only when its content changed.
//
// Both are JSON objects with sorted keys and times in seconds since the epoch. "updated" (when
// the file was written) is left out when deciding whether the content changed.
#ifndef PVEBAL_DAEMON_STATUS_H_
#define PVEBAL_DAEMON_STATUS_H_

#include "cycle.h"
#include "daemon_config.h"
#include "leadership.h"
#include "messages.h"
#include "psi.h"
#include "supervisor.h"
#include "triggers.h"

#include <json/json.h>

#include <optional>
#include <string>
#include <vector>

namespace pvebal::balancerd {

inline constexpr int status_format = 1;

struct member_status {
    member_id id;
    std::optional<state_message> state; // nullopt until its first state message arrived
};

struct status_inputs {
    std::string node;
    member_id self;
    std::string version;
    millis started = 0;
    role r = role::disconnected;
    std::optional<member_id> leader;
    std::string leader_name;            // empty when unknown
    std::optional<millis> active_since; // the leader's, when known
    bool cpg_joined = false;
    bool quorum_connected = false;
    std::optional<bool> quorate;
    std::vector<member_status> members; // sorted by id

    std::string config_file;
    daemon_config config;
    bool config_read = false; // a configuration was read (else: defaults)
    std::string config_error; // why the file on disk is not in effect
    std::vector<std::string> config_warnings;

    const pressure_monitor *pressure = nullptr;

    child_state child = child_state::idle;
    pid_t child_pid = 0;
    std::optional<cycle_record> cycle; // running here
    std::optional<millis> kill_deadline;
    std::optional<cycle_record> last_cycle; // the last cycle in the cluster known here
    std::optional<next_cycle> next;
};

Json::Value render_local(const status_inputs &s);
Json::Value render_cluster(const status_inputs &s);
// The file text: `v` plus "updated": now, pretty-printed with a final newline.
std::string status_text(Json::Value v, millis now);

// The last cycle recorded in a cluster summary (to continue the interval after a restart).
std::optional<cycle_record> last_cycle_from_cluster_status(const std::string &text);

} // namespace pvebal::balancerd

#endif
