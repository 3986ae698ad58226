// The reference checker of the planner property tests: every plan is replayed, wave by wave,
// and each intermediate state checked against the documented rules (support/rules.h,
// docs/constraints.md, docs/options.md, docs/algorithms.md); loads, limits and rules are
// recomputed from the model, never through the engine's constraint checks.
#ifndef PVEBAL_TESTS_SUPPORT_PLAN_REFERENCE_H_
#define PVEBAL_TESTS_SUPPORT_PLAN_REFERENCE_H_

#include "support/plan_generator.h"
#include "support/rules.h"
#include "test_util.h"

#include "pvebal/io.h"
#include "pvebal/load.h"
#include "pvebal/report.h"
#include "pvebal/scoring.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pvebal::test::plans {

class reference {
public:
    // `drained`: nodes being evacuated (never a target, not active).
    reference(const cluster &c, const options &o, const std::vector<bool> &drained)
        : c_(c), o_(o), drained_(drained), lv_(make_load_view(c, o.mode)) {
        const size_t ng = c.guests.size();
        immovable_.assign(ng, false);
        pins_.assign(ng, {});
        apart_of_.assign(ng, {});
        comp_.resize(ng);
        std::iota(comp_.begin(), comp_.end(), 0u);
        std::map<std::string, std::vector<guest_id>> tag_apart, tag_together;
        for (guest_id g = 0; g < ng; ++g) {
            const guest &gs = c.guests[g];
            const tag_reading tags = read_tags(c, o, g);
            const bool ignored = tags.ignored;
            pins_[g] = tags.pins;
            for (const std::string &name : tags.apart) {
                tag_apart[name].push_back(g);
            }
            for (const std::string &name : tags.together) {
                tag_together[name].push_back(g);
            }
            const ha_resource *hr = c.ha.find(g);
            immovable_[g] =
                gs.is_template || !gs.lock.empty() || ignored || !gs.local_resources.empty() ||
                (gs.type == guest_type::lxc && gs.running && !o.allow_container_restart) ||
                (hr != nullptr && hr->state == "ignored") || !c.nodes[gs.node].online;
        }
        for (const resource_affinity_rule &r : c.ha.resource_affinity) {
            (r.positive ? together_ : apart_).push_back(r.guests);
        }
        for (auto &[name, members] : tag_apart) {
            apart_.push_back(members);
        }
        for (auto &[name, members] : tag_together) {
            if (members.size() >= 2) {
                together_.push_back(members);
            }
        }
        for (size_t k = 0; k < apart_.size(); ++k) {
            for (guest_id g : apart_[k]) {
                apart_of_[g].push_back(k);
            }
        }
        for (const auto &grp : together_) {
            for (guest_id g : grp) {
                unite(grp.front(), g);
            }
        }
    }

    const load_view &lv() const { return lv_; }
    bool immovable(guest_id g) const { return immovable_[g]; }
    const std::vector<std::vector<guest_id>> &together() const { return together_; }
    guest_id component(guest_id g) const {
        while (comp_[g] != g) {
            g = comp_[g];
        }
        return g;
    }
    bool usable_target(node_id n) const {
        return c_.nodes[n].online && !c_.nodes[n].maintenance && !drained_[n];
    }

