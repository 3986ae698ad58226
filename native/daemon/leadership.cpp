#include "leadership.h"

#include <algorithm>

namespace pvebal::balancerd {

std::string_view to_string(role r) {
    switch (r) {
    case role::disconnected:
        return "disconnected";
    case role::no_quorum:
        return "no-quorum";
    case role::standby:
        return "standby";
    case role::active:
        return "active";
    }
    return "?";
}

decision decide(const membership_view &v) {
    decision d;
    bool joined = std::find(v.members.begin(), v.members.end(), v.self) != v.members.end();
    if (!v.connected || !joined) {
        return d;
    }
    d.leader = *std::min_element(v.members.begin(), v.members.end());
    if (v.quorate_notified != true || v.quorate_now != true) {
        d.r = role::no_quorum;
    } else {
        d.r = *d.leader == v.self ? role::active : role::standby;
    }
    return d;
}

role election::update(const decision &d, millis now) {
    leader_ = d.leader;
    if (d.r != role::active) {
        candidate_since_.reset();
        current_ = d.r;
        return current_;
    }
    if (current_ == role::active) {
        return current_;
    }
    if (!candidate_since_) {
        candidate_since_ = now;
    }
    if (now - *candidate_since_ >= settle_) {
        candidate_since_.reset();
        current_ = role::active;
        active_since_ = now;
    } else {
        // Still settling: until then this node is a standby (the leader is itself).
        current_ = role::standby;
    }
    return current_;
}

std::optional<millis> election::deadline() const {
    if (!candidate_since_) {
        return std::nullopt;
    }
    return *candidate_since_ + settle_;
}

} // namespace pvebal::balancerd
