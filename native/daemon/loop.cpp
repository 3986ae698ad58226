#include "loop.h"

#include <cstring>
#include <stdexcept>

namespace pvebal::balancerd {

event_loop::event_loop() : loop_(qb_loop_create()) {
    if (!loop_) {
        throw std::runtime_error("qb_loop_create failed");
    }
}

event_loop::~event_loop() {
    for (auto &[fd, w] : fds_) {
        qb_loop_poll_del(loop_, fd);
    }
    for (auto &[sig, w] : signals_) {
        qb_loop_signal_del(loop_, w->handle);
    }
    qb_loop_destroy(loop_);
}

int32_t event_loop::dispatch_fd(int32_t fd, int32_t revents, void *data) {
    auto *w = static_cast<fd_watch *>(data);
    if (w->cb(revents)) {
        return 0;
    }
    // libqb removes the fd when we return -1; drop our record after the callback has returned.
    event_loop *loop = w->loop;
    auto it = loop->fds_.find(fd);
    if (it != loop->fds_.end() && it->second.get() == w) {
        loop->fds_.erase(it);
    }
    return -1;
}

bool event_loop::watch(int fd, int events, std::function<bool(int)> cb) {
    unwatch(fd);
    auto w = std::make_unique<fd_watch>(fd_watch{this, fd, std::move(cb)});
    if (qb_loop_poll_add(loop_, QB_LOOP_MED, fd, events, w.get(), dispatch_fd) != 0) {
        return false;
    }
    fds_[fd] = std::move(w);
    return true;
}

void event_loop::unwatch(int fd) {
    auto it = fds_.find(fd);
    if (it == fds_.end()) {
        return;
    }
    qb_loop_poll_del(loop_, fd);
    fds_.erase(it);
}

int32_t event_loop::dispatch_signal(int32_t, void *data) {
    static_cast<signal_watch *>(data)->cb();
    return 0;
}

void event_loop::on_signal(int sig, std::function<void()> cb) {
    auto w = std::make_unique<signal_watch>();
    w->cb = std::move(cb);
    if (qb_loop_signal_add(loop_, QB_LOOP_HIGH, sig, w.get(), dispatch_signal, &w->handle) != 0) {
        throw std::runtime_error("qb_loop_signal_add failed for signal " + std::to_string(sig));
    }
    signals_[sig] = std::move(w);
}

void timer::expired(void *data) {
    auto *t = static_cast<timer *>(data);
    t->armed_ = false;
    t->handle_ = 0;
    t->cb_();
}

void timer::arm_in(millis delay) {
    cancel();
    if (delay < 0) {
        delay = 0;
    }
    auto ns = static_cast<std::uint64_t>(delay) * 1000000ull;
    if (qb_loop_timer_add(loop_.get(), QB_LOOP_MED, ns, this, expired, &handle_) != 0) {
        throw std::runtime_error("qb_loop_timer_add failed");
    }
    armed_ = true;
}

void timer::cancel() {
    if (armed_) {
        qb_loop_timer_del(loop_.get(), handle_);
        armed_ = false;
        handle_ = 0;
    }
}

} // namespace pvebal::balancerd
