// File: daemon/psi_watcher.h
//
// Reads this node's PSI files and, where the kernel permits, arms PSI triggers on them
// (Documentation/accounting/psi.rst: write "some <stall us> <window us>" to an fd opened
// O_RDWR on /proc/pressure/<resource>, then poll for POLLPRI). Trigger mode needs procfs and
// the right to create triggers; anywhere else (a --psi-dir of plain files in tests, containers,
// kernels without triggers) the watcher reports poll mode and the controller reads the averages
// periodically.
#ifndef PVEBAL_DAEMON_PSI_WATCHER_H_
#define PVEBAL_DAEMON_PSI_WATCHER_H_

#include "loop.h"
#include "psi.h"

#include <array>
#include <functional>
#include <string>

namespace pvebal::balancerd {

// Owns a file descriptor: close on destruction.
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) : fd_(fd) {}
    ~unique_fd() { reset(); }
    unique_fd(const unique_fd &) = delete;
    unique_fd &operator=(const unique_fd &) = delete;
    unique_fd(unique_fd &&o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    unique_fd &operator=(unique_fd &&o) noexcept {
        if (this != &o) {
            reset();
            fd_ = o.fd_;
            o.fd_ = -1;
        }
        return *this;
    }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset(int fd = -1);

private:
    int fd_ = -1;
};

class psi_watcher {
public:
    // `on_trigger` is called on the loop when the kernel trigger of a resource fires.
    psi_watcher(event_loop &loop, std::string dir, std::function<void(psi_resource)> on_trigger);
    ~psi_watcher() { disarm(); }

    psi_mode arm(const std::array<unsigned, 3> &threshold, unsigned window_s);
    void disarm();
    psi_reading read() const;
    // Why triggers are not in use (empty in trigger mode).
    const std::string &fallback_reason() const { return reason_; }

private:
    std::string path(psi_resource r) const;

    event_loop &loop_;
    std::string dir_;
    std::function<void(psi_resource)> on_trigger_;
    std::array<unique_fd, 3> triggers_;
    std::string reason_;
};

} // namespace pvebal::balancerd

#endif
