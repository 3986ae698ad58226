// File: daemon/cpg_service.h
//
// The daemon's membership in the corosync CPG group `pve-balancer`: join, configuration changes,
// agreed-order multicast. One CPG handle is kept for as long as corosync keeps it (pmxcfs's
// dfsm.c notes that initializing and finalizing repeatedly confuses corosync); it is only
// replaced after corosync went away.
#ifndef PVEBAL_DAEMON_CPG_SERVICE_H_
#define PVEBAL_DAEMON_CPG_SERVICE_H_

#include "service.h"
#include "types.h"

#include <corosync/cpg.h>

#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pvebal::balancerd {

inline constexpr const char *cpg_group = "pve-balancer";

// Owns a cpg_handle_t: cpg_finalize on destruction.
class cpg_handle {
public:
    cpg_handle() = default;
    explicit cpg_handle(cpg_handle_t h) : h_(h) {}
    ~cpg_handle() { reset(); }
    cpg_handle(const cpg_handle &) = delete;
    cpg_handle &operator=(const cpg_handle &) = delete;
    cpg_handle(cpg_handle &&o) noexcept : h_(o.h_) { o.h_ = 0; }
    cpg_handle &operator=(cpg_handle &&o) noexcept {
        if (this != &o) {
            reset();
            h_ = o.h_;
            o.h_ = 0;
        }
        return *this;
    }
    cpg_handle_t get() const { return h_; }
    explicit operator bool() const { return h_ != 0; }
    void reset() {
        if (h_ != 0) {
            cpg_finalize(h_);
            h_ = 0;
        }
    }

private:
    cpg_handle_t h_ = 0;
};

struct cpg_hooks {
    std::function<void(member_id self)> joined;
    std::function<void(const std::vector<member_id> &members, const std::vector<member_id> &joined,
                       const std::vector<member_id> &left)>
        members;
    std::function<void()> lost;
    std::function<void(member_id from, std::string_view bytes)> deliver;
};

class cpg_service : public corosync_service {
public:
    cpg_service(event_loop &loop, cpg_hooks hooks);
    ~cpg_service() override;

    // Multicasts `bytes` to the group; queued and retried while corosync says "try again".
    bool send(const std::string &bytes);
    // Leaves the group and closes the handle (shutdown): the others re-elect at once.
    void leave();
    bool joined() const { return joined_; }

private:
    result<int> initialize() override;
    bool dispatch() override;
    void finalize() override;
    void on_connected() override;
    void on_lost() override;

    void flush();
    static void deliver_cb(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid,
                           uint32_t pid, void *msg, size_t len);
    static void confchg_cb(cpg_handle_t handle, const struct cpg_name *group,
                           const struct cpg_address *members, size_t n_members,
                           const struct cpg_address *left, size_t n_left,
                           const struct cpg_address *joined, size_t n_joined);

    cpg_hooks hooks_;
    cpg_handle handle_;
    cpg_callbacks_t callbacks_{};
    struct cpg_name name_ {};
    std::uint32_t nodeid_ = 0;
    bool joined_ = false;
    std::deque<std::string> queue_;
    timer send_retry_;
};

} // namespace pvebal::balancerd

#endif