    // Why g may never go from `from` to n, whatever the load (empty: it may).
    std::string static_error(guest_id g, node_id from, node_id n) const {
        const guest &gs = c_.guests[g];
        const node &nd = c_.nodes[n];
        if (!usable_target(n)) {
            return "target " + nd.name + " is offline, in maintenance or drained";
        }
        if (!pins_[g].empty() && std::find(pins_[g].begin(), pins_[g].end(), n) == pins_[g].end()) {
            return "pinned elsewhere, moved to " + nd.name;
        }
        for (const node_affinity_rule &r : c_.ha.node_affinity) {
            if (!std::binary_search(r.guests.begin(), r.guests.end(), g) || shares_a_guest(r)) {
                continue; // pve-ha-manager drops node-affinity rules that share a resource
            }
            auto prio = [&](node_id x) { return ha_rule_priority(r, x); };
            if (!prio(n)) {
                return "strict HA rule " + r.id + " does not list " + nd.name;
            }
            const ha_resource *hr = c_.ha.find(g);
            if (hr == nullptr || hr->failback) {
                int best = -100;
                for (node_id x = 0; x < c_.nodes.size(); ++x) {
                    if (usable_target(x) && prio(x)) {
                        best = std::max(best, *prio(x));
                    }
                }
                if (*prio(n) < best) {
                    return "HA rule " + r.id + " with failback prefers nodes of priority " +
                           std::to_string(best) + " over " + nd.name;
                }
            }
        }
        if (precondition_blocks(gs, nd)) {
            return "migrate precondition forbids " + nd.name;
        }
        const node &src = c_.nodes[from];
        for (const guest_disk &d : gs.disks) {
            const storage_info *s = src.find_storage(d.storage);
            if ((s != nullptr && s->shared) || (s == nullptr && src.storages.empty())) {
                continue;
            }
            auto has = [&](const std::string &name) {
                for (const storage_info &t : nd.storages) {
                    if (t.name == name && t.available) {
                        return true;
                    }
                }
                return false;
            };
            bool ok = has(d.storage);
            for (const auto &[a, b] : o_.storage_map) {
                ok = ok || (a == d.storage && has(b));
            }
            if (!ok) {
                return "local disk on " + d.storage + " cannot go to " + nd.name;
            }
        }
        return {};
    }

    // The objective of docs/algorithms.md, from per-node usage.
    double objective(const std::vector<res> &used) const {
        std::vector<double> u[2];
        for (node_id n = 0; n < c_.nodes.size(); ++n) {
            if (!usable_target(n)) {
                continue;
            }
            const res cap = lv_.capacity[n];
            u[0].push_back(cap[dimension::cpu] > 0 ? used[n][dimension::cpu] / cap[dimension::cpu]
                                                   : 0);
            u[1].push_back(cap[dimension::memory] > 0
                               ? used[n][dimension::memory] / cap[dimension::memory]
                               : 0);
        }
        if (u[0].empty()) {
            return 0;
        }
        const double w[2] = {o_.cpu_weight, o_.memory_weight};
        double j = 0;
        for (int r = 0; r < 2; ++r) {
            const double n = static_cast<double>(u[r].size());
            double mean = 0, var = 0, press = 0;
            for (double x : u[r]) {
                mean += x / n;
            }
            for (double x : u[r]) {
                var += (x - mean) * (x - mean) / n;
                const double p = std::max(0.0, x - o_.pressure_threshold);
                press += p * p / n;
            }
            j += w[r] * (var + o_.pressure_weight * press);
        }
        return w[0] + w[1] > 0 ? std::sqrt(j / (w[0] + w[1])) : 0;
    }

    std::vector<res> usage(const std::vector<node_id> &where) const {
        std::vector<res> used = lv_.base;
        for (guest_id g = 0; g < where.size(); ++g) {
            used[where[g]] += lv_.demand[g];
        }
        return used;
    }

    struct replayed {
        std::vector<std::string> errors;
        std::vector<node_id> where; // final placement
    };

