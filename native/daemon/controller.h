// File: daemon/controller.h
//
// The daemon's logic: it takes events (corosync membership and quorum, group messages, node
// pressure, the child's exit, timers, signals), keeps the state, and acts through the
// `environment`. No corosync, no qb_loop, no clock in here, so the unit tests drive it with a
// fake environment and fake time.
//
//   controller c(env, settings, now);
//   c.start(now);
//   c.on_cpg_joined({1, 700}, now); c.on_cpg_members({{1, 700}}, {{1, 700}}, {}, now);
//   c.on_quorum(true, now);
//   arm a timer for c.next_deadline(); call c.on_timer(t) when it fires.
//
// After every event the controller re-decides the role, stops a cycle that may no longer run,
// starts one that is due, and publishes its state (group message, status files) if it changed.
#ifndef PVEBAL_DAEMON_CONTROLLER_H_
#define PVEBAL_DAEMON_CONTROLLER_H_

#include "daemon_config.h"
#include "environment.h"
#include "leadership.h"
#include "messages.h"
#include "psi.h"
#include "status.h"
#include "supervisor.h"
#include "triggers.h"

#include <json/json.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pvebal::balancerd {

struct controller_settings {
    std::string node;
    std::uint32_t pid = 0;
    std::string version;
    std::vector<std::string> cycle_command;
    std::string config_file;
    // Before this node acts as the new active node, the decision must hold this long (and a
    // fresh quorum query must still agree): cheap insurance against the few milliseconds in
    // which CPG and quorum disagree after a split.
    millis settle = 250;
    millis config_poll = 5 * one_second;       // balancer.cfg is re-read when its stat changes
    millis cluster_write_gap = 5 * one_second; // at most one daemon.json write per gap
    millis cluster_write_retry = 60 * one_second;
    millis spawn_failure_backoff = 60 * one_second;
};

class controller {
public:
    controller(environment &env, controller_settings settings, millis now);

    void start(millis now);

    // corosync (the transport glue calls these)
    void on_cpg_joined(member_id self, millis now);
    void on_cpg_members(const std::vector<member_id> &members, const std::vector<member_id> &joined,
                        const std::vector<member_id> &left, millis now);
    void on_cpg_lost(millis now);
    void on_quorum(bool quorate, millis now);
    void on_quorum_lost(millis now);
    void on_deliver(member_id from, std::string_view bytes, millis now);

    void on_pressure_trigger(psi_resource r, millis now);
    void on_pressure_poke(millis now); // SIGUSR1: read the PSI files now
    void on_reload(millis now);        // SIGHUP: read balancer.cfg now
    void on_child_exit(pid_t pid, int wait_status, millis now);
    void on_timer(millis now);

    // SIGTERM: stop the cycle (SIGTERM, then SIGKILL after cycle-grace) and start nothing new.
    void begin_shutdown(millis now);
    bool shutting_down() const { return shutting_down_; }
    bool child_idle() const { return sup_.state() == child_state::idle; }

    std::optional<millis> next_deadline() const;

    role current_role() const { return election_.current(); }
    const daemon_config &config() const { return cfg_; }
    const supervisor &child() const { return sup_; }
    const trigger_scheduler &scheduler() const { return sched_; }

private:
    void step(millis now);
    void check_config(millis now, bool force, bool initial);
    void apply_config(const daemon_config &next, bool initial, millis now);
    void rearm_pressure(millis now);
    void read_pressure(millis now);
    void handle_pressure_edge(pressure_monitor::edge e, millis now);
    void decide_role(millis now);
    void enforce(millis now);
    void maybe_start_cycle(millis now);
    void finish_cycle(const cycle_record &rec);
    bool cluster_busy() const;
    void publish(millis now);
    state_message make_state() const;
    status_inputs make_status(millis now) const;
    void log(log_level l, const std::string &m) { env_.log(l, m); }

    environment &env_;
    controller_settings s_;
    millis started_;

    // configuration
    daemon_config cfg_;
    bool config_read_ = false;
    std::optional<std::optional<file_stamp>> config_stamp_; // outer: never checked
    millis config_checked_ = 0;
    std::string config_error_;
    std::vector<std::string> config_warnings_;

    // corosync
    bool cpg_joined_ = false;
    bool quorum_connected_ = false;
    membership_view view_;
    election election_;
    std::map<member_id, std::optional<state_message>> members_;
    std::set<member_id> warned_members_; // malformed messages are logged once per member

    // pressure
    pressure_monitor psi_;
    millis psi_last_read_ = 0;
    pressure_info shared_pressure_;
    bool psi_unavailable_logged_ = false;

    // cycles
    trigger_scheduler sched_;
    supervisor sup_;
    std::optional<cycle_record> my_last_cycle_;
    unsigned cycle_seq_ = 0;
    millis spawn_failed_at_ = 0;
    bool shutting_down_ = false;

    // publishing
    bool force_send_ = true;
    std::string last_sent_;
    Json::Value last_local_;
    Json::Value last_cluster_;
    millis cluster_next_write_ = 0; // no cluster status write before (gap, or retry after error)
    std::optional<millis> cluster_due_;
    std::string cluster_error_;
    std::string last_systemd_status_;
};

} // namespace pvebal::balancerd

#endif
