// Shared by the hard-constraint tests (constraints_test.cpp, constraints_state_test.cpp): a
// snapshot read through the real reader with its options bound and its affinity compiled, and
// the four-node cluster most cases start from.
#ifndef PVEBAL_TESTS_SUPPORT_CONSTRAINTS_FIXTURE_H_
#define PVEBAL_TESTS_SUPPORT_CONSTRAINTS_FIXTURE_H_

#include "test_util.h"

#include "constraints/registry.h"
#include "pvebal/constraints.h"
#include "pvebal/io.h"

#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>

namespace pvebal::test {

inline bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

// A snapshot read through the real reader, options bound (maintenance-nodes), affinity compiled.
struct fixture {
    snapshot s;
    affinity_groups a;

    explicit fixture(const snapshot_builder &b)
        : s(bound(b.build())), a(compile_affinity(s.c, s.opts)) {}
    detail::decision_context ctx() const { return detail::decision_context(s.c, s.opts, a); }

    static snapshot bound(snapshot s) {
        if (auto r = bind_options(s.c, s.opts); !r) {
            throw std::runtime_error(r.error().to_string());
        }
        return s;
    }
    node_id node(const std::string &name) const { return s.c.find_node(name).value(); }
    guest_id guest(std::uint32_t vmid) const { return s.c.find_guest(vmid).value(); }
    std::optional<rejection> target(std::uint32_t vmid, const std::string &n) const {
        return detail::check_target(ctx(), guest(vmid), node(n));
    }
    std::optional<rejection> fits(const overlay &st, const std::vector<std::uint32_t> &vmids,
                                  const std::string &n, bool explain = true) const {
        std::vector<guest_id> gs;
        for (std::uint32_t v : vmids) {
            gs.push_back(guest(v));
        }
        return detail::check_state(ctx(), st, gs, node(n), explain);
    }
    overlay state() const { return overlay(s.c, s.opts, a); }
    std::vector<std::string> immovable(std::uint32_t vmid) const {
        std::vector<std::string> names;
        for (const rejection &r : immovable_reasons(s.c, s.opts, guest(vmid))) {
            names.push_back(constraint_name(r.kind));
        }
        return names;
    }
};

// Checks a rejection's constraint name and that its message mentions every `parts`.
inline void expect_rejection(const std::optional<rejection> &r, const std::string &constraint,
                             const std::vector<std::string> &parts) {
    BOOST_REQUIRE_MESSAGE(r.has_value(), "expected a '" << constraint << "' rejection, got none");
    BOOST_TEST(r->kind == constraint, "message: " << r->message);
    for (const std::string &p : parts) {
        BOOST_TEST(contains(r->message, p), "'" << r->message << "' should mention '" << p << "'");
    }
}

inline void expect_ok(const std::optional<rejection> &r) {
    BOOST_TEST(!r.has_value(),
               "unexpected rejection: "
                   << (r ? constraint_name(r->kind) + std::string(": ") + r->message : ""));
}

// Four equal nodes, one guest on the first.
inline snapshot_builder four_nodes() {
    snapshot_builder b;
    b.node("alpha", 16, 64 * GiB, 0.1, 8 * GiB).node("bravo", 16, 64 * GiB, 0.1, 4 * GiB);
    b.node("charlie", 16, 64 * GiB, 0.1, 4 * GiB).node("delta", 16, 64 * GiB, 0.1, 4 * GiB);
    b.guest(100, "alpha", 2, 4 * GiB, 0.5, 2 * GiB);
    return b;
}

inline Json::Value ha_resource_json(const std::string &sid, bool failback = true) {
    Json::Value r(Json::objectValue);
    r["sid"] = sid;
    r["state"] = "started";
    if (!failback) {
        r["failback"] = 0;
    }
    return r;
}

inline Json::Value rule_json(const std::string &id, const std::string &type,
                             const std::string &resources) {
    Json::Value r(Json::objectValue);
    r["rule"] = id;
    r["type"] = type;
    r["resources"] = resources;
    return r;
}

} // namespace pvebal::test

#endif