    // Replays a plan wave by wave and checks every intermediate state.
    replayed replay(const plan &p) const {
        replayed out;
        auto fail = [&](const std::string &e) {
            if (out.errors.size() < 12) {
                out.errors.push_back(e);
            }
        };
        const size_t ng = c_.guests.size();
        const size_t nn = c_.nodes.size();
        std::vector<node_id> &where = out.where;
        where.resize(ng);
        for (guest_id g = 0; g < ng; ++g) {
            where[g] = c_.guests[g].node;
        }
        const auto &ms = p.migrations;
        for (size_t i = 0; i < ms.size(); ++i) {
            if (ms[i].step != static_cast<int>(i) + 1) {
                fail("migration " + std::to_string(i) + " has step " + std::to_string(ms[i].step));
            }
            if (ms[i].wave < 1 || (i > 0 && ms[i].wave < ms[i - 1].wave)) {
                fail("waves not non-decreasing at step " + std::to_string(ms[i].step));
            }
        }
        if (p.waves != (ms.empty() ? 0 : ms.back().wave)) {
            fail("plan.waves " + std::to_string(p.waves) + " does not match the last wave");
        }
        for (size_t i = 0; i < ms.size();) {
            size_t j = i;
            while (j < ms.size() && ms[j].wave == ms[i].wave) {
                ++j;
            }
            const std::string wl = "wave " + std::to_string(ms[i].wave) + ": ";
            std::vector<node_id> to(ng, no_node);
            bool wave_ok = true;
            for (size_t k = i; k < j; ++k) {
                const migration &m = ms[k];
                const std::string ml = wl + "vm " + std::to_string(c_.guests[m.guest].vmid) + " ";
                if (m.guest >= ng || m.to >= nn || m.from >= nn) {
                    fail(ml + "refers to an unknown guest or node");
                    wave_ok = false;
                    continue;
                }
                if (where[m.guest] != m.from) {
                    fail(ml + "leaves " + c_.nodes[m.from].name + " but is on " +
                         c_.nodes[where[m.guest]].name);
                }
                if (to[m.guest] != no_node) {
                    fail(ml + "moves twice in one wave");
                }
                if (m.to == where[m.guest]) {
                    fail(ml + "moves to the node it is on");
                }
                if (immovable_[m.guest]) {
                    fail(ml + "is immovable but moved");
                }
                if (std::string e = static_error(m.guest, where[m.guest], m.to); !e.empty()) {
                    fail(ml + e);
                }
                to[m.guest] = m.to;
            }
            if (!wave_ok) {
                return out;
            }
            // Parallel limits; one unit (same move, one keep-together component) is exempt.
            auto one_unit = [&](auto touches) {
                std::optional<size_t> first;
                for (size_t k = i; k < j; ++k) {
                    if (!touches(ms[k])) {
                        continue;
                    }
                    if (!first) {
                        first = k;
                    } else if (ms[k].from != ms[*first].from || ms[k].to != ms[*first].to ||
                               component(ms[k].guest) != component(ms[*first].guest)) {
                        return false;
                    }
                }
                return true;
            };
            if (j - i > o_.max_parallel && !one_unit([](const migration &) { return true; })) {
                fail(wl + std::to_string(j - i) + " migrations, above max-parallel");
            }
            for (node_id n = 0; n < nn; ++n) {
                auto touches = [n](const migration &m) { return m.from == n || m.to == n; };
                const auto count =
                    std::count_if(ms.begin() + static_cast<std::ptrdiff_t>(i),
                                  ms.begin() + static_cast<std::ptrdiff_t>(j), touches);
                if (static_cast<unsigned>(count) > o_.max_parallel_per_node && !one_unit(touches)) {
                    fail(wl + std::to_string(count) + " migrations touch " + c_.nodes[n].name +
                         ", above max-parallel-per-node");
                }
            }
            // Every migration of the wave has started: in-flight guests load both nodes.
            std::vector<res> used = lv_.base, arriving(nn), assigned(nn), assigned_arriving(nn);
            std::vector<bool> target(nn, false);
            for (guest_id g = 0; g < ng; ++g) {
                const guest &gs = c_.guests[g];
                const res a = gs.running ? res{gs.maxcpu, static_cast<double>(gs.maxmem)} : res{};
                used[where[g]] += lv_.demand[g];
                assigned[where[g]] += a;
                if (to[g] != no_node) {
                    used[to[g]] += lv_.demand[g];
                    arriving[to[g]] += lv_.demand[g];
                    assigned[to[g]] += a;
                    assigned_arriving[to[g]] += a;
                    target[to[g]] = true;
                }
            }
            for (node_id n = 0; n < nn; ++n) {
                if (!target[n]) {
                    continue;
                }
                const node &nd = c_.nodes[n];
                const double maxmem = static_cast<double>(nd.maxmem);
                const double usable = usable_bytes(o_, maxmem);
                const double mem_tol = 1e-9 * maxmem + 1;
                const double cpu_tol = 1e-9 * nd.maxcpu;
                char buf[200];
                if (arriving[n][dimension::memory] > 0 &&
                    used[n][dimension::memory] > usable + mem_tol) {
                    std::snprintf(buf, sizeof buf, "%s memory %.3f GiB above usable %.3f GiB",
                                  nd.name.c_str(),
                                  used[n][dimension::memory] / static_cast<double>(GiB),
                                  usable / static_cast<double>(GiB));
                    fail(wl + buf);
                }
                // Relief moves (docs/constraints.md): above cpu-limit only when a source of a
                // move arriving in this wave is hotter still (so the last arrival lowered the
                // hotter of its two nodes).
                double hottest_source = 0;
                for (size_t k = i; k < j; ++k) {
                    const node &src = c_.nodes[ms[k].from];
                    if (ms[k].to == n && src.maxcpu > 0) {
                        hottest_source =
                            std::max(hottest_source, used[ms[k].from][dimension::cpu] / src.maxcpu);
                    }
                }
                const bool relief =
                    nd.maxcpu > 0 && used[n][dimension::cpu] / nd.maxcpu < hottest_source;
                if (arriving[n][dimension::cpu] > 0 &&
                    used[n][dimension::cpu] > o_.cpu_limit * nd.maxcpu + cpu_tol && !relief) {
                    std::snprintf(buf, sizeof buf, "%s CPU %.3f cores above the limit %.3f",
                                  nd.name.c_str(), used[n][dimension::cpu],
                                  o_.cpu_limit * nd.maxcpu);
                    fail(wl + buf);
                }
                if (o_.max_vcpu_ratio && assigned_arriving[n][dimension::cpu] > 0 &&
                    assigned[n][dimension::cpu] > *o_.max_vcpu_ratio * nd.maxcpu + cpu_tol) {
                    fail(wl + nd.name + " above max-vcpu-ratio");
                }
                if (o_.max_memory_ratio && assigned_arriving[n][dimension::memory] > 0 &&
                    assigned[n][dimension::memory] > *o_.max_memory_ratio * maxmem + mem_tol) {
                    fail(wl + nd.name + " above max-memory-ratio");
                }
            }
            // Keep-apart: nobody arrives where a member of one of its groups is, placed or in
            // flight.
            for (guest_id g = 0; g < ng; ++g) {
                if (to[g] == no_node) {
                    continue;
                }
                for (size_t k : apart_of_[g]) {
                    for (guest_id h : apart_[k]) {
                        if (h != g && (where[h] == to[g] || to[h] == to[g])) {
                            fail(wl + "vm " + std::to_string(c_.guests[g].vmid) + " arrives on " +
                                 c_.nodes[to[g]].name + " where vm " +
                                 std::to_string(c_.guests[h].vmid) + " of its keep-apart group is");
                        }
                    }
                }
            }
            for (guest_id g = 0; g < ng; ++g) {
                if (to[g] != no_node) {
                    where[g] = to[g];
                }
            }
            i = j;
        }
        // Keep-together groups that started co-located end co-located.
        for (const auto &grp : together_) {
            for (guest_id a : grp) {
                for (guest_id b : grp) {
                    if (a < b && c_.guests[a].node == c_.guests[b].node && where[a] != where[b]) {
                        fail("keep-together vm " + std::to_string(c_.guests[a].vmid) + " and vm " +
                             std::to_string(c_.guests[b].vmid) + " started together and end apart");
                    }
                }
            }
        }
        return out;
    }

private:
    bool shares_a_guest(const node_affinity_rule &r) const {
        for (const node_affinity_rule &other : c_.ha.node_affinity) {
            for (guest_id g : r.guests) {
                if (&other != &r &&
                    std::binary_search(other.guests.begin(), other.guests.end(), g)) {
                    return true;
                }
            }
        }
        return false;
    }

