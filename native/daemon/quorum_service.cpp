#include "quorum_service.h"

#include "log.h"

#include <corosync/corotypes.h>

namespace pvebal::balancerd {

quorum_service::quorum_service(event_loop &loop, quorum_hooks hooks)
    : corosync_service(loop, "quorum"), hooks_(std::move(hooks)) {
    callbacks_.quorum_notify_fn = notify_cb;
}

quorum_service::~quorum_service() {
    stop();
}

result<int> quorum_service::initialize() {
    quorum_handle_t h = 0;
    uint32_t type = 0;
    cs_error_t e = quorum_initialize(&h, &callbacks_, &type);
    if (e != CS_OK) {
        return fail("", "quorum_initialize failed: " + std::string(cs_strerror(e)) +
                            (e == CS_ERR_LIBRARY ? " (corosync not running?)" : ""));
    }
    quorum_handle handle(h);
    if (type != QUORUM_SET) {
        return fail("", "corosync has no quorum provider configured (quorum type " +
                            std::to_string(type) + ")");
    }
    if ((e = quorum_context_set(h, this)) != CS_OK) {
        return fail("", "quorum_context_set failed: " + std::string(cs_strerror(e)));
    }
    // CS_TRACK_CURRENT: one notification with the current state right away.
    if ((e = quorum_trackstart(h, CS_TRACK_CHANGES | CS_TRACK_CURRENT)) != CS_OK) {
        return fail("", "quorum_trackstart failed: " + std::string(cs_strerror(e)));
    }
    int fd = -1;
    if ((e = quorum_fd_get(h, &fd)) != CS_OK) {
        return fail("", "quorum_fd_get failed: " + std::string(cs_strerror(e)));
    }
    handle_ = std::move(handle);
    return fd;
}

bool quorum_service::dispatch() {
    cs_error_t e = quorum_dispatch(handle_.get(), CS_DISPATCH_ALL);
    if (e == CS_OK || e == CS_ERR_TRY_AGAIN) {
        return true;
    }
    log_message(log_level::warning, "quorum_dispatch failed: " + std::string(cs_strerror(e)));
    return false;
}

void quorum_service::finalize() {
    handle_.reset();
}

void quorum_service::on_lost() {
    hooks_.lost();
}

std::optional<bool> quorum_service::quorate_now() {
    if (!handle_ || !connected()) {
        return std::nullopt;
    }
    int quorate = 0;
    if (quorum_getquorate(handle_.get(), &quorate) != CS_OK) {
        return std::nullopt;
    }
    return quorate != 0;
}

void quorum_service::notify_cb(quorum_handle_t handle, uint32_t quorate, uint64_t, uint32_t,
                               uint32_t *) {
    const void *ctx = nullptr;
    if (quorum_context_get(handle, &ctx) != CS_OK || !ctx) {
        return;
    }
    auto *self = static_cast<quorum_service *>(const_cast<void *>(ctx));
    self->hooks_.changed(quorate != 0);
}

} // namespace pvebal::balancerd
