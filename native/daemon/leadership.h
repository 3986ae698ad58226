// File: daemon/leadership.h
//
// Who is the active balancer: a pure decision over what corosync last told this node, with no
// corosync in it.
//
//   membership_view v{.connected = true, .self = {2, 812}, .members = {{1, 700}, {2, 812}},
//                     .quorate_notified = true, .quorate_now = true};
//   decide(v)  ->  {role::standby, leader {1, 700}}
//
// Rule: exactly one member of a quorate partition is active, the member with the lowest
// corosync node id among the members of the CPG group. A node is quorate for this decision only
// if the last quorum notification *and* a synchronous quorum query both say so: on a split,
// corosync delivers the CPG configuration change a few milliseconds before the quorum
// notification, so the notified value alone is stale at that moment (see docs/daemon.md).
//
// `election` adds the settle time on top: losing leadership takes effect at once, gaining it
// only after the decision has said "active" for `settle` without interruption, checked again
// with a fresh quorum query.
#ifndef PVEBAL_DAEMON_LEADERSHIP_H_
#define PVEBAL_DAEMON_LEADERSHIP_H_

#include "types.h"

#include <optional>
#include <string_view>
#include <vector>

namespace pvebal::balancerd {

enum class role : std::uint8_t {
    disconnected, // not (yet) connected to corosync's CPG and quorum services, or not joined
    no_quorum,    // connected, but this node's partition is not quorate: never acts
    standby,      // quorate, another member is the active node
    active,       // quorate and the lowest node id of the group: runs the cycles
};
std::string_view to_string(role r);

struct membership_view {
    bool connected = false;               // CPG joined and quorum tracked
    member_id self;                       // this process
    std::vector<member_id> members;       // CPG members of the group, any order
    std::optional<bool> quorate_notified; // last quorum notification; nullopt: none yet
    std::optional<bool> quorate_now;      // synchronous quorum query; nullopt: query failed
};

struct decision {
    role r = role::disconnected;
    std::optional<member_id> leader; // lowest member of the group (known whenever joined)
    bool operator==(const decision &) const = default;
};

decision decide(const membership_view &v);

// The decision over time, with the settle delay before becoming active.
class election {
public:
    explicit election(millis settle) : settle_(settle) {}

    // Feeds a new decision made at `now`; returns the role in effect.
    role update(const decision &d, millis now);

    role current() const { return current_; }
    std::optional<member_id> leader() const { return leader_; }
    millis active_since() const { return active_since_; }
    // When to decide again (to finish settling); nullopt when nothing is pending.
    std::optional<millis> deadline() const;

private:
    millis settle_;
    role current_ = role::disconnected;
    std::optional<member_id> leader_;
    std::optional<millis> candidate_since_; // the decision says active since then
    millis active_since_ = 0;
};

} // namespace pvebal::balancerd

#endif
