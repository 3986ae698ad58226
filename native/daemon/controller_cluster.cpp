// The controller's side facing the cluster: corosync events in (CPG membership, quorum,
// messages from other daemons) and what it publishes (its state message, the status file).
#include "controller.h"

#include <algorithm>

namespace pvebal::balancerd {

namespace {

std::string ids(const std::vector<member_id> &v) {
    if (v.empty()) {
        return "-";
    }
    std::string out;
    for (const auto &m : v) {
        out += (out.empty() ? "" : ",") + std::to_string(m.nodeid);
    }
    return out;
}

} // namespace

// --- corosync --------------------------------------------------------------------------------

void controller::on_cpg_joined(member_id self, millis now) {
    view_.self = self;
    cpg_joined_ = true;
    force_send_ = true;
    log(log_level::info, "joined the group as node id " + std::to_string(self.nodeid));
    step(now);
}

void controller::on_cpg_members(const std::vector<member_id> &members,
                                const std::vector<member_id> &joined,
                                const std::vector<member_id> &left, millis now) {
    std::map<member_id, std::optional<state_message>> next;
    for (const auto &m : members) {
        auto it = members_.find(m);
        next[m] = it != members_.end() ? it->second : std::nullopt;
    }
    std::set<std::string> present;
    for (const auto &[id, st] : next) {
        if (st) {
            present.insert(st->node);
        }
    }
    for (const auto &[id, st] : members_) {
        if (st && !next.contains(id) && !present.contains(st->node)) {
            sched_.on_node_gone(st->node);
        }
    }
    members_ = std::move(next);
    view_.members = members;
    if (!joined.empty()) {
        force_send_ = true; // the newcomers learn our state
    }
    log(log_level::info, "group members: " + ids(members) + " (joined: " + ids(joined) +
                             ", left: " + ids(left) + ")");
    step(now);
}

void controller::on_cpg_lost(millis now) {
    if (cpg_joined_) {
        log(shutting_down_ ? log_level::info : log_level::warning,
            shutting_down_ ? "left the group" : "lost the connection to corosync's CPG service");
    }
    cpg_joined_ = false;
    for (const auto &[id, st] : members_) {
        if (st) {
            sched_.on_node_gone(st->node);
        }
    }
    members_.clear();
    view_.members.clear();
    step(now);
}

void controller::on_quorum(bool quorate, millis now) {
    if (!quorum_connected_ || view_.quorate_notified != quorate) {
        log(log_level::info, std::string("quorum: ") + (quorate ? "quorate" : "not quorate"));
    }
    quorum_connected_ = true;
    view_.quorate_notified = quorate;
    step(now);
}

void controller::on_quorum_lost(millis now) {
    if (quorum_connected_ && !shutting_down_) {
        log(log_level::warning, "lost the connection to corosync's quorum service");
    }
    quorum_connected_ = false;
    view_.quorate_notified.reset();
    step(now);
}

void controller::on_deliver(member_id from, std::string_view bytes, millis now) {
    auto m = decode(bytes);
    if (!m) {
        if (warned_members_.insert(from).second) {
            log(log_level::warning, "ignoring a malformed message from node id " +
                                        std::to_string(from.nodeid) + ": " + m.error().to_string());
        }
        return;
    }
    if (!*m) {
        return; // a newer daemon's message
    }
    if (const auto *s = std::get_if<state_message>(&**m)) {
        if (auto it = members_.find(from); it != members_.end()) {
            it->second = *s;
        }
        sched_.on_node_pressure(s->node, s->pressure.any_high(), describe_pressure(s->pressure),
                                now);
        if (s->last_cycle) {
            sched_.on_cycle(*s->last_cycle);
        }
        if (s->cycle) {
            sched_.on_cycle(*s->cycle);
        }
    } else {
        const auto &p = std::get<pressure_message>(**m);
        pressure_info info;
        for (auto r : all_psi_resources) {
            if (p.resources[index_of(r)]) {
                info.high[index_of(r)] = true;
                info.value[index_of(r)] = *p.resources[index_of(r)];
            }
        }
        sched_.on_node_pressure(p.node, true, describe_pressure(info), now);
        if (election_.current() == role::active) {
            log(log_level::notice,
                "pressure event from " + p.node + ": " + describe_pressure(info));
        }
    }
    step(now);
}

// --- publishing ------------------------------------------------------------------------------

state_message controller::make_state() const {
    state_message s;
    s.node = s_.node;
    s.version = s_.version;
    s.r = election_.current();
    s.quorate = view_.quorate_notified == true;
    s.auto_balance = cfg_.auto_balance;
    s.started = started_;
    s.active_since = s.r == role::active ? election_.active_since() : 0;
    s.pressure = shared_pressure_;
    if (sup_.current()) {
        s.cycle = sup_.current();
    }
    s.last_cycle = my_last_cycle_;
    return s;
}

status_inputs controller::make_status(millis now) const {
    status_inputs s;
    s.node = s_.node;
    s.self = view_.self;
    s.self.pid = s_.pid;
    s.version = s_.version;
    s.started = started_;
    s.r = election_.current();
    s.leader = election_.leader();
    if (s.leader) {
        if (*s.leader == view_.self) {
            s.leader_name = s_.node;
            if (s.r == role::active) {
                s.active_since = election_.active_since();
            }
        } else if (auto it = members_.find(*s.leader); it != members_.end() && it->second) {
            s.leader_name = it->second->node;
            if (it->second->r == role::active) {
                s.active_since = it->second->active_since;
            }
        }
    }
    s.cpg_joined = cpg_joined_;
    s.quorum_connected = quorum_connected_;
    s.quorate = view_.quorate_notified;
    for (const auto &[id, st] : members_) {
        // Our own entry from the live state, not from the copy the group delivered back.
        s.members.push_back({id, id == view_.self ? std::optional(make_state()) : st});
    }
    s.config_file = s_.config_file;
    s.config = cfg_;
    s.config_read = config_read_;
    s.config_error = config_error_;
    s.config_warnings = config_warnings_;
    s.pressure = &psi_;
    s.child = sup_.state();
    s.child_pid = sup_.pid();
    s.cycle = sup_.current();
    s.kill_deadline = sup_.kill_deadline();
    s.last_cycle = sched_.last_cycle();
    if (s.last_cycle && s.last_cycle->running() && s.cycle && s.last_cycle->id == s.cycle->id) {
        s.last_cycle = my_last_cycle_; // the running one is shown as "cycle"
    }
    s.next =
        sched_.next(s.r == role::active && !shutting_down_ && sup_.state() == child_state::idle,
                    cluster_busy());
    (void)now;
    return s;
}

void controller::publish(millis now) {
    auto state = encode(make_state());
    if (cpg_joined_ && (force_send_ || state != last_sent_)) {
        if (env_.send(state)) {
            last_sent_ = state;
            force_send_ = false;
        }
    }

    auto inputs = make_status(now);
    auto local = render_local(inputs);
    if (local != last_local_) {
        if (auto r = env_.write_local_status(status_text(local, now)); r) {
            last_local_ = local;
        } else {
            log(log_level::error, "cannot write the local status: " + r.error().to_string());
            last_local_ = local; // retried with the next change
        }
    }

    cluster_due_.reset();
    if (inputs.r == role::active && inputs.quorate == true) {
        auto cluster = render_cluster(inputs);
        if (cluster != last_cluster_ && now < cluster_next_write_) {
            cluster_due_ = cluster_next_write_;
        } else if (cluster != last_cluster_) {
            if (auto r = env_.write_cluster_status(status_text(cluster, now)); r) {
                last_cluster_ = cluster;
                cluster_next_write_ = now + s_.cluster_write_gap;
                cluster_error_.clear();
            } else {
                if (r.error().to_string() != cluster_error_) {
                    log(log_level::warning,
                        "cannot write the cluster status: " + r.error().to_string());
                    cluster_error_ = r.error().to_string();
                }
                cluster_next_write_ = now + s_.cluster_write_retry;
                cluster_due_ = cluster_next_write_;
            }
        }
    }

    std::string sd;
    switch (inputs.r) {
    case role::active:
        sd = "active";
        break;
    case role::standby:
        sd = "standby (active node: " +
             (inputs.leader_name.empty() ? "id " + std::to_string(inputs.leader->nodeid)
                                         : inputs.leader_name) +
             ")";
        break;
    case role::no_quorum:
        sd = "not quorate: not acting";
        break;
    case role::disconnected:
        sd = "waiting for corosync";
        break;
    }
    if (inputs.cycle) {
        sd += ", cycle " + inputs.cycle->id + " " + std::string(to_string(inputs.child));
    }
    if (sd != last_systemd_status_) {
        env_.notify_status(sd);
        last_systemd_status_ = sd;
    }
}

} // namespace pvebal::balancerd
