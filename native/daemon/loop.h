// File: daemon/loop.h
//
// RAII over libqb's main loop (qb_loop): the loop itself, file descriptor watches, one-shot
// timers and signals, with std::function callbacks. Single-threaded: every callback runs on the
// loop, never in a signal handler.
//
//   event_loop loop;
//   timer t(loop, [&] { ... });
//   t.arm_in(1500);                                   // milliseconds
//   loop.watch(fd, POLLIN, [&](int revents) { return dispatch(); }); // false: stop watching
//   loop.on_signal(SIGTERM, [&] { loop.stop(); });
//   loop.run();
#ifndef PVEBAL_DAEMON_LOOP_H_
#define PVEBAL_DAEMON_LOOP_H_

#include "types.h"

#include <qb/qbloop.h>

#include <functional>
#include <map>
#include <memory>

namespace pvebal::balancerd {

class event_loop {
public:
    event_loop();
    ~event_loop();
    event_loop(const event_loop &) = delete;
    event_loop &operator=(const event_loop &) = delete;

    qb_loop_t *get() const { return loop_; }
    void run() { qb_loop_run(loop_); }
    void stop() { qb_loop_stop(loop_); }

    // Calls `cb(revents)` when `fd` is ready; `cb` returns false to stop watching (the fd is
    // not closed). Returns false when libqb refuses the fd.
    bool watch(int fd, int events, std::function<bool(int)> cb);
    void unwatch(int fd);

    void on_signal(int sig, std::function<void()> cb);

private:
    struct fd_watch {
        event_loop *loop;
        int fd;
        std::function<bool(int)> cb;
    };
    struct signal_watch {
        std::function<void()> cb;
        qb_loop_signal_handle handle = nullptr;
    };
    static int32_t dispatch_fd(int32_t fd, int32_t revents, void *data);
    static int32_t dispatch_signal(int32_t sig, void *data);

    qb_loop_t *loop_;
    std::map<int, std::unique_ptr<fd_watch>> fds_;
    std::map<int, std::unique_ptr<signal_watch>> signals_;
};

// A one-shot timer; arming it again replaces the pending expiry.
class timer {
public:
    timer(event_loop &loop, std::function<void()> cb) : loop_(loop), cb_(std::move(cb)) {}
    ~timer() { cancel(); }
    timer(const timer &) = delete;
    timer &operator=(const timer &) = delete;

    void arm_in(millis delay);
    void cancel();
    bool armed() const { return armed_; }

private:
    static void expired(void *data);

    event_loop &loop_;
    std::function<void()> cb_;
    qb_loop_timer_handle handle_ = 0;
    bool armed_ = false;
};

} // namespace pvebal::balancerd

#endif
