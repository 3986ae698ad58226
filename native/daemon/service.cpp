#include "service.h"

#include "log.h"

#include <algorithm>
#include <poll.h>

namespace pvebal::balancerd {

corosync_service::corosync_service(event_loop &loop, std::string name)
    : loop_(loop), name_(std::move(name)), retry_(loop, [this] { attempt(); }) {}

void corosync_service::start() {
    stopped_ = false;
    attempt();
}

void corosync_service::stop() {
    stopped_ = true;
    retry_.cancel();
    if (fd_ >= 0) {
        loop_.unwatch(fd_);
        fd_ = -1;
        finalize();
    }
}

void corosync_service::attempt() {
    if (stopped_ || fd_ >= 0) {
        return;
    }
    auto fd = initialize();
    if (!fd) {
        ++failures_;
        if (failures_ == 1) {
            log_message(log_level::warning,
                        name_ + ": " + fd.error().to_string() + "; retrying in the background");
        } else if (failures_ % log_every == 0) {
            log_message(log_level::warning, name_ + ": still not connected after " +
                                                std::to_string(failures_) + " attempts (" +
                                                fd.error().to_string() + ")");
        }
        schedule_retry();
        return;
    }
    if (!loop_.watch(*fd, POLLIN, [this](int revents) { return ready(revents); })) {
        log_message(log_level::error, name_ + ": cannot watch its file descriptor");
        finalize();
        schedule_retry();
        return;
    }
    fd_ = *fd;
    if (failures_ > 0) {
        log_message(log_level::notice,
                    name_ + ": connected after " + std::to_string(failures_ + 1) + " attempts");
    } else {
        log_message(log_level::info, name_ + ": connected");
    }
    failures_ = 0;
    backoff_ = first_retry;
    on_connected();
}

bool corosync_service::ready(int revents) {
    bool ok = dispatch();
    if (ok && (revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) {
        ok = false; // corosync closed the connection; dispatch drained what was left
    }
    if (ok) {
        return true;
    }
    // Returning false tells the loop to drop the fd; we only finalize and schedule the retry.
    fd_ = -1;
    finalize();
    log_message(log_level::warning, name_ + ": connection lost; reconnecting");
    ++failures_;
    schedule_retry();
    on_lost();
    return false;
}

void corosync_service::schedule_retry() {
    if (stopped_) {
        return;
    }
    retry_.arm_in(backoff_);
    backoff_ = std::min(backoff_ * 2, max_retry);
}

} // namespace pvebal::balancerd
