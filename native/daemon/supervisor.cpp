#include "supervisor.h"

#include <csignal>
#include <sys/wait.h>

namespace pvebal::balancerd {

std::string_view to_string(child_state s) {
    switch (s) {
    case child_state::idle:
        return "idle";
    case child_state::running:
        return "running";
    case child_state::stopping:
        return "stopping";
    case child_state::killing:
        return "killing";
    }
    return "?";
}

cycle_record supervisor::start(cycle_record rec, const spawn_spec &spec, millis now) {
    rec.started = now;
    rec.finished = 0;
    rec.result = cycle_result::none;
    if (state_ != child_state::idle) {
        // Callers check state() first; a second cycle never starts beside the first.
        rec.finished = now;
        rec.result = cycle_result::spawn_failed;
        rec.detail += (rec.detail.empty() ? "" : "; ") + std::string("a cycle is already running");
        return rec;
    }
    auto pid = ops_.spawn(spec);
    if (!pid) {
        rec.finished = now;
        rec.result = cycle_result::spawn_failed;
        rec.detail += (rec.detail.empty() ? "" : "; ") + pid.error().to_string();
        return rec;
    }
    pid_ = *pid;
    state_ = child_state::running;
    why_ = stop_reason::none;
    current_ = rec;
    return rec;
}

void supervisor::stop(stop_reason why, millis now) {
    if (state_ != child_state::running) {
        return;
    }
    ops_.signal(pid_, SIGTERM, false);
    state_ = child_state::stopping;
    stop_sent_ = now;
    why_ = why;
    current_->stopped = why;
}

void supervisor::tick(millis now) {
    if (state_ == child_state::running && now - current_->started >= cfg_.timeout) {
        stop(stop_reason::timeout, now);
    }
    if (state_ == child_state::stopping && now - stop_sent_ >= cfg_.grace) {
        ops_.signal(pid_, SIGKILL, true);
        state_ = child_state::killing;
    }
}

std::optional<cycle_record> supervisor::on_exit(pid_t pid, int wait_status, millis now) {
    if (state_ == child_state::idle || pid != pid_) {
        return std::nullopt;
    }
    cycle_record rec = *current_;
    rec.finished = now;
    if (WIFEXITED(wait_status)) {
        rec.exit_code = WEXITSTATUS(wait_status);
    } else if (WIFSIGNALED(wait_status)) {
        rec.signal = WTERMSIG(wait_status);
    }
    if (state_ == child_state::killing) {
        rec.result = cycle_result::killed;
    } else if (why_ == stop_reason::timeout) {
        rec.result = cycle_result::timed_out;
    } else if (why_ != stop_reason::none) {
        rec.result = cycle_result::cancelled;
    } else if (rec.signal != 0) {
        rec.result = cycle_result::crashed;
    } else if (rec.exit_code == 0) {
        rec.result = cycle_result::ok;
    } else if (rec.exit_code == exit_skipped) {
        rec.result = cycle_result::skipped;
    } else {
        rec.result = cycle_result::failed;
    }
    state_ = child_state::idle;
    pid_ = 0;
    current_.reset();
    why_ = stop_reason::none;
    return rec;
}

std::optional<millis> supervisor::kill_deadline() const {
    switch (state_) {
    case child_state::running:
        return current_->started + cfg_.timeout + cfg_.grace;
    case child_state::stopping:
        return stop_sent_ + cfg_.grace;
    default:
        return std::nullopt;
    }
}

std::optional<millis> supervisor::deadline() const {
    switch (state_) {
    case child_state::running:
        return current_->started + cfg_.timeout;
    case child_state::stopping:
        return stop_sent_ + cfg_.grace;
    default:
        return std::nullopt; // killing: nothing left to do but wait for the exit
    }
}

} // namespace pvebal::balancerd
