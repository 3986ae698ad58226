#include "psi_watcher.h"

#include "log.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/statfs.h>
#include <unistd.h>

namespace pvebal::balancerd {

void unique_fd::reset(int fd) {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = fd;
}

psi_watcher::psi_watcher(event_loop &loop, std::string dir,
                         std::function<void(psi_resource)> on_trigger)
    : loop_(loop), dir_(std::move(dir)), on_trigger_(std::move(on_trigger)) {}

std::string psi_watcher::path(psi_resource r) const {
    return dir_ + "/" + std::string(to_string(r));
}

void psi_watcher::disarm() {
    for (auto &fd : triggers_) {
        if (fd) {
            loop_.unwatch(fd.get());
            fd.reset();
        }
    }
}

psi_mode psi_watcher::arm(const std::array<unsigned, 3> &threshold, unsigned window_s) {
    disarm();
    reason_.clear();
    bool any_file = false;
    for (auto r : all_psi_resources) {
        if (threshold[index_of(r)] > 0 && ::access(path(r).c_str(), R_OK) == 0) {
            any_file = true;
        }
    }
    if (!any_file) {
        reason_ = "no readable PSI files in " + dir_;
        return psi_mode::off;
    }
    std::uint64_t window_us = std::uint64_t{window_s} * 1000000;
    for (auto r : all_psi_resources) {
        unsigned pct = threshold[index_of(r)];
        if (pct == 0) {
            continue;
        }
        unique_fd fd(::open(path(r).c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
        if (!fd) {
            reason_ = path(r) + ": " + std::strerror(errno);
            break;
        }
        struct statfs fs {};
        if (::fstatfs(fd.get(), &fs) != 0 || fs.f_type != PROC_SUPER_MAGIC) {
            reason_ = dir_ + " is not procfs";
            break;
        }
        std::uint64_t stall_us = window_us * pct / 100;
        std::string trig = "some " + std::to_string(stall_us) + " " + std::to_string(window_us);
        // The kernel wants the terminating NUL written too.
        if (::write(fd.get(), trig.c_str(), trig.size() + 1) < 0) {
            reason_ = "cannot create a PSI trigger on " + path(r) + ": " + std::strerror(errno);
            break;
        }
        int raw = fd.get();
        if (!loop_.watch(raw, POLLPRI, [this, r](int revents) {
                if ((revents & (POLLERR | POLLNVAL)) != 0) {
                    // The trigger is gone (e.g. its cgroup vanished): the controller keeps
                    // reading when it re-arms; log and stop watching this fd.
                    log_message(log_level::warning,
                                "PSI trigger on " + std::string(to_string(r)) + " failed");
                    return false;
                }
                if ((revents & POLLPRI) != 0) {
                    on_trigger_(r);
                }
                return true;
            })) {
            reason_ = "cannot watch the PSI trigger on " + path(r);
            break;
        }
        triggers_[index_of(r)] = std::move(fd);
    }
    if (!reason_.empty()) {
        disarm();
        return psi_mode::poll;
    }
    return psi_mode::trigger;
}

psi_reading psi_watcher::read() const {
    psi_reading out;
    for (auto r : all_psi_resources) {
        unique_fd fd(::open(path(r).c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            continue;
        }
        char buf[512];
        ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
        if (n <= 0) {
            continue;
        }
        auto s = parse_psi(std::string_view(buf, static_cast<std::size_t>(n)), path(r));
        if (s) {
            out[index_of(r)] = *s;
        } else {
            log_message(log_level::debug, "unreadable PSI: " + s.error().to_string());
        }
    }
    return out;
}

} // namespace pvebal::balancerd
