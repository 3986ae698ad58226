// File: daemon/quorum_service.h
//
// corosync's quorum service (libquorum): tracks quorum changes and answers a synchronous
// "quorate now?" for the leadership decision (pve-cluster src/pmxcfs/quorum.c is the precedent).
#ifndef PVEBAL_DAEMON_QUORUM_SERVICE_H_
#define PVEBAL_DAEMON_QUORUM_SERVICE_H_

#include "service.h"

#include <corosync/quorum.h>

#include <functional>
#include <optional>

namespace pvebal::balancerd {

// Owns a quorum_handle_t: quorum_finalize on destruction.
class quorum_handle {
public:
    quorum_handle() = default;
    explicit quorum_handle(quorum_handle_t h) : h_(h) {}
    ~quorum_handle() { reset(); }
    quorum_handle(const quorum_handle &) = delete;
    quorum_handle &operator=(const quorum_handle &) = delete;
    quorum_handle(quorum_handle &&o) noexcept : h_(o.h_) { o.h_ = 0; }
    quorum_handle &operator=(quorum_handle &&o) noexcept {
        if (this != &o) {
            reset();
            h_ = o.h_;
            o.h_ = 0;
        }
        return *this;
    }
    quorum_handle_t get() const { return h_; }
    explicit operator bool() const { return h_ != 0; }
    void reset() {
        if (h_ != 0) {
            quorum_finalize(h_);
            h_ = 0;
        }
    }

private:
    quorum_handle_t h_ = 0;
};

struct quorum_hooks {
    std::function<void(bool quorate)> changed;
    std::function<void()> lost;
};

class quorum_service : public corosync_service {
public:
    quorum_service(event_loop &loop, quorum_hooks hooks);
    ~quorum_service() override;

    // quorum_getquorate() now; nullopt when not connected or the query fails.
    std::optional<bool> quorate_now();

private:
    result<int> initialize() override;
    bool dispatch() override;
    void finalize() override;
    void on_lost() override;

    static void notify_cb(quorum_handle_t handle, uint32_t quorate, uint64_t ring_seq,
                          uint32_t view_list_entries, uint32_t *view_list);

    quorum_hooks hooks_;
    quorum_handle handle_;
    quorum_callbacks_t callbacks_{};
};

} // namespace pvebal::balancerd

#endif
