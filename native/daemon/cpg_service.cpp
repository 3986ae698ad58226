#include "cpg_service.h"

#include "log.h"

#include <corosync/corotypes.h>

#include <cstring>
#include <sys/uio.h>
#include <unistd.h>

namespace pvebal::balancerd {

namespace {

std::string cs_error(cs_error_t e) {
    return cs_strerror(e);
}

std::vector<member_id> to_members(const struct cpg_address *list, size_t n) {
    std::vector<member_id> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        out.push_back({list[i].nodeid, list[i].pid});
    }
    return out;
}

constexpr std::size_t max_queue = 64;

} // namespace

cpg_service::cpg_service(event_loop &loop, cpg_hooks hooks)
    : corosync_service(loop, "cpg"), hooks_(std::move(hooks)),
      send_retry_(loop, [this] { flush(); }) {
    callbacks_.cpg_deliver_fn = deliver_cb;
    callbacks_.cpg_confchg_fn = confchg_cb;
    name_.length = static_cast<uint32_t>(std::strlen(cpg_group));
    std::memcpy(name_.value, cpg_group, name_.length);
}

cpg_service::~cpg_service() {
    stop();
}

result<int> cpg_service::initialize() {
    if (!handle_) {
        cpg_handle_t h = 0;
        cs_error_t e = cpg_initialize(&h, &callbacks_);
        if (e != CS_OK) {
            return fail("", "cpg_initialize failed: " + cs_error(e) +
                                (e == CS_ERR_LIBRARY ? " (corosync not running?)" : ""));
        }
        cpg_handle handle(h);
        if ((e = cpg_local_get(h, &nodeid_)) != CS_OK) {
            return fail("", "cpg_local_get failed: " + cs_error(e));
        }
        if ((e = cpg_context_set(h, this)) != CS_OK) {
            return fail("", "cpg_context_set failed: " + cs_error(e));
        }
        handle_ = std::move(handle);
    }
    cs_error_t e = CS_OK;
    // corosync answers "try again" while it syncs; a few short retries, then the service timer.
    for (int i = 0; i < 10; ++i) {
        e = cpg_join(handle_.get(), &name_);
        if (e != CS_ERR_TRY_AGAIN) {
            break;
        }
        usleep(100000);
    }
    if (e != CS_OK) {
        handle_.reset(); // a handle that cannot join cannot dispatch
        return fail("", "cpg_join failed: " + cs_error(e));
    }
    int fd = -1;
    if ((e = cpg_fd_get(handle_.get(), &fd)) != CS_OK) {
        handle_.reset();
        return fail("", "cpg_fd_get failed: " + cs_error(e));
    }
    return fd;
}

void cpg_service::on_connected() {
    joined_ = true;
    hooks_.joined({nodeid_, static_cast<std::uint32_t>(getpid())});
    flush();
}

bool cpg_service::dispatch() {
    cs_error_t e = cpg_dispatch(handle_.get(), CS_DISPATCH_ALL);
    if (e == CS_OK || e == CS_ERR_TRY_AGAIN) {
        return true;
    }
    log_message(log_level::warning, "cpg_dispatch failed: " + cs_error(e));
    return false;
}

void cpg_service::finalize() {
    joined_ = false;
    queue_.clear();
    send_retry_.cancel();
    handle_.reset();
}

void cpg_service::on_lost() {
    hooks_.lost();
}

void cpg_service::leave() {
    if (joined_) {
        cs_error_t e = CS_OK;
        for (int i = 0; i < 10; ++i) {
            e = cpg_leave(handle_.get(), &name_);
            if (e != CS_ERR_TRY_AGAIN) {
                break;
            }
            usleep(100000);
        }
        if (e != CS_OK) {
            log_message(log_level::warning, "cpg_leave failed: " + cs_error(e));
        }
    }
    stop();
}

bool cpg_service::send(const std::string &bytes) {
    if (!joined_) {
        return false;
    }
    if (queue_.size() >= max_queue) {
        queue_.pop_front();
        log_message(log_level::warning, "cpg: send queue full, dropped the oldest message");
    }
    queue_.push_back(bytes);
    flush();
    return true;
}

void cpg_service::flush() {
    while (joined_ && !queue_.empty()) {
        struct iovec iov {};
        iov.iov_base = queue_.front().data();
        iov.iov_len = queue_.front().size();
        cs_error_t e = cpg_mcast_joined(handle_.get(), CPG_TYPE_AGREED, &iov, 1);
        if (e == CS_ERR_TRY_AGAIN) {
            if (!send_retry_.armed()) {
                send_retry_.arm_in(100);
            }
            return;
        }
        if (e != CS_OK) {
            // The connection is failing; dispatch will notice and reconnect.
            log_message(log_level::warning, "cpg_mcast_joined failed: " + cs_error(e));
            queue_.clear();
            return;
        }
        queue_.pop_front();
    }
}

void cpg_service::deliver_cb(cpg_handle_t handle, const struct cpg_name *, uint32_t nodeid,
                             uint32_t pid, void *msg, size_t len) {
    void *ctx = nullptr;
    if (cpg_context_get(handle, &ctx) != CS_OK || !ctx) {
        return;
    }
    auto *self = static_cast<cpg_service *>(ctx);
    self->hooks_.deliver({nodeid, pid}, std::string_view(static_cast<const char *>(msg), len));
}

void cpg_service::confchg_cb(cpg_handle_t handle, const struct cpg_name *,
                             const struct cpg_address *members, size_t n_members,
                             const struct cpg_address *left, size_t n_left,
                             const struct cpg_address *joined, size_t n_joined) {
    void *ctx = nullptr;
    if (cpg_context_get(handle, &ctx) != CS_OK || !ctx) {
        return;
    }
    auto *self = static_cast<cpg_service *>(ctx);
    self->hooks_.members(to_members(members, n_members), to_members(joined, n_joined),
                         to_members(left, n_left));
}

} // namespace pvebal::balancerd
