// File: daemon/service.h
//
// A connection to one corosync service, pmxcfs style (pve-cluster src/pmxcfs/loop.c): initialize
// gives a file descriptor or fails, dispatch runs when it is readable, finalize closes. When
// initialize fails or the connection breaks (corosync stopped or restarting), the service tries
// again on a timer with back-off (0.5 s doubling to 5 s), logging the first failure and then
// every 12th attempt, never giving up and never blocking the loop.
#ifndef PVEBAL_DAEMON_SERVICE_H_
#define PVEBAL_DAEMON_SERVICE_H_

#include "loop.h"

#include "pvebal/error.h"

#include <string>

namespace pvebal::balancerd {

class corosync_service {
public:
    corosync_service(event_loop &loop, std::string name);
    virtual ~corosync_service() = default;
    corosync_service(const corosync_service &) = delete;
    corosync_service &operator=(const corosync_service &) = delete;

    void start();
    // Closes the connection for good (shutdown): no more retries.
    void stop();
    bool connected() const { return fd_ >= 0; }

    static constexpr millis first_retry = 500;
    static constexpr millis max_retry = 5000;
    static constexpr unsigned log_every = 12;

protected:
    virtual result<int> initialize() = 0; // the fd to poll
    virtual bool dispatch() = 0;          // false: the connection is gone
    virtual void finalize() = 0;
    virtual void on_connected() {}
    virtual void on_lost() {}

    event_loop &loop() { return loop_; }

private:
    void attempt();
    void schedule_retry();
    bool ready(int revents);

    event_loop &loop_;
    std::string name_;
    timer retry_;
    int fd_ = -1;
    unsigned failures_ = 0;
    millis backoff_ = first_retry;
    bool stopped_ = false;
};

} // namespace pvebal::balancerd

#endif