    void unite(guest_id a, guest_id b) {
        a = component(a);
        b = component(b);
        if (a != b) {
            comp_[std::max(a, b)] = std::min(a, b);
        }
    }

    const cluster &c_;
    const options &o_;
    std::vector<bool> drained_;
    load_view lv_;
    std::vector<bool> immovable_;
    std::vector<std::vector<node_id>> pins_;
    std::vector<std::vector<guest_id>> apart_, together_;
    std::vector<std::vector<size_t>> apart_of_;
    std::vector<guest_id> comp_;
};

// 1000 clusters from fixed seeds. For exploration only, PVEBAL_PROPERTY_CLUSTERS and
// PVEBAL_PROPERTY_SEED override the count and the first seed.
inline std::uint32_t env_or(const char *name, std::uint32_t fallback) {
    const char *v = std::getenv(name);
    return v != nullptr ? static_cast<std::uint32_t>(std::strtoul(v, nullptr, 0)) : fallback;
}
inline const std::uint32_t clusters = env_or("PVEBAL_PROPERTY_CLUSTERS", 1000);
inline const std::uint32_t seed_base = env_or("PVEBAL_PROPERTY_SEED", 0x5eed0000);

inline std::string context_of(std::uint32_t seed, const generated &g) {
    return "seed " + std::to_string(seed) + " (" +
           (g.kind == profile::crowded ? "crowded"
            : g.kind == profile::tight ? "memory-tight"
                                       : "loose") +
           ")";
}

