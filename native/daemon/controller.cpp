// The controller (controller.h): configuration, node pressure, the cycle, the role and its
// enforcement, timers. Corosync events and what it publishes are in controller_cluster.cpp.
#include "controller.h"

#include <algorithm>

namespace pvebal::balancerd {

namespace {

void earliest(std::optional<millis> &acc, std::optional<millis> t) {
    if (t && (!acc || *t < *acc)) {
        acc = t;
    }
}

stop_reason reason_for(role r) {
    switch (r) {
    case role::standby:
        return stop_reason::leadership_lost;
    case role::no_quorum:
        return stop_reason::quorum_lost;
    default:
        return stop_reason::disconnected;
    }
}

} // namespace

controller::controller(environment &env, controller_settings settings, millis now)
    : env_(env), s_(std::move(settings)), started_(now), election_(s_.settle), sup_(env) {}

void controller::start(millis now) {
    check_config(now, true, true);
    if (auto text = env_.read_cluster_status()) {
        if (auto last = last_cycle_from_cluster_status(*text)) {
            sched_.on_cycle(*last);
            log(log_level::info, "last cycle in the cluster: " + last->id + " (" +
                                     last->triggers.to_string() + ", " +
                                     std::string(to_string(last->result)) + ")");
        }
    }
    step(now);
}

// --- configuration -------------------------------------------------------------------------

void controller::check_config(millis now, bool force, bool initial) {
    config_checked_ = now;
    auto stamp = env_.stat_config();
    if (!force && config_stamp_ && *config_stamp_ == stamp) {
        return;
    }
    config_stamp_ = stamp;
    auto text = env_.read_config();
    std::string err;
    std::optional<config_load> loaded;
    if (!text) {
        err = text.error().to_string();
    } else if (!text->has_value() && config_read_) {
        // The file existed and is gone: on a Proxmox node that is pmxcfs not mounted (restart
        // of pve-cluster) far more often than an admin deleting it. Keep acting on what we had.
        err = s_.config_file + ": missing (pmxcfs not mounted?)";
    } else {
        auto parsed = read_daemon_config(text->value_or(""), s_.config_file);
        if (parsed) {
            loaded = std::move(*parsed);
        } else {
            err = parsed.error().to_string();
        }
    }
    if (!loaded) {
        if (err != config_error_) {
            log(log_level::error, "invalid configuration, " +
                                      std::string(initial ? "using the defaults (auto off)"
                                                          : "keeping the last good one") +
                                      ": " + err);
        }
        config_error_ = err;
        if (initial) {
            apply_config(daemon_config{}, true, now);
        }
        return;
    }
    if (!config_error_.empty()) {
        log(log_level::notice, "configuration is valid again");
    }
    config_error_.clear();
    if (loaded->warnings != config_warnings_) {
        for (const auto &w : loaded->warnings) {
            log(log_level::warning, w);
        }
    }
    config_warnings_ = loaded->warnings;
    config_read_ = text->has_value();
    apply_config(loaded->config, initial, now);
}

void controller::apply_config(const daemon_config &next, bool initial, millis now) {
    auto change = compare(cfg_, next);
    bool first = initial;
    cfg_ = next;
    sched_.configure({.auto_balance = cfg_.auto_balance,
                      .interval_min = cfg_.interval,
                      .debounce_s = cfg_.psi_debounce,
                      .holdoff_s = cfg_.psi_holdoff});
    sup_.configure({.timeout = static_cast<millis>(cfg_.cycle_timeout) * one_second,
                    .grace = static_cast<millis>(cfg_.cycle_grace) * one_second});
    if (first || change.pressure || change.auto_on || change.auto_off) {
        rearm_pressure(now);
    }
    if (first) {
        log(log_level::info, std::string("configuration: auto ") +
                                 (cfg_.auto_balance ? "on" : "off") + ", interval " +
                                 std::to_string(cfg_.interval) + " min");
        return;
    }
    if (change.auto_on) {
        log(log_level::notice, "automatic balancing switched on");
    }
    if (change.auto_off) {
        log(log_level::notice, "automatic balancing switched off");
    }
    if (change.schedule) {
        log(log_level::info, "interval is now " + std::to_string(cfg_.interval) + " min");
    }
    if (cfg_.auto_balance && change.warrants_cycle() && election_.current() == role::active) {
        log(log_level::info, "configuration change warrants a cycle");
        sched_.on_config_change(now);
    }
}

// --- pressure --------------------------------------------------------------------------------

void controller::rearm_pressure(millis now) {
    bool want =
        cfg_.auto_balance && std::any_of(cfg_.psi_threshold.begin(), cfg_.psi_threshold.end(),
                                         [](unsigned t) { return t > 0; });
    psi_mode mode = psi_mode::off;
    if (want) {
        mode = env_.arm_pressure(cfg_.psi_threshold, cfg_.psi_window);
        if (mode == psi_mode::off && !psi_unavailable_logged_) {
            log(log_level::warning, "node pressure (PSI) is not available; pressure triggers "
                                    "from this node are off");
            psi_unavailable_logged_ = true;
        }
    } else {
        env_.disarm_pressure();
    }
    bool was_high = psi_.any_high();
    psi_.configure(cfg_.psi_threshold, cfg_.psi_window, mode);
    shared_pressure_ = pressure_info{.mode = mode, .changed = was_high ? now : 0};
    if (mode != psi_mode::off) {
        log(log_level::info, "watching node pressure (" + std::string(to_string(mode)) +
                                 " mode): cpu " + std::to_string(cfg_.psi_threshold[0]) +
                                 "%, memory " + std::to_string(cfg_.psi_threshold[1]) + "%, io " +
                                 std::to_string(cfg_.psi_threshold[2]) + "% of " +
                                 std::to_string(cfg_.psi_window) + " s");
        read_pressure(now);
    }
}

void controller::read_pressure(millis now) {
    psi_last_read_ = now;
    if (psi_.mode() == psi_mode::off) {
        return;
    }
    handle_pressure_edge(psi_.on_reading(env_.read_pressure(), now), now);
}

void controller::handle_pressure_edge(pressure_monitor::edge e, millis now) {
    if (!e.changed) {
        return;
    }
    shared_pressure_.mode = psi_.mode();
    shared_pressure_.changed = now;
    pressure_message event;
    event.node = s_.node;
    for (auto r : all_psi_resources) {
        const auto &st = psi_.state(r);
        shared_pressure_.high[index_of(r)] = st.high;
        shared_pressure_.value[index_of(r)] = st.value;
        if (st.high && st.since == now) {
            event.resources[index_of(r)] = st.value;
        }
    }
    if (shared_pressure_.any_high()) {
        log(log_level::notice, "node pressure: " + describe_pressure(shared_pressure_));
    } else {
        log(log_level::notice, "node pressure back to normal");
    }
    if (e.rose) {
        env_.send(encode(event));
    }
}

void controller::on_pressure_trigger(psi_resource r, millis now) {
    handle_pressure_edge(psi_.on_trigger(r, env_.read_pressure(), now), now);
    step(now);
}

void controller::on_pressure_poke(millis now) {
    read_pressure(now);
    step(now);
}

void controller::on_reload(millis now) {
    check_config(now, true, false);
    step(now);
}

// --- the cycle -------------------------------------------------------------------------------

void controller::on_child_exit(pid_t pid, int wait_status, millis now) {
    if (auto rec = sup_.on_exit(pid, wait_status, now)) {
        finish_cycle(*rec);
    }
    step(now);
}

void controller::finish_cycle(const cycle_record &rec) {
    std::string how = std::string(to_string(rec.result));
    if (rec.exit_code >= 0) {
        how += ", exit code " + std::to_string(rec.exit_code);
    }
    if (rec.signal != 0) {
        how += ", signal " + std::to_string(rec.signal);
    }
    if (rec.stopped != stop_reason::none) {
        how += ", stopped: " + std::string(to_string(rec.stopped));
    }
    bool bad = rec.result != cycle_result::ok && rec.result != cycle_result::skipped;
    log(bad ? log_level::warning : log_level::notice,
        "cycle " + rec.id + " finished after " +
            std::to_string((rec.finished - rec.started) / one_second) + " s (" + how + ")");
    my_last_cycle_ = rec;
    sched_.on_cycle(rec);
}

bool controller::cluster_busy() const {
    for (const auto &[id, st] : members_) {
        if (id != view_.self && st && st->cycle) {
            return true;
        }
    }
    return false;
}

void controller::maybe_start_cycle(millis now) {
    if (shutting_down_ || sup_.state() != child_state::idle ||
        election_.current() != role::active) {
        return;
    }
    if (spawn_failed_at_ != 0 && now - spawn_failed_at_ < s_.spawn_failure_backoff) {
        return;
    }
    auto due = sched_.poll(now, true, cluster_busy());
    if (!due) {
        return;
    }
    cycle_record rec;
    rec.id =
        s_.node + "-" + std::to_string(to_epoch_seconds(now)) + "-" + std::to_string(++cycle_seq_);
    rec.node = s_.node;
    rec.triggers = due->triggers;
    rec.detail = due->detail;
    millis timeout = static_cast<millis>(cfg_.cycle_timeout) * one_second;
    spawn_spec spec;
    spec.argv = s_.cycle_command;
    spec.env = {
        {"PVE_BALANCER_CYCLE_ID", rec.id},
        {"PVE_BALANCER_TRIGGER", rec.triggers.to_string()},
        {"PVE_BALANCER_TRIGGER_DETAIL", rec.detail},
        {"PVE_BALANCER_NODE", s_.node},
        {"PVE_BALANCER_NODEID", std::to_string(view_.self.nodeid)},
        {"PVE_BALANCER_CONFIG", s_.config_file},
        {"PVE_BALANCER_STARTED", std::to_string(to_epoch_seconds(now))},
        {"PVE_BALANCER_TIMEOUT", std::to_string(cfg_.cycle_timeout)},
        {"PVE_BALANCER_DEADLINE", std::to_string(to_epoch_seconds(now + timeout))},
        {"PVE_BALANCER_GRACE", std::to_string(cfg_.cycle_grace)},
        {"PVE_BALANCER_DAEMON_VERSION", s_.version},
    };
    auto started = sup_.start(rec, spec, now);
    if (started.result == cycle_result::spawn_failed) {
        spawn_failed_at_ = now;
        log(log_level::error, "cannot start cycle " + rec.id + ": " + started.detail);
        finish_cycle(started);
        return;
    }
    spawn_failed_at_ = 0;
    log(log_level::notice,
        "starting cycle " + rec.id + " (pid " + std::to_string(sup_.pid()) + "): " + rec.detail);
    sched_.on_cycle(started);
}

// --- role and enforcement --------------------------------------------------------------------

void controller::decide_role(millis now) {
    view_.connected = cpg_joined_ && quorum_connected_;
    view_.quorate_now = view_.connected ? env_.quorate_now() : std::nullopt;
    role before = election_.current();
    role after = election_.update(decide(view_), now);
    if (after == before) {
        return;
    }
    std::string leader = election_.leader() ? std::to_string(election_.leader()->nodeid) : "-";
    log(after == role::active || before == role::active ? log_level::notice : log_level::info,
        "role: " + std::string(to_string(before)) + " -> " + std::string(to_string(after)) +
            " (active node id: " +
            (after == role::standby || after == role::active ? leader : "-") + ")");
    if (after == role::active) {
        sched_.on_became_active(now);
        last_cluster_ = Json::Value(); // write our view of the cluster at once
        cluster_next_write_ = 0;
    }
}

void controller::enforce(millis now) {
    if (sup_.state() != child_state::running) {
        return;
    }
    std::optional<stop_reason> why;
    if (shutting_down_) {
        why = stop_reason::shutdown;
    } else if (election_.current() != role::active) {
        why = reason_for(election_.current());
    } else if (!cfg_.auto_balance) {
        why = stop_reason::auto_off;
    }
    if (why) {
        log(log_level::warning, "telling cycle " + sup_.current()->id + " (pid " +
                                    std::to_string(sup_.pid()) +
                                    ") to stop: " + std::string(to_string(*why)));
        sup_.stop(*why, now);
    }
}

void controller::begin_shutdown(millis now) {
    if (!shutting_down_) {
        log(log_level::notice, "shutting down");
    }
    shutting_down_ = true;
    step(now);
}

void controller::on_timer(millis now) {
    step(now);
}

void controller::step(millis now) {
    if (now - config_checked_ >= s_.config_poll) {
        check_config(now, false, false);
    }
    if (auto due = psi_.read_due(psi_last_read_); due && *due <= now) {
        read_pressure(now);
    }
    decide_role(now);
    enforce(now);
    child_state before = sup_.state();
    sup_.tick(now);
    if (before == child_state::stopping && sup_.state() == child_state::killing) {
        log(log_level::error, "cycle " + sup_.current()->id + " (pid " +
                                  std::to_string(sup_.pid()) + ") did not stop within " +
                                  std::to_string(cfg_.cycle_grace) + " s: killed");
    }
    maybe_start_cycle(now);
    publish(now);
}

std::optional<millis> controller::next_deadline() const {
    std::optional<millis> t;
    earliest(t, config_checked_ + s_.config_poll);
    earliest(t, psi_.read_due(psi_last_read_));
    earliest(t, election_.deadline());
    earliest(t, sup_.deadline());
    earliest(t, cluster_due_);
    if (election_.current() == role::active && !shutting_down_ &&
        sup_.state() == child_state::idle) {
        if (auto n = sched_.next(true, cluster_busy())) {
            millis due = n->due;
            if (spawn_failed_at_ != 0) {
                due = std::max(due, spawn_failed_at_ + s_.spawn_failure_backoff);
            }
            earliest(t, due);
        }
    }
    return t;
}

} // namespace pvebal::balancerd