// Checks a balance plan; returns the errors.
inline std::vector<std::string> check_balance(const snapshot &s, const plan &p) {
    const cluster &c = s.c;
    const options &o = s.opts;
    reference ref(c, o, std::vector<bool>(c.nodes.size(), false));
    auto rp = ref.replay(p);
    auto &errors = rp.errors;
    size_t real = 0;
    for (const migration &m : p.migrations) {
        real += m.temporary ? 0 : 1;
    }
    if (real > o.max_migrations) {
        errors.push_back(std::to_string(real) + " migrations, above max-migrations " +
                         std::to_string(o.max_migrations));
    }
    std::vector<node_id> initial(c.guests.size());
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        initial[g] = c.guests[g].node;
    }
    const double before = ref.objective(ref.usage(initial));
    const double after = ref.objective(ref.usage(rp.where));
    char buf[200];
    if (std::fabs(before - p.before.objective) > 1e-9 ||
        std::fabs(after - p.after.objective) > 1e-9) {
        std::snprintf(buf, sizeof buf, "reported objective %.9f -> %.9f, replayed %.9f -> %.9f",
                      p.before.objective, p.after.objective, before, after);
        errors.push_back(buf);
    }
    // Repairs (docs/constraints.md) are mandatory: they may cost objective and run whatever
    // the threshold (tests/native/repair_property_test.cpp checks them).
    const bool repairs = std::any_of(p.migrations.begin(), p.migrations.end(),
                                     [](const migration &m) { return m.repair.has_value(); });
    if (repairs) {
        return errors;
    }
    if (p.after.objective > p.before.objective + 1e-12 || after > before + 1e-9) {
        std::snprintf(buf, sizeof buf, "objective got worse: %.9f -> %.9f", p.before.objective,
                      p.after.objective);
        errors.push_back(buf);
    }
    if (before <= o.threshold - 1e-9 && !p.migrations.empty()) {
        errors.push_back("migrations planned although the objective is within the threshold");
    }
    return errors;
}

inline std::vector<std::string> check_evacuate(const snapshot &s, node_id drain, const plan &p) {
    const cluster &c = s.c;
    std::vector<bool> drained(c.nodes.size(), false);
    drained[drain] = true;
    reference ref(c, s.opts, drained);
    auto rp = ref.replay(p);
    auto &errors = rp.errors;
    std::set<guest_id> unplaced;
    for (const unplaced_guest &u : p.unplaced) {
        unplaced.insert(u.guest);
        if (u.reasons.empty()) {
            errors.push_back("unplaced vm " + std::to_string(c.guests[u.guest].vmid) +
                             " has no reason");
        }
        if (c.guests[u.guest].node != drain) {
            errors.push_back("unplaced vm " + std::to_string(c.guests[u.guest].vmid) +
                             " was not on the drained node");
        } else if (rp.where[u.guest] != drain) {
            errors.push_back("vm " + std::to_string(c.guests[u.guest].vmid) +
                             " moved off but is listed as unplaced");
        }
    }
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        if (c.guests[g].node == drain && rp.where[g] == drain && !unplaced.count(g)) {
            errors.push_back("vm " + std::to_string(c.guests[g].vmid) +
                             " stays on the drained node, not listed as unplaced");
        }
    }
    return errors;
}

// A failing case is written to $PVEBAL_PROPERTY_DUMP/<seed>.json when that is set, for the CLI.
inline void report(const std::string &what, std::uint32_t seed, const generated &g,
                   const std::vector<std::string> &errors) {
    BOOST_TEST(errors.empty(),
               what << ", " << context_of(seed, g) << ":\n  " << join(errors, "\n  "));
    if (const char *dir = std::getenv("PVEBAL_PROPERTY_DUMP"); dir != nullptr && !errors.empty()) {
        std::ofstream(std::string(dir) + "/" + std::to_string(seed) + ".json") << g.json;
    }
}

} // namespace pvebal::test::plans

#endif
