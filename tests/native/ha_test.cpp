// HA planning: failover, capacity (N+k) and place.
//
// Unit tests pin the documented semantics case by case. The property tests generate small
// clusters (seeded std::mt19937, 3-6 nodes, 2-9 HA guests, sometimes tight, sometimes with
// rules, pins, priorities, ratio limits, unrecoverable guests) and compare the engine with a
// brute-force solver written here from the documented rules: it recomputes every hard
// constraint from the model (only the survivors' current usage comes from make_load_view) and
// never calls the engine's constraint code or the recovery solver.
#include "test_util.h"

#include "pvebal/api.h"
#include "pvebal/constraints.h"
#include "pvebal/io.h"
#include "pvebal/load.h"
#include "pvebal/report.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

using namespace pvebal;
using namespace pvebal::test;

namespace {

// --- building snapshots ------------------------------------------------------------------------

void add_ha_resource(snapshot_builder &b, const std::string &sid,
                     const std::string &state = "started") {
    Json::Value r(Json::objectValue);
    r["sid"] = sid;
    r["state"] = state;
    b.extra()["ha"]["resources"].append(r);
}

void node_rule(snapshot_builder &b, const std::string &id, const std::string &resources,
               const std::string &nodes, bool strict) {
    Json::Value r(Json::objectValue);
    r["rule"] = id;
    r["type"] = "node-affinity";
    r["resources"] = resources;
    r["nodes"] = nodes;
    r["strict"] = strict ? 1 : 0;
    b.extra()["ha"]["rules"].append(r);
}

void resource_rule(snapshot_builder &b, const std::string &id, const std::string &resources,
                   bool positive) {
    Json::Value r(Json::objectValue);
    r["rule"] = id;
    r["type"] = "resource-affinity";
    r["affinity"] = positive ? "positive" : "negative";
    r["resources"] = resources;
    b.extra()["ha"]["rules"].append(r);
}

// An HA-managed VM: memory in GiB, CPU as a fraction of its vCPUs.
Json::Value &ha_vm(snapshot_builder &b, std::uint32_t vmid, const std::string &node, double maxcpu,
                   double maxmem_gib, double cpu, double mem_gib, const std::string &tags = "") {
    Json::Value &g = b.guest(vmid, node, maxcpu, static_cast<std::uint64_t>(maxmem_gib * GiB), cpu,
                             static_cast<std::uint64_t>(mem_gib * GiB));
    if (!tags.empty()) {
        g["tags"] = tags;
    }
    add_ha_resource(b, "vm:" + std::to_string(vmid));
    return g;
}

// A snapshot with its final options (bind_options applied), and shortcuts to ask the planners.
struct world {
    snapshot s;
    options o;

    explicit world(const snapshot_builder &b) : s(b.build()), o(s.opts) { bind(); }
    world(const snapshot_builder &b, const std::function<void(options &)> &tweak)
        : s(b.build()), o(s.opts) {
        tweak(o);
        bind();
    }
    void bind() {
        auto ok = bind_options(s.c, o);
        BOOST_REQUIRE(ok.has_value());
    }
    const cluster &c() const { return s.c; }
    node_id node(const std::string &name) const {
        auto n = s.c.find_node(name);
        BOOST_REQUIRE(n.has_value());
        return *n;
    }
    guest_id guest(std::uint32_t vmid) const {
        auto g = s.c.find_guest(vmid);
        BOOST_REQUIRE(g.has_value());
        return *g;
    }
    std::vector<node_id> nodes(const std::vector<std::string> &names) const {
        std::vector<node_id> out;
        for (const std::string &n : names) {
            out.push_back(node(n));
        }
        return out;
    }
    plan failover(const std::vector<std::string> &failed, bool all_guests = false) const {
        return plan_failover(s.c, o, nodes(failed), all_guests);
    }
    capacity_report capacity(int target = 1, bool all_guests = false,
                             long max_scenarios = 20000) const {
        return plan_capacity(s.c, o, target, all_guests, max_scenarios);
    }
    placement_answer place(const placement_request &r) const {
        auto a = plan_place(s.c, o, r);
        BOOST_REQUIRE(a.has_value());
        return *a;
    }
    // Where vmid restarts in p ("" when it does not move).
    std::string target(const plan &p, std::uint32_t vmid) const {
        for (const migration &m : p.migrations) {
            if (s.c.guests[m.guest].vmid == vmid) {
                return s.c.nodes[m.to].name;
            }
        }
        return "";
    }
    const migration *move_of(const plan &p, std::uint32_t vmid) const {
        for (const migration &m : p.migrations) {
            if (s.c.guests[m.guest].vmid == vmid) {
                return &m;
            }
        }
        return nullptr;
    }
    const unplaced_guest *unplaced(const plan &p, std::uint32_t vmid) const {
        for (const unplaced_guest &u : p.unplaced) {
            if (s.c.guests[u.guest].vmid == vmid) {
                return &u;
            }
        }
        return nullptr;
    }
    // The constraint that keeps an unplaced guest off `node` ("" = none given; "-" = about the
    // guest itself).
    std::string why(const plan &p, std::uint32_t vmid, const std::string &node_name) const {
        const unplaced_guest *u = unplaced(p, vmid);
        if (u == nullptr) {
            return "(placed)";
        }
        for (const node_rejection &r : u->reasons) {
            if (!r.node && node_name == "-") {
                return constraint_name(r.why.kind);
            }
            if (r.node && s.c.nodes[*r.node].name == node_name) {
                return constraint_name(r.why.kind);
            }
        }
        return "";
    }
    std::vector<std::string> names(const std::vector<node_id> &ns) const {
        std::vector<std::string> out;
        for (node_id n : ns) {
            out.push_back(s.c.nodes[n].name);
        }
        return out;
    }
    const ranked_node *ranked(const placement_answer &a, const std::string &node_name) const {
        for (const ranked_node &r : a.nodes) {
            if (s.c.nodes[r.node].name == node_name) {
                return &r;
            }
        }
        return nullptr;
    }
    const node_headroom *headroom(const capacity_report &r, const std::string &node_name) const {
        for (const node_headroom &h : r.headroom) {
            if (s.c.nodes[h.node].name == node_name) {
                return &h;
            }
        }
        return nullptr;
    }
};

double gibs(double x) {
    return x * static_cast<double>(GiB);
}

// --- a portable random source (only raw mt19937 output, no std distributions) ------------------

class rng_t {
public:
    explicit rng_t(std::uint32_t seed) : g_(seed) {}
    std::uint32_t next() { return static_cast<std::uint32_t>(g_()); }
    int uniform(int lo, int hi) {
        return lo + static_cast<int>(next() % static_cast<std::uint32_t>(hi - lo + 1));
    }
    bool chance(int percent) { return static_cast<int>(next() % 100) < percent; }
    template <class T> const T &pick(const std::vector<T> &v) { return v[next() % v.size()]; }
    template <class T> void shuffle(std::vector<T> &v) {
        for (size_t i = v.size(); i > 1; --i) {
            std::swap(v[i - 1], v[next() % i]);
        }
    }

private:
    std::mt19937 g_;
};

// --- the brute-force reference ------------------------------------------------------------------

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
}

bool starts_with(const std::string &s, const std::string &p) {
    return s.rfind(p, 0) == 0;
}

// Everything the reference needs, derived from the model and the documented rules.
struct reference {
    const cluster &c;
    const options &o;
    load_view v; // the survivors' usage before recovery
    std::vector<bool> needs, recoverable, runs;
    std::vector<int> prio;
    std::vector<res> demand; // what a restarted guest claims
    std::vector<std::vector<node_id>> pins;
    std::vector<int> together;           // group id or -1
    std::vector<std::vector<int>> apart; // group ids
    std::vector<int> node_rule;          // index into c.ha.node_affinity or -1
    std::vector<res> assigned;           // per node: vCPUs and memory of running guests

    reference(const cluster &cl, const options &op, bool all_guests)
        : c(cl), o(op), v(make_load_view(cl, op.mode)), needs(cl.guests.size()),
          recoverable(cl.guests.size(), true), runs(cl.guests.size()),
          prio(cl.guests.size(), op.default_priority), demand(cl.guests.size()),
          pins(cl.guests.size()), together(cl.guests.size(), -1), apart(cl.guests.size()),
          node_rule(cl.guests.size(), -1), assigned(cl.nodes.size()) {
        std::map<std::string, std::vector<guest_id>> tag_together, tag_apart;
        for (guest_id g = 0; g < c.guests.size(); ++g) {
            const guest &gs = c.guests[g];
            const ha_resource *hr = c.ha.find(g);
            const bool managed = hr != nullptr && hr->state != "disabled" && hr->state != "ignored";
            needs[g] = managed || (all_guests && gs.running && !gs.is_template);
            // An HA-managed guest runs after recovery as its requested state says; any other
            // (--all-guests, also disabled or ignored HA resources) as it runs now.
            runs[g] = managed ? hr->state == "started" : gs.running;
            double cpu = 0;
            if (runs[g]) {
                if (o.mode == load_mode::assigned) {
                    cpu = gs.maxcpu;
                } else if (gs.running) {
                    cpu = std::min(gs.cpu, 1.0) * gs.maxcpu;
                }
                demand[g] = {cpu, static_cast<double>(gs.maxmem)};
            }
            if (!gs.local_resources.empty() || !gs.local_disk_volids.empty()) {
                recoverable[g] = false;
            }
            for (const guest_disk &d : gs.disks) {
                const storage_info *s = c.nodes[gs.node].find_storage(d.storage);
                if (!d.cdrom && s != nullptr && !s->shared) {
                    recoverable[g] = false;
                }
            }
            if (gs.running) {
                assigned[gs.node] += {gs.maxcpu, static_cast<double>(gs.maxmem)};
            }
            for (const std::string &raw : gs.tags) {
                const std::string t = lower(raw);
                std::string pin;
                if (starts_with(t, "pvebal-pin-")) {
                    pin = t.substr(11);
                } else if (o.honor_proxlb_tags && starts_with(t, "plb_pin_")) {
                    pin = t.substr(8);
                } else if (starts_with(t, "pvebal-priority-")) {
                    prio[g] = std::stoi(t.substr(16));
                } else if (o.honor_proxlb_tags && starts_with(t, "plb_anti_affinity_")) {
                    tag_apart[t.substr(18)].push_back(g);
                } else if (o.honor_proxlb_tags && starts_with(t, "plb_affinity_")) {
                    tag_together[t.substr(13)].push_back(g);
                }
                for (node_id n = 0; !pin.empty() && n < c.nodes.size(); ++n) {
                    if (lower(c.nodes[n].name) == pin) {
                        pins[g].push_back(n);
                    }
                }
            }
        }
        // Keep-together: connected components of positive rules and affinity tags.
        std::vector<guest_id> parent(c.guests.size());
        std::iota(parent.begin(), parent.end(), 0u);
        std::function<guest_id(guest_id)> root = [&](guest_id x) {
            return parent[x] == x ? x : parent[x] = root(parent[x]);
        };
        std::vector<bool> member(c.guests.size(), false);
        auto join = [&](const std::vector<guest_id> &gs) {
            for (guest_id g : gs) {
                member[g] = true;
                parent[root(g)] = root(gs.front());
            }
        };
        for (const resource_affinity_rule &r : c.ha.resource_affinity) {
            if (r.positive) {
                join(r.guests);
            } else {
                for (guest_id g : r.guests) {
                    apart[g].push_back(static_cast<int>(&r - c.ha.resource_affinity.data()));
                }
            }
        }
        for (const auto &[name, gs] : tag_together) {
            if (gs.size() >= 2) {
                join(gs);
            }
        }
        int next_apart = static_cast<int>(c.ha.resource_affinity.size());
        for (const auto &[name, gs] : tag_apart) {
            if (gs.size() >= 2) {
                for (guest_id g : gs) {
                    apart[g].push_back(next_apart);
                }
                ++next_apart;
            }
        }
        for (guest_id g = 0; g < c.guests.size(); ++g) {
            if (member[g]) {
                together[g] = static_cast<int>(root(g));
            }
        }
        for (size_t i = 0; i < c.ha.node_affinity.size(); ++i) {
            for (guest_id g : c.ha.node_affinity[i].guests) {
                BOOST_REQUIRE_MESSAGE(node_rule[g] < 0,
                                      "generator: a guest in two node-affinity rules");
                node_rule[g] = static_cast<int>(i);
            }
        }
    }

    std::vector<bool> alive(const std::vector<bool> &failed) const {
        std::vector<bool> a(c.nodes.size());
        for (node_id n = 0; n < c.nodes.size(); ++n) {
            a[n] = c.nodes[n].online && !c.nodes[n].maintenance && !failed[n];
        }
        return a;
    }
    std::vector<guest_id> candidates(const std::vector<bool> &failed) const {
        std::vector<guest_id> out;
        for (guest_id g = 0; g < c.guests.size(); ++g) {
            if (needs[g] && failed[c.guests[g].node]) {
                out.push_back(g);
            }
        }
        return out;
    }
    double usable(node_id n) const {
        const double m = static_cast<double>(c.nodes[n].maxmem);
        return std::max(0.0,
                        std::min(o.memory_limit * m, m - static_cast<double>(o.memory_reserve)));
    }
    // Rules that do not depend on the other guests' new nodes: liveness, pins, HA node affinity
    // (highest surviving priority class), the migrate precondition and the positive-affinity
    // majority node of partners that already run on survivors.
    std::vector<node_id> allowed(guest_id g, const std::vector<bool> &alive_nodes,
                                 const std::vector<bool> &failed) const {
        std::optional<int> best;
        const node_affinity_rule *rule =
            node_rule[g] >= 0 ? &c.ha.node_affinity[static_cast<size_t>(node_rule[g])] : nullptr;
        auto klass = [&](node_id n) -> std::optional<int> {
            for (const auto &[x, p] : rule->nodes) {
                if (x == n) {
                    return p;
                }
            }
            return rule->strict ? std::nullopt : std::optional<int>(-1);
        };
        if (rule != nullptr) {
            for (node_id n = 0; n < c.nodes.size(); ++n) {
                if (alive_nodes[n] && klass(n) && (!best || *klass(n) > *best)) {
                    best = klass(n);
                }
            }
        }
        std::optional<node_id> majority;
        if (together[g] >= 0) {
            std::map<node_id, int> count;
            for (guest_id h = 0; h < c.guests.size(); ++h) {
                if (together[h] == together[g] && alive_nodes[c.guests[h].node] &&
                    !failed[c.guests[h].node]) {
                    ++count[c.guests[h].node];
                }
            }
            int top = 0;
            for (const auto &[n, k] : count) {
                if (k > top) {
                    top = k;
                    majority = n;
                }
            }
        }
        std::vector<node_id> out;
        for (node_id n = 0; n < c.nodes.size(); ++n) {
            if (!alive_nodes[n] || (majority && n != *majority)) {
                continue;
            }
            if (!pins[g].empty() && std::find(pins[g].begin(), pins[g].end(), n) == pins[g].end()) {
                continue;
            }
            if (rule != nullptr && (!klass(n) || *klass(n) < *best)) {
                continue;
            }
            const auto &bl = c.guests[g].blocked_targets;
            if (std::any_of(bl.begin(), bl.end(),
                            [&](const blocked_target &b) { return b.node == c.nodes[n].name; })) {
                continue;
            }
            out.push_back(n);
        }
        return out;
    }

    // Can every guest of `which` (recoverable candidates of `failed`) restart at once?
    // Exhaustive depth-first search over guest -> node assignments.
    bool feasible(const std::vector<bool> &failed, std::vector<guest_id> which) const {
        const std::vector<bool> al = alive(failed);
        std::sort(which.begin(), which.end(), [&](guest_id x, guest_id y) {
            return demand[x][dimension::memory] != demand[y][dimension::memory]
                       ? demand[x][dimension::memory] > demand[y][dimension::memory]
                       : x < y;
        });
        std::vector<std::vector<node_id>> allow(c.guests.size());
        for (guest_id g : which) {
            allow[g] = allowed(g, al, failed);
            if (allow[g].empty()) {
                return false;
            }
        }
        std::vector<node_id> pos(c.guests.size());
        for (guest_id g = 0; g < c.guests.size(); ++g) {
            pos[g] = al[c.guests[g].node] ? c.guests[g].node : no_node; // dead nodes hold nobody
        }
        for (guest_id g : which) {
            pos[g] = no_node; // not yet assigned
        }
        std::vector<res> add(c.nodes.size()), add_assigned(c.nodes.size());
        std::function<bool(size_t)> dfs = [&](size_t i) -> bool {
            if (i == which.size()) {
                return true;
            }
            const guest_id g = which[i];
            const guest &gs = c.guests[g];
            for (node_id n : allow[g]) {
                if (!fits(g, n, add, add_assigned)) {
                    continue;
                }
                bool ok = true;
                for (guest_id h = 0; h < c.guests.size() && ok; ++h) {
                    if (h == g || pos[h] == no_node) {
                        continue;
                    }
                    if (together[g] >= 0 && together[h] == together[g] && failed[gs.node] &&
                        failed[c.guests[h].node] &&
                        std::find(which.begin(), which.end(), h) != which.end() && pos[h] != n) {
                        ok = false; // recovering partners restart on one node
                    }
                    if (pos[h] == n) {
                        for (int k : apart[g]) {
                            if (std::find(apart[h].begin(), apart[h].end(), k) != apart[h].end()) {
                                ok = false;
                            }
                        }
                    }
                }
                if (!ok) {
                    continue;
                }
                pos[g] = n;
                add[n] += demand[g];
                if (runs[g]) {
                    add_assigned[n] += {gs.maxcpu, static_cast<double>(gs.maxmem)};
                }
                if (dfs(i + 1)) {
                    return true;
                }
                pos[g] = no_node;
                add[n] -= demand[g];
                if (runs[g]) {
                    add_assigned[n] -= {gs.maxcpu, static_cast<double>(gs.maxmem)};
                }
            }
            return false;
        };
        return dfs(0);
    }

    // Whether g may join what already arrives at n (limits only).
    bool fits(guest_id g, node_id n, const std::vector<res> &add,
              const std::vector<res> &add_assigned) const {
        const guest &gs = c.guests[g];
        const res d = demand[g];
        const res cap = v.capacity[n];
        if (d[dimension::memory] > 0 &&
            v.used[n][dimension::memory] + add[n][dimension::memory] + d[dimension::memory] >
                usable(n)) {
            return false;
        }
        if (d[dimension::cpu] > 0 &&
            v.used[n][dimension::cpu] + add[n][dimension::cpu] + d[dimension::cpu] >
                o.cpu_limit * cap[dimension::cpu]) {
            return false;
        }
        if (runs[g] && o.max_vcpu_ratio &&
            assigned[n][dimension::cpu] + add_assigned[n][dimension::cpu] + gs.maxcpu >
                *o.max_vcpu_ratio * cap[dimension::cpu]) {
            return false;
        }
        if (runs[g] && o.max_memory_ratio &&
            assigned[n][dimension::memory] + add_assigned[n][dimension::memory] +
                    static_cast<double>(gs.maxmem) >
                *o.max_memory_ratio * cap[dimension::memory]) {
            return false;
        }
        return true;
    }

    // Whether a whole unit (guests that restart together) fits on n on top of `add` (limits only).
    bool fits_unit(const std::vector<guest_id> &unit, node_id n, const std::vector<res> &add,
                   const std::vector<res> &add_assigned) const {
        res d, as;
        bool runs_any = false;
        for (guest_id g : unit) {
            d += demand[g];
            if (runs[g]) {
                as += {c.guests[g].maxcpu, static_cast<double>(c.guests[g].maxmem)};
                runs_any = true;
            }
        }
        const res cap = v.capacity[n];
        if (d[dimension::memory] > 0 &&
            v.used[n][dimension::memory] + add[n][dimension::memory] + d[dimension::memory] >
                usable(n)) {
            return false;
        }
        if (d[dimension::cpu] > 0 &&
            v.used[n][dimension::cpu] + add[n][dimension::cpu] + d[dimension::cpu] >
                o.cpu_limit * cap[dimension::cpu]) {
            return false;
        }
        if (runs_any && o.max_vcpu_ratio &&
            assigned[n][dimension::cpu] + add_assigned[n][dimension::cpu] + as[dimension::cpu] >
                *o.max_vcpu_ratio * cap[dimension::cpu]) {
            return false;
        }
        if (runs_any && o.max_memory_ratio &&
            assigned[n][dimension::memory] + add_assigned[n][dimension::memory] +
                    as[dimension::memory] >
                *o.max_memory_ratio * cap[dimension::memory]) {
            return false;
        }
        return true;
    }

    // The restart priority of a guest's unit (a keep-together group counts with its highest).
    int unit_priority(guest_id g, const std::vector<guest_id> &recovering) const {
        int p = prio[g];
        if (together[g] >= 0) {
            for (guest_id h : recovering) {
                if (together[h] == together[g]) {
                    p = std::max(p, prio[h]);
                }
            }
        }
        return p;
    }
};

// Checks a failover plan against the reference: coverage, every hard constraint on the final
// state, and (with the brute force) that nobody is left out who could restart. Returns a list
// of problems (empty: fine).
std::vector<std::string> check_failover(const reference &ref, const std::vector<bool> &failed,
                                        const plan &p, int *feasible_all = nullptr) {
    const cluster &c = ref.c;
    std::vector<std::string> err;
    auto vm = [&](guest_id g) { return "vm " + std::to_string(c.guests[g].vmid); };
    const std::vector<bool> al = ref.alive(failed);
    const std::vector<guest_id> cands = ref.candidates(failed);
    std::set<guest_id> cand_set(cands.begin(), cands.end()), seen;
    std::vector<node_id> pos(c.guests.size(), no_node);
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        pos[g] = c.guests[g].node;
    }
    std::vector<res> add(c.nodes.size()), add_assigned(c.nodes.size());
    for (const migration &m : p.migrations) {
        const guest_id g = m.guest;
        if (!cand_set.count(g)) {
            err.push_back(vm(g) + " moves but is not a guest to recover");
            continue;
        }
        if (!seen.insert(g).second) {
            err.push_back(vm(g) + " moves twice");
        }
        if (!ref.recoverable[g]) {
            err.push_back(vm(g) + " is unrecoverable but moves");
        }
        if (m.from != c.guests[g].node) {
            err.push_back(vm(g) + " leaves the wrong node");
        }
        const std::vector<node_id> allow = ref.allowed(g, al, failed);
        if (std::find(allow.begin(), allow.end(), m.to) == allow.end()) {
            err.push_back(vm(g) + " restarts on " + c.nodes[m.to].name +
                          ", which its rules do not allow");
        }
        const bool zero =
            ref.demand[g][dimension::memory] == 0 && ref.demand[g][dimension::cpu] == 0;
        if ((m.mode == migration_mode::offline) != zero) {
            err.push_back(vm(g) + " has mode restart/offline the wrong way round");
        }
        pos[g] = m.to;
        add[m.to] += ref.demand[g];
        if (ref.runs[g]) {
            add_assigned[m.to] += {c.guests[g].maxcpu, static_cast<double>(c.guests[g].maxmem)};
        }
    }
    for (const unplaced_guest &u : p.unplaced) {
        if (!cand_set.count(u.guest)) {
            err.push_back(vm(u.guest) + " is unplaced but is not a guest to recover");
        }
        if (!seen.insert(u.guest).second) {
            err.push_back(vm(u.guest) + " is both placed and unplaced, or unplaced twice");
        }
        if (u.reasons.empty()) {
            err.push_back(vm(u.guest) + " is unplaced without a reason");
        }
    }
    if (seen.size() != cand_set.size()) {
        err.push_back("placed + unplaced != guests to recover");
    }
    // Limits on the final state.
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        if (!al[n]) {
            continue;
        }
        const res cap = ref.v.capacity[n];
        const res used = ref.v.used[n] + add[n];
        if (add[n][dimension::memory] > 0 && used[dimension::memory] > ref.usable(n) + 1e-3) {
            err.push_back(c.nodes[n].name + ": memory above the usable limit");
        }
        if (add[n][dimension::cpu] > 0 &&
            used[dimension::cpu] > ref.o.cpu_limit * cap[dimension::cpu] + 1e-9) {
            err.push_back(c.nodes[n].name + ": CPU above cpu-limit");
        }
        if (add_assigned[n][dimension::cpu] > 0 && ref.o.max_vcpu_ratio &&
            ref.assigned[n][dimension::cpu] + add_assigned[n][dimension::cpu] >
                *ref.o.max_vcpu_ratio * cap[dimension::cpu] + 1e-9) {
            err.push_back(c.nodes[n].name + ": above max-vcpu-ratio");
        }
        if (add_assigned[n][dimension::memory] > 0 && ref.o.max_memory_ratio &&
            ref.assigned[n][dimension::memory] + add_assigned[n][dimension::memory] >
                *ref.o.max_memory_ratio * cap[dimension::memory] + 1e-3) {
            err.push_back(c.nodes[n].name + ": above max-memory-ratio");
        }
    }
    // Keep-apart on the survivors, keep-together among the recovered.
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        for (guest_id h = g + 1; h < c.guests.size(); ++h) {
            if (pos[g] != pos[h] || !al[pos[g]] || (!seen.count(g) && !seen.count(h))) {
                continue;
            }
            for (int k : ref.apart[g]) {
                if (std::find(ref.apart[h].begin(), ref.apart[h].end(), k) != ref.apart[h].end()) {
                    err.push_back(vm(g) + " and " + vm(h) + " are kept apart but share " +
                                  c.nodes[pos[g]].name);
                }
            }
        }
    }
    for (guest_id g : cands) {
        for (guest_id h : cands) {
            const bool moved = pos[g] != c.guests[g].node || pos[h] != c.guests[h].node;
            if (g < h && ref.together[g] >= 0 && ref.together[g] == ref.together[h] &&
                ref.recoverable[g] && ref.recoverable[h] && moved && pos[g] != pos[h]) {
                err.push_back(vm(g) + " and " + vm(h) +
                              " are kept together but restart apart (or one is left out)");
            }
        }
    }
    // Nobody is left out who fits in the final state (the fast pass would have taken it), and
    // no reason claims "priority" for a node where the guest could not go anyway.
    for (const unplaced_guest &u : p.unplaced) {
        const guest_id g = u.guest;
        if (!ref.recoverable[g] || !cand_set.count(g)) {
            continue;
        }
        std::vector<guest_id> unit{g};
        if (ref.together[g] >= 0) {
            unit.clear();
            for (guest_id h : cands) {
                if (ref.recoverable[h] && ref.together[h] == ref.together[g]) {
                    unit.push_back(h);
                }
            }
        }
        for (node_id n : ref.allowed(g, al, failed)) {
            bool ok = ref.fits_unit(unit, n, add, add_assigned);
            for (guest_id x : unit) {
                const std::vector<node_id> ax = ref.allowed(x, al, failed);
                ok = ok && std::find(ax.begin(), ax.end(), n) != ax.end();
                for (guest_id h = 0; h < c.guests.size() && ok; ++h) {
                    if (h != x && pos[h] == n) {
                        for (int k : ref.apart[x]) {
                            if (std::find(ref.apart[h].begin(), ref.apart[h].end(), k) !=
                                ref.apart[h].end()) {
                                ok = false;
                            }
                        }
                    }
                }
            }
            if (ok) {
                err.push_back(vm(g) + " is left out but fits on " + c.nodes[n].name +
                              " in the final state");
            }
        }
        for (const node_rejection &r : u.reasons) {
            if (r.why.kind == "priority") {
                err.push_back(vm(g) + ": reason 'priority' on " +
                              (r.node ? c.nodes[*r.node].name : "-"));
            }
        }
    }
    // Priority classes: for the lowest p such that every recoverable guest of priority >= p
    // can restart at once, the engine restarts all of them.
    std::vector<guest_id> rec;
    for (guest_id g : cands) {
        if (ref.recoverable[g]) {
            rec.push_back(g);
        }
    }
    std::set<int, std::greater<int>> classes;
    for (guest_id g : rec) {
        classes.insert(ref.unit_priority(g, rec));
    }
    bool all_feasible = true;
    for (int cls : classes) {
        std::vector<guest_id> which;
        for (guest_id g : rec) {
            if (ref.unit_priority(g, rec) >= cls) {
                which.push_back(g);
            }
        }
        if (!ref.feasible(failed, which)) {
            all_feasible = false;
            break;
        }
        for (guest_id g : which) {
            if (pos[g] == c.guests[g].node) {
                err.push_back(vm(g) + " (priority " + std::to_string(ref.unit_priority(g, rec)) +
                              ") is left out although every guest of priority >= " +
                              std::to_string(cls) + " can restart (brute force)");
            }
        }
    }
    if (feasible_all != nullptr) {
        *feasible_all = all_feasible ? 1 : 0;
    }
    for (const std::string &note : p.notes) {
        if (note.find("budget") != std::string::npos) {
            err.push_back("the search ran out of budget on a small cluster");
        }
    }
    return err;
}

// --- the generator ------------------------------------------------------------------------------

struct generated {
    snapshot_builder b;
    std::vector<std::string> nodes;
    int ha_guests = 0;
    bool rules = false;
};

generated generate(rng_t &r) {
    generated out;
    snapshot_builder &b = out.b;
    const int n_nodes = r.uniform(3, 6);
    const bool tight = r.chance(30);
    struct nd {
        std::string name;
        int maxcpu;
        std::uint64_t maxmem;
        double cores = 0; // used by guests, in cores
        std::uint64_t mem = 0;
        bool online = true;
    };
    std::vector<nd> nodes;
    for (int i = 0; i < n_nodes; ++i) {
        nd x;
        x.name = "n" + std::to_string(i + 1);
        x.maxcpu = r.pick(std::vector<int>{4, 8, 16, 32});
        x.maxmem = static_cast<std::uint64_t>(r.pick(std::vector<int>{8, 16, 32, 64, 128})) * GiB;
        x.mem = static_cast<std::uint64_t>(r.uniform(0, 8)) * (GiB / 4); // overhead
        x.cores = r.uniform(0, 4) / 4.0;
        nodes.push_back(x);
        out.nodes.push_back(x.name);
    }
    if (n_nodes > 3 && r.chance(5)) {
        nodes.back().online = false; // an offline node, with no guests
    }
    struct gd {
        std::uint32_t vmid;
        int maxcpu;
        std::uint64_t maxmem, mem;
        int cpu16; // cpu fraction in 1/16
        bool ha = true, running = true;
        std::string ha_state = "started";
        int node = -1;
        std::vector<std::string> tags;
        int kind =
            0; // 0 plain, 1 local disk, 2 passthrough, 3 shared disk, 4 precondition local disk
    };
    const int n_ha = r.uniform(2, 9);
    const int n_other = r.uniform(0, 3);
    std::vector<gd> guests;
    for (int i = 0; i < n_ha + n_other; ++i) {
        gd g;
        g.vmid = static_cast<std::uint32_t>(100 + i);
        g.ha = i < n_ha;
        g.maxcpu = r.pick(std::vector<int>{1, 2, 4, 8});
        const int units = tight ? r.uniform(8, 48) : r.uniform(1, 16); // of 512 MiB
        g.maxmem = static_cast<std::uint64_t>(units) * (GiB / 2);
        g.mem = g.maxmem / 4 * static_cast<std::uint64_t>(r.uniform(1, 4));
        g.cpu16 = r.uniform(0, 16);
        if (g.ha) {
            const int s = r.uniform(0, 99);
            g.ha_state = s < 8 ? "stopped" : s < 11 ? "disabled" : s < 13 ? "ignored" : "started";
            g.running = g.ha_state != "stopped" && (g.ha_state == "started" || r.chance(50));
        } else {
            g.running = r.chance(80);
        }
        if (!g.running) {
            g.mem = 0;
            g.cpu16 = 0;
        }
        const int k = r.uniform(0, 99);
        g.kind = k < 5 ? 1 : k < 8 ? 2 : k < 20 ? 3 : k < 22 ? 4 : 0;
        guests.push_back(g);
    }
    // Rules are decided before placement, so that the initial state respects them.
    std::vector<int> ha_idx;
    for (int i = 0; i < n_ha; ++i) {
        if (guests[static_cast<size_t>(i)].ha_state == "started" ||
            guests[static_cast<size_t>(i)].ha_state == "stopped") {
            ha_idx.push_back(i);
        }
    }
    r.shuffle(ha_idx);
    std::vector<bool> used_by_rule(guests.size(), false);
    std::vector<std::pair<int, int>> pairs;   // keep together: same node
    std::vector<std::vector<int>> apart_sets; // keep apart: distinct nodes
    auto take = [&](int want) {
        std::vector<int> out_ids;
        for (int i : ha_idx) {
            if (!used_by_rule[static_cast<size_t>(i)] && static_cast<int>(out_ids.size()) < want) {
                out_ids.push_back(i);
                used_by_rule[static_cast<size_t>(i)] = true;
            }
        }
        return out_ids;
    };
    const int live_nodes = static_cast<int>(
        std::count_if(nodes.begin(), nodes.end(), [](const nd &x) { return x.online; }));
    if (r.chance(30)) {
        auto p = take(2);
        if (p.size() == 2) {
            pairs.emplace_back(p[0], p[1]);
            out.rules = true;
        }
    }
    for (int rep = 0; rep < 2; ++rep) {
        if (r.chance(rep == 0 ? 35 : 10)) {
            auto s = take(std::min(live_nodes, r.uniform(2, 3)));
            if (s.size() >= 2) {
                apart_sets.push_back(s);
                out.rules = true;
            }
        }
    }
    bool tag_apart = false;
    if (r.chance(10)) {
        auto s = take(2);
        if (s.size() == 2) {
            apart_sets.push_back(s);
            tag_apart = true;
            out.rules = true;
        }
    }
    // Placement, with room: a node's memory never exceeds maxmem in the snapshot.
    auto room = [&](const nd &x, std::uint64_t mem) { return x.online && x.mem + mem <= x.maxmem; };
    auto place_on = [&](gd &g, int n) {
        g.node = n;
        nodes[static_cast<size_t>(n)].mem += g.mem;
        nodes[static_cast<size_t>(n)].cores += g.cpu16 / 16.0 * g.maxcpu;
    };
    auto random_node_with_room = [&](std::uint64_t mem, const std::set<int> &avoid) {
        std::vector<int> ok;
        for (int n = 0; n < n_nodes; ++n) {
            if (room(nodes[static_cast<size_t>(n)], mem) && !avoid.count(n)) {
                ok.push_back(n);
            }
        }
        return ok.empty() ? -1 : r.pick(ok);
    };
    for (auto [a, b2] : pairs) {
        gd &ga = guests[static_cast<size_t>(a)];
        gd &gb = guests[static_cast<size_t>(b2)];
        const int n = random_node_with_room(ga.mem + gb.mem, {});
        if (n >= 0) {
            place_on(ga, n);
            place_on(gb, n);
        }
    }
    for (const auto &s : apart_sets) {
        std::set<int> avoid;
        for (int i : s) {
            const int n = random_node_with_room(guests[static_cast<size_t>(i)].mem, avoid);
            if (n >= 0) {
                place_on(guests[static_cast<size_t>(i)], n);
                avoid.insert(n);
            }
        }
    }
    for (gd &g : guests) {
        if (g.node < 0) {
            const int n = random_node_with_room(g.mem, {});
            if (n >= 0) {
                place_on(g, n);
            }
        }
    }
    // Tags: pins and priorities (not on keep-together members: their rules would conflict).
    const bool priorities = r.chance(60);
    std::set<int> in_pair;
    for (auto [a, b2] : pairs) {
        in_pair.insert(a);
        in_pair.insert(b2);
    }
    for (size_t i = 0; i < guests.size(); ++i) {
        gd &g = guests[i];
        if (priorities && g.ha) {
            g.tags.push_back("pvebal-priority-" + std::to_string(r.uniform(0, 3)));
        }
        if (!in_pair.count(static_cast<int>(i)) && r.chance(12)) {
            const int k = r.uniform(1, 2);
            for (int j = 0; j < k; ++j) {
                g.tags.push_back((r.chance(50) ? "pvebal-pin-" : "plb_pin_") + r.pick(out.nodes));
            }
        }
    }
    if (tag_apart) {
        for (int i : apart_sets.back()) {
            guests[static_cast<size_t>(i)].tags.push_back("plb_anti_affinity_grp");
        }
        apart_sets.pop_back();
    }
    // Emit.
    for (const nd &x : nodes) {
        const double cpu = std::min(1.0, x.cores / x.maxcpu);
        b.node(x.name, x.maxcpu, x.maxmem, x.online ? cpu : 0, x.online ? x.mem : 0, x.online);
        b.storage(x.name, "local", false);
        b.storage(x.name, "ceph", true);
    }
    for (const gd &g : guests) {
        if (g.node < 0) {
            continue; // no room anywhere: left out of this cluster
        }
        if (g.ha) {
            ++out.ha_guests;
        }
        Json::Value &e = b.guest(g.vmid, out.nodes[static_cast<size_t>(g.node)], g.maxcpu, g.maxmem,
                                 g.cpu16 / 16.0, g.mem, "qemu", g.running ? "running" : "stopped");
        std::string tags;
        for (const std::string &t : g.tags) {
            tags += (tags.empty() ? "" : ";") + t;
        }
        if (!tags.empty()) {
            e["tags"] = tags;
        }
        const std::string id = std::to_string(g.vmid);
        if (g.kind == 1) {
            b.extra()["guests"][id]["config"]["scsi0"] = "local:vm-" + id + "-disk-0,size=8G";
        } else if (g.kind == 2) {
            b.extra()["guests"][id]["config"]["hostpci0"] = "0000:01:00.0";
        } else if (g.kind == 3) {
            b.extra()["guests"][id]["config"]["scsi0"] = "ceph:vm-" + id + "-disk-0,size=8G";
            b.extra()["guests"][id]["config"]["ide2"] = "local:iso/install.iso,media=cdrom";
        } else if (g.kind == 4) {
            Json::Value d(Json::objectValue);
            d["volid"] = "local:vm-" + id + "-disk-1";
            b.extra()["guests"][id]["migrate"]["local_disks"].append(d);
        }
        if (g.ha) {
            add_ha_resource(b, "vm:" + id, g.ha_state);
        }
    }
    auto placed = [&](int i) { return guests[static_cast<size_t>(i)].node >= 0; };
    auto sids = [&](const std::vector<int> &ids) {
        std::string s;
        for (int i : ids) {
            if (placed(i)) {
                s += (s.empty() ? "" : ",") + std::string("vm:") +
                     std::to_string(guests[static_cast<size_t>(i)].vmid);
            }
        }
        return s;
    };
    int rule_no = 0;
    for (auto [a, b2] : pairs) {
        if (placed(a) && placed(b2)) {
            resource_rule(b, "together" + std::to_string(++rule_no), sids({a, b2}), true);
        }
    }
    for (const auto &s : apart_sets) {
        const std::string list = sids(s);
        if (std::count(list.begin(), list.end(), ',') >= 1) {
            resource_rule(b, "apart" + std::to_string(++rule_no), list, false);
        }
    }
    // Node affinity: up to two rules over guests that are in no other rule.
    const int n_node_rules = r.chance(35) ? r.uniform(1, 2) : 0;
    for (int k = 0; k < n_node_rules; ++k) {
        auto members = take(r.uniform(1, 3));
        std::vector<int> present;
        for (int i : members) {
            if (placed(i)) {
                present.push_back(i);
            }
        }
        if (present.empty()) {
            continue;
        }
        std::vector<std::string> ns = out.nodes;
        r.shuffle(ns);
        ns.resize(static_cast<size_t>(r.uniform(1, n_nodes - 1)));
        const bool with_prio = r.chance(50);
        std::string list;
        for (const std::string &n : ns) {
            list += (list.empty() ? "" : ",") + n +
                    (with_prio ? ":" + std::to_string(r.uniform(0, 3)) : "");
        }
        node_rule(b, "prefer" + std::to_string(++rule_no), sids(present), list, r.chance(50));
        out.rules = true;
    }
    // Options.
    Json::Value &o = b.extra()["options"];
    o = Json::Value(Json::objectValue);
    if (r.chance(20)) {
        o["mode"] = "static";
    }
    o["memory-limit"] = r.pick(std::vector<double>{0.75, 0.9, 1.0});
    o["memory-reserve"] = r.pick(std::vector<std::string>{"0", "512M", "1G"});
    o["cpu-limit"] = r.pick(std::vector<double>{0.5, 0.9, 1.0});
    if (r.chance(15)) {
        o["max-vcpu-ratio"] = r.pick(std::vector<double>{1.0, 2.0, 4.0});
    }
    if (r.chance(10)) {
        o["max-memory-ratio"] = r.pick(std::vector<double>{0.9, 1.0, 1.5});
    }
    if (r.chance(10)) {
        o["default-priority"] = r.uniform(0, 3);
    }
    if (r.chance(5)) {
        Json::Value m(Json::arrayValue);
        m.append(out.nodes.front());
        o["maintenance-nodes"] = m;
    }
    return out;
}

// The same snapshot with its entries in another order.
std::string shuffled(const std::string &text, rng_t &r) {
    Json::Value root;
    Json::CharReaderBuilder rb;
    std::string errs;
    std::istringstream in(text);
    BOOST_REQUIRE(Json::parseFromStream(rb, in, &root, &errs));
    auto shuffle_array = [&](Json::Value &a) {
        if (!a.isArray()) {
            return;
        }
        std::vector<Json::Value> items(a.begin(), a.end());
        r.shuffle(items);
        a = Json::Value(Json::arrayValue);
        for (const Json::Value &v : items) {
            a.append(v);
        }
    };
    shuffle_array(root["resources"]);
    if (root.isMember("ha")) {
        shuffle_array(root["ha"]["resources"]);
        if (root["ha"].isMember("rules")) {
            shuffle_array(root["ha"]["rules"]);
        }
    }
    Json::StreamWriterBuilder wb;
    wb["indentation"] = "";
    return Json::writeString(wb, root);
}

std::string run(const std::string &command, const std::string &snapshot_text,
                const std::map<std::string, std::string> &args) {
    request rq;
    rq.command = command;
    rq.snapshot = snapshot_text;
    rq.args = args;
    rq.format = output_format::json;
    auto out = execute(rq);
    BOOST_REQUIRE_MESSAGE(out.has_value(), command << ": " << (out ? "" : out.error().to_string()));
    return *out;
}

// How many generated clusters a property test checks: PVEBAL_HA_SEEDS overrides the default
// (for a longer run by hand).
std::uint32_t seeds(std::uint32_t dflt) {
    const char *e = std::getenv("PVEBAL_HA_SEEDS");
    return e != nullptr ? static_cast<std::uint32_t>(std::stoul(e)) : dflt;
}

std::string join(const std::vector<std::string> &v) {
    std::string s;
    for (const std::string &x : v) {
        s += (s.empty() ? "" : ",") + x;
    }
    return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(ha_planning)

// Writes the generated snapshot of seed $PVEBAL_HA_DUMP to stdout (to debug a failing seed with
// the CLI): ./build/pvebal-tests --run_test=ha_planning/dump_generated_snapshot
BOOST_AUTO_TEST_CASE(dump_generated_snapshot) {
    const char *seed = std::getenv("PVEBAL_HA_DUMP");
    rng_t r(seed != nullptr ? static_cast<std::uint32_t>(std::stoul(seed)) : 1u);
    const std::string text = generate(r).b.json();
    BOOST_TEST(read_snapshot(text).has_value());
    if (seed != nullptr) {
        std::printf("%s\n", text.c_str());
    }
}

// --- failover: rules ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(failover_strict_node_affinity_with_every_allowed_node_failed) {
    snapshot_builder b;
    for (const char *n : {"n1", "n2", "n3", "n4"}) {
        b.node(n, 16, 64 * GiB, 0.0, 4 * GiB);
    }
    ha_vm(b, 100, "n1", 2, 4, 0.25, 2); // licensed software: only n1 or n2
    ha_vm(b, 101, "n2", 2, 4, 0.25, 2);
    node_rule(b, "licence", "vm:100", "n1,n2", true);
    world w(b);

    plan p = w.failover({"n1"});
    BOOST_TEST(w.target(p, 100) == "n2"); // the only allowed survivor

    p = w.failover({"n1", "n2"});
    BOOST_TEST(w.target(p, 100) == "");
    BOOST_TEST(w.why(p, 100, "n2") == "failed");
    BOOST_TEST(w.why(p, 100, "n3") == "ha-node-affinity");
    BOOST_TEST(w.why(p, 100, "n4") == "ha-node-affinity");
    BOOST_TEST(w.target(p, 101) != ""); // unruled: recovers
    BOOST_TEST(p.unplaced.size() == 1u);
    BOOST_TEST((w.names(p.drained) == std::vector<std::string>{"n1", "n2"}));
}

BOOST_AUTO_TEST_CASE(failover_non_strict_node_affinity_takes_the_highest_surviving_class) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.0, 4 * GiB);
    b.node("n2", 16, 64 * GiB, 0.5, 40 * GiB); // loaded, but preferred
    b.node("n3", 16, 64 * GiB, 0.25, 20 * GiB);
    b.node("n4", 16, 64 * GiB, 0.0, 1 * GiB); // empty, unlisted
    ha_vm(b, 100, "n1", 2, 4, 0.25, 2);
    node_rule(b, "prefer", "vm:100", "n1:3,n2:2,n3:1", false);
    world w(b);
    BOOST_TEST(w.target(w.failover({"n1"}), 100) == "n2");
    BOOST_TEST(w.target(w.failover({"n1", "n2"}), 100) == "n3");
    BOOST_TEST(w.target(w.failover({"n1", "n2", "n3"}), 100) == "n4"); // unlisted nodes at -1

    // pve-ha-manager only looks at the top class among the online nodes: when that class has no
    // room, the guest does not fall back to a lower class.
    snapshot_builder f;
    f.node("n1", 16, 64 * GiB, 0.0, 4 * GiB);
    f.node("n2", 16, 64 * GiB, 0.5, 56 * GiB); // full: 4 GiB more would cross 57.6 GiB
    f.node("n3", 16, 64 * GiB, 0.0, 1 * GiB);
    ha_vm(f, 100, "n1", 2, 4, 0.25, 2);
    node_rule(f, "prefer", "vm:100", "n1:3,n2:2,n3:1", false);
    world wf(f);
    plan p = wf.failover({"n1"});
    BOOST_TEST(wf.target(p, 100) == "");
    BOOST_TEST(wf.why(p, 100, "n2") == "memory");
    BOOST_TEST(wf.why(p, 100, "n3") == "ha-node-affinity");

    // Two nodes in the top class: the less loaded one.
    snapshot_builder t;
    t.node("n1", 16, 64 * GiB, 0.0, 4 * GiB);
    t.node("n2", 16, 64 * GiB, 0.5, 40 * GiB);
    t.node("n3", 16, 64 * GiB, 0.1, 8 * GiB);
    t.node("n4", 16, 64 * GiB, 0.0, 1 * GiB);
    ha_vm(t, 100, "n1", 2, 4, 0.25, 2);
    node_rule(t, "prefer", "vm:100", "n1:3,n2:2,n3:2", false);
    world wt(t);
    BOOST_TEST(wt.target(wt.failover({"n1"}), 100) == "n3");
}

BOOST_AUTO_TEST_CASE(failover_negative_resource_affinity_forces_spread) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 9 * GiB);
    b.node("n2", 16, 64 * GiB, 0.1, 9 * GiB);
    b.node("n3", 16, 64 * GiB, 0.1, 9 * GiB);
    b.node("n4", 16, 64 * GiB, 0.6, 40 * GiB); // busy, but the only node without a database
    ha_vm(b, 100, "n1", 4, 8, 0.25, 8);
    ha_vm(b, 101, "n2", 4, 8, 0.25, 8);
    ha_vm(b, 102, "n3", 4, 8, 0.25, 8);
    resource_rule(b, "dbs-apart", "vm:100,vm:101,vm:102", false);
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_TEST(w.target(p, 100) == "n4");
    p = w.failover({"n1", "n4"});
    BOOST_TEST(w.target(p, 100) == "");
    BOOST_TEST(w.why(p, 100, "n2") == "anti-affinity");
    BOOST_TEST(w.why(p, 100, "n3") == "anti-affinity");

    // Two members on two failed nodes: one per survivor, although n3 alone has room for both
    // and would be the balanced choice.
    snapshot_builder s;
    s.node("n1", 16, 64 * GiB, 0.1, 9 * GiB);
    s.node("n2", 16, 64 * GiB, 0.1, 9 * GiB);
    s.node("n3", 16, 64 * GiB, 0.0, 1 * GiB);
    s.node("n4", 16, 64 * GiB, 0.5, 30 * GiB);
    ha_vm(s, 110, "n1", 4, 8, 0.25, 8);
    ha_vm(s, 111, "n2", 4, 8, 0.25, 8);
    resource_rule(s, "web-apart", "vm:110,vm:111", false);
    world ws(s);
    p = ws.failover({"n1", "n2"});
    const std::string t0 = ws.target(p, 110), t1 = ws.target(p, 111);
    BOOST_TEST(t0 != "");
    BOOST_TEST(t1 != "");
    BOOST_TEST(t0 != t1);

    // The same with ProxLB tags.
    snapshot_builder g;
    g.node("n1", 16, 64 * GiB, 0.1, 9 * GiB);
    g.node("n2", 16, 64 * GiB, 0.0, 1 * GiB);
    g.node("n3", 16, 64 * GiB, 0.5, 30 * GiB);
    ha_vm(g, 120, "n1", 4, 8, 0.25, 8, "plb_anti_affinity_dns");
    ha_vm(g, 121, "n2", 1, 1, 0.0, 0, "plb_anti_affinity_dns");
    world wg(g);
    BOOST_TEST(wg.target(wg.failover({"n1"}), 120) == "n3");
}

BOOST_AUTO_TEST_CASE(failover_positive_affinity_bundle_restarts_together) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 13 * GiB);
    b.node("n2", 16, 64 * GiB, 0.3, 44 * GiB); // room for one of the pair, not both
    b.node("n3", 16, 64 * GiB, 0.4, 30 * GiB);
    ha_vm(b, 100, "n1", 4, 8, 0.25, 6); // app
    ha_vm(b, 101, "n1", 4, 8, 0.25, 6); // its database
    resource_rule(b, "shop", "vm:100,vm:101", true);
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_TEST(w.target(p, 100) == "n3");
    BOOST_TEST(w.target(p, 101) == "n3");
    BOOST_TEST(w.move_of(p, 100)->wave == w.move_of(p, 101)->wave);

    // A partner that survives pulls the guest to its node, even to a busier one.
    snapshot_builder s;
    s.node("n1", 16, 64 * GiB, 0.1, 7 * GiB);
    s.node("n2", 16, 64 * GiB, 0.5, 30 * GiB);
    s.node("n3", 16, 64 * GiB, 0.0, 1 * GiB);
    ha_vm(s, 100, "n1", 4, 8, 0.25, 6);
    ha_vm(s, 101, "n2", 4, 8, 0.25, 6);
    resource_rule(s, "shop", "vm:100,vm:101", true);
    world ws(s);
    BOOST_TEST(ws.target(ws.failover({"n1"}), 100) == "n2");

    // ... and when that node has no room, the guest does not restart elsewhere.
    snapshot_builder f;
    f.node("n1", 16, 64 * GiB, 0.1, 7 * GiB);
    f.node("n2", 16, 64 * GiB, 0.5, 52 * GiB);
    f.node("n3", 16, 64 * GiB, 0.0, 1 * GiB);
    ha_vm(f, 100, "n1", 4, 8, 0.25, 6);
    ha_vm(f, 101, "n2", 4, 8, 0.25, 6);
    resource_rule(f, "shop", "vm:100,vm:101", true);
    world wf(f);
    plan pf = wf.failover({"n1"});
    BOOST_TEST(wf.target(pf, 100) == "");
    BOOST_TEST(wf.why(pf, 100, "n2") == "memory");
    BOOST_TEST(wf.why(pf, 100, "n3") ==
               "affinity"); // not "priority": n3 is free, but not its partner's node

    // A pair that fits nowhere as a pair: each member alone would fit on n2 (8 GiB usable left),
    // so the reason must count the pair (16 GiB).
    snapshot_builder u;
    u.node("n1", 16, 64 * GiB, 0.1, 13 * GiB);
    u.node("n2", 16, 64 * GiB, 0.5, 49 * GiB);
    ha_vm(u, 100, "n1", 4, 8, 0.25, 6);
    ha_vm(u, 101, "n1", 4, 8, 0.25, 6);
    resource_rule(u, "shop", "vm:100,vm:101", true);
    world wu(u);
    plan pu = wu.failover({"n1"});
    BOOST_TEST(pu.unplaced.size() == 2u);
    BOOST_TEST(wu.why(pu, 100, "n2") == "memory");
    BOOST_TEST(wu.why(pu, 101, "n2") == "memory");

    // Partners on two failed nodes still restart on one node (pve-ha-manager sends the second
    // to where the first went).
    snapshot_builder t;
    for (const char *n : {"n1", "n2", "n3", "n4"}) {
        t.node(n, 16, 64 * GiB, 0.0, 4 * GiB);
    }
    ha_vm(t, 100, "n1", 2, 4, 0.0, 2);
    ha_vm(t, 101, "n2", 2, 4, 0.0, 2);
    resource_rule(t, "pair", "vm:100,vm:101", true);
    world wt(t);
    plan pt = wt.failover({"n1", "n2"});
    BOOST_TEST(wt.target(pt, 100) != "");
    BOOST_TEST(wt.target(pt, 100) == wt.target(pt, 101));
}

// --- failover: capacity and priorities -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(failover_priorities_under_shortage_leave_the_lowest_out) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 17 * GiB);
    b.node("n2", 16, 64 * GiB, 0.3, 44 * GiB); // 13.6 GiB usable left: one of the two
    ha_vm(b, 100, "n1", 2, 8, 0.25, 8, "pvebal-priority-1");
    ha_vm(b, 101, "n1", 2, 8, 0.25, 8, "pvebal-priority-5");
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_TEST(w.target(p, 101) == "n2");
    BOOST_TEST(w.target(p, 100) == "");
    BOOST_TEST(w.why(p, 100, "n2") == "memory");

    // Without a tag a guest has default-priority.
    snapshot_builder b2;
    b2.node("n1", 16, 64 * GiB, 0.1, 17 * GiB);
    b2.node("n2", 16, 64 * GiB, 0.3, 44 * GiB);
    ha_vm(b2, 100, "n1", 2, 8, 0.25, 8);
    ha_vm(b2, 101, "n1", 2, 8, 0.25, 8, "pvebal-priority-1");
    world w2(b2, [](options &o) { o.default_priority = 3; });
    p = w2.failover({"n1"});
    BOOST_TEST(w2.target(p, 100) == "n2");
    BOOST_TEST(w2.target(p, 101) == "");

    // The fast pass alone would strand a priority-2 guest (the 6 GiB one goes to the big node
    // first); the priority-2 guests all fit when 6 GiB goes to the small node, and then the
    // priority-1 guest is the one left out.
    snapshot_builder c;
    c.node("f", 16, 16 * GiB);
    c.node("x", 16, 10 * GiB);
    c.node("y", 16, 6 * GiB);
    ha_vm(c, 100, "f", 1, 6, 0, 0, "pvebal-priority-2");
    ha_vm(c, 101, "f", 1, 5, 0, 0, "pvebal-priority-2");
    ha_vm(c, 102, "f", 1, 5, 0, 0, "pvebal-priority-2");
    ha_vm(c, 103, "f", 1, 0.5, 0, 0, "pvebal-priority-1");
    world wc(c, [](options &o) {
        o.memory_limit = 1.0;
        o.memory_reserve = 0;
    });
    p = wc.failover({"f"});
    BOOST_TEST(wc.target(p, 100) == "y");
    BOOST_TEST(wc.target(p, 101) == "x");
    BOOST_TEST(wc.target(p, 102) == "x");
    BOOST_TEST(wc.target(p, 103) == "");
    BOOST_TEST(p.notes.empty());
}

BOOST_AUTO_TEST_CASE(failover_exhaustive_search_finds_the_packing_the_fast_pass_misses) {
    // x has 10 GiB, y 6 GiB. The balanced fast pass puts the 6 GiB guest on x and strands a
    // 5 GiB one; the search finds 6 -> y, 5 + 5 -> x.
    snapshot_builder b;
    b.node("f", 16, 16 * GiB);
    b.node("x", 16, 10 * GiB);
    b.node("y", 16, 6 * GiB);
    ha_vm(b, 100, "f", 1, 6, 0, 0);
    ha_vm(b, 101, "f", 1, 5, 0, 0);
    ha_vm(b, 102, "f", 1, 5, 0, 0);
    world w(b, [](options &o) {
        o.memory_limit = 1.0;
        o.memory_reserve = 0;
    });
    plan p = w.failover({"f"});
    BOOST_TEST(p.unplaced.empty());
    BOOST_TEST(p.notes.empty());
    BOOST_TEST(w.target(p, 100) == "y");
    BOOST_TEST(w.target(p, 101) == "x");
    BOOST_TEST(w.target(p, 102) == "x");
}

BOOST_AUTO_TEST_CASE(failover_heterogeneous_nodes) {
    snapshot_builder b;
    b.node("big", 64, 256 * GiB, 0.25, 128 * GiB);
    b.node("dead", 16, 64 * GiB, 0.2, 40 * GiB);
    b.node("small", 8, 16 * GiB, 0.0, 1 * GiB);
    ha_vm(b, 100, "dead", 4, 24, 0.25, 20); // fits only on big (small has 14.4 GiB usable)
    ha_vm(b, 101, "dead", 2, 4, 0.25, 4);
    ha_vm(b, 102, "dead", 2, 4, 0.25, 4);
    ha_vm(b, 103, "dead", 2, 4, 0.25, 4);
    ha_vm(b, 104, "dead", 2, 300, 0.0, 4); // fits nowhere
    world w(b);
    plan p = w.failover({"dead"});
    BOOST_TEST(w.target(p, 100) == "big");
    BOOST_TEST(w.target(p, 104) == "");
    BOOST_TEST(w.why(p, 104, "big") == "memory");
    BOOST_TEST(w.why(p, 104, "small") == "memory");
    // Balanced by utilisation, not by absolute free memory: the small node takes a share.
    int on_small = 0;
    for (std::uint32_t v : {101u, 102u, 103u}) {
        on_small += w.target(p, v) == "small" ? 1 : 0;
        BOOST_TEST(w.target(p, v) != "");
    }
    BOOST_TEST(on_small >= 1);
    // Nothing above the limits afterwards.
    reference ref(w.c(), w.o, false);
    std::vector<bool> failed(w.c().nodes.size(), false);
    failed[w.node("dead")] = true;
    const auto errs = check_failover(ref, failed, p);
    BOOST_TEST(errs.empty(), join(errs));
}

BOOST_AUTO_TEST_CASE(failover_cpu_limit_and_static_mode) {
    // In used mode a restarted guest claims its measured CPU; in static mode its vCPUs.
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.25, 9 * GiB);
    b.node("n2", 8, 64 * GiB, 0.5, 1 * GiB);
    ha_vm(b, 100, "n1", 4, 8, 0.25, 8); // 1 core measured, 4 vCPUs
    world used(b);
    BOOST_TEST(used.target(used.failover({"n1"}), 100) == "n2"); // 4 + 1 <= 7.2 cores
    world stat(b, [](options &o) { o.mode = load_mode::assigned; });
    plan p = stat.failover({"n1"});
    BOOST_TEST(stat.target(p, 100) == "n2"); // static: n2 runs nothing, 4 <= 7.2
    world tight(b, [](options &o) { o.cpu_limit = 0.6; });
    p = tight.failover({"n1"});
    BOOST_TEST(tight.target(p, 100) == "");
    BOOST_TEST(tight.why(p, 100, "n2") == "cpu");
    world ratio(b, [](options &o) { o.max_memory_ratio = 0.1; });
    p = ratio.failover({"n1"});
    BOOST_TEST(ratio.why(p, 100, "n2") == "memory-ratio");
}

BOOST_AUTO_TEST_CASE(failover_local_disks_and_devices_are_unrecoverable) {
    snapshot_builder b;
    for (const char *n : {"n1", "n2", "n3"}) {
        b.node(n, 16, 64 * GiB, 0.0, 12 * GiB);
        b.storage(n, "local", false);
        b.storage(n, "ceph", true);
    }
    for (std::uint32_t v = 100; v <= 105; ++v) {
        ha_vm(b, v, "n1", 1, 2, 0.0, 2);
    }
    Json::Value &g = b.extra()["guests"];
    g["100"]["config"]["scsi0"] = "local:vm-100-disk-0,size=32G"; // local disk
    g["101"]["config"]["hostpci0"] = "0000:01:00.0";              // passthrough
    g["102"]["config"]["scsi0"] = "ceph:vm-102-disk-0,size=32G";  // shared: fine
    g["103"]["config"]["scsi0"] = "ceph:vm-103-disk-0,size=32G";
    g["103"]["config"]["ide2"] = "local:iso/debian.iso,media=cdrom";        // an ISO is no disk
    g["104"]["migrate"]["local_disks"][0]["volid"] = "local:vm-104-disk-1"; // from the precondition
    g["105"]["config"]["usb0"] = "spice"; // spice USB pins nothing
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_TEST(w.target(p, 100) == "");
    BOOST_TEST(w.why(p, 100, "-") == "local-storage");
    BOOST_TEST(w.target(p, 101) == "");
    BOOST_TEST(w.why(p, 101, "-") == "local-resource");
    BOOST_TEST(w.target(p, 104) == "");
    BOOST_TEST(w.why(p, 104, "-") == "local-storage");
    for (std::uint32_t v : {102u, 103u, 105u}) {
        BOOST_TEST(w.target(p, v) != "", "vm " << v);
    }
    BOOST_TEST(p.unplaced.size() == 3u);
    // An unrecoverable guest's one reason is about the guest itself.
    BOOST_TEST(w.unplaced(p, 100)->reasons.size() == 1u);
}

BOOST_AUTO_TEST_CASE(failover_all_guests_adds_running_non_ha_guests) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 12 * GiB);
    b.node("n2", 16, 64 * GiB, 0.0, 2 * GiB);
    ha_vm(b, 100, "n1", 2, 4, 0.25, 4);
    b.guest(101, "n1", 2, 4 * GiB, 0.25, 4 * GiB);                           // running, not HA
    b.guest(102, "n1", 2, 4 * GiB, 0, 0, "qemu", "stopped");                 // stopped, not HA
    b.guest(103, "n1", 2, 4 * GiB, 0, 0, "qemu", "stopped")["template"] = 1; // template
    b.guest(104, "n1", 1, 2 * GiB, 0.1, 2 * GiB, "lxc");                     // running container
    Json::Value &d = b.guest(105, "n1", 1, 1 * GiB, 0.1, 1 * GiB);           // HA disabled
    (void)d;
    add_ha_resource(b, "vm:105", "disabled");
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_TEST(p.migrations.size() == 1u);
    BOOST_TEST(w.target(p, 100) == "n2");
    BOOST_TEST(w.move_of(p, 100)->ha);
    p = w.failover({"n1"}, true);
    BOOST_TEST(p.migrations.size() == 4u); // 100, 101, 104 and the running (HA-disabled) 105
    BOOST_TEST(w.target(p, 101) == "n2");
    // A running guest whose HA resource is disabled is not HA-managed: with --all-guests it
    // restarts like any running guest, with its load.
    BOOST_TEST((w.move_of(p, 105)->mode == migration_mode::restart));
    BOOST_TEST(!w.move_of(p, 101)->ha);
    BOOST_TEST(w.target(p, 104) == "n2");
    BOOST_TEST(w.target(p, 102) == "");
    BOOST_TEST(w.target(p, 103) == "");
    BOOST_TEST(p.unplaced.empty());

    // Nothing HA-managed on the failed node: a note says how to include the rest.
    snapshot_builder n;
    n.node("n1", 16, 64 * GiB, 0.1, 12 * GiB);
    n.node("n2", 16, 64 * GiB, 0.0, 2 * GiB);
    n.guest(101, "n1", 2, 4 * GiB, 0.25, 4 * GiB);
    world wn(n);
    p = wn.failover({"n1"});
    BOOST_TEST(p.migrations.empty());
    BOOST_REQUIRE(p.notes.size() == 1u);
    BOOST_TEST(p.notes[0].find("--all-guests") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(failover_stopped_ha_guest_is_placed_without_load) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 4 * GiB);
    b.node("n2", 16, 64 * GiB, 0.5, 56 * GiB); // no room for 32 GiB
    b.guest(100, "n1", 8, 32 * GiB, 0, 0, "qemu", "stopped");
    add_ha_resource(b, "vm:100", "stopped");
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_REQUIRE(p.migrations.size() == 1u);
    const migration &m = p.migrations[0];
    BOOST_TEST(w.target(p, 100) == "n2");
    BOOST_TEST((m.mode == migration_mode::offline));
    BOOST_TEST(m.cost.downtime == 0.0);
    BOOST_TEST(p.after.stats[dimension::memory].max ==
               p.before.stats[dimension::memory].max); // n2 is as full as before

    // HA state "started" but not running at the moment: it starts on the survivor, so it
    // claims its configured memory.
    snapshot_builder s;
    s.node("n1", 16, 64 * GiB, 0.1, 4 * GiB);
    s.node("n2", 16, 64 * GiB, 0.5, 56 * GiB);
    s.guest(100, "n1", 8, 32 * GiB, 0, 0, "qemu", "stopped");
    add_ha_resource(s, "vm:100", "started");
    world ws(s);
    p = ws.failover({"n1"});
    BOOST_TEST(ws.target(p, 100) == "");
    BOOST_TEST(ws.why(p, 100, "n2") == "memory");
}

BOOST_AUTO_TEST_CASE(failover_waves_are_priority_classes) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 16 * GiB);
    b.node("n2", 16, 64 * GiB, 0.0, 1 * GiB);
    b.node("n3", 16, 64 * GiB, 0.0, 1 * GiB);
    ha_vm(b, 100, "n1", 1, 2, 0.1, 2); // default 0
    ha_vm(b, 101, "n1", 1, 2, 0.1, 2, "pvebal-priority-5");
    ha_vm(b, 102, "n1", 1, 2, 0.1, 2, "PVEBAL-PRIORITY-10"); // tags are case-insensitive
    ha_vm(b, 103, "n1", 1, 2, 0.1, 2, "pvebal-priority-5");
    ha_vm(b, 104, "n1", 1, 8, 0.1, 2, "pvebal-priority-5");
    world w(b);
    plan p = w.failover({"n1"});
    BOOST_REQUIRE(p.migrations.size() == 5u);
    BOOST_TEST(p.waves == 3);
    BOOST_TEST(p.duration == 3 * w.o.restart_downtime);
    BOOST_TEST(w.move_of(p, 102)->wave == 1);
    BOOST_TEST(w.move_of(p, 101)->wave == 2);
    BOOST_TEST(w.move_of(p, 103)->wave == 2);
    BOOST_TEST(w.move_of(p, 104)->wave == 2);
    BOOST_TEST(w.move_of(p, 100)->wave == 3);
    for (size_t i = 0; i < p.migrations.size(); ++i) {
        BOOST_TEST(p.migrations[i].step == static_cast<int>(i + 1));
        if (i > 0) {
            BOOST_TEST(p.migrations[i].wave >= p.migrations[i - 1].wave);
        }
        BOOST_TEST((p.migrations[i].mode == migration_mode::restart));
        BOOST_TEST(p.migrations[i].cost.downtime == w.o.restart_downtime);
    }
    // Within a wave, the larger guest first.
    BOOST_TEST(p.migrations[1].guest == w.guest(104));
}

// --- capacity -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(capacity_tolerates_exactly_one_failure) {
    // Three 64 GiB nodes (57.6 GiB usable), each running a 20 GiB HA guest.
    snapshot_builder b;
    for (const char *n : {"n1", "n2", "n3"}) {
        b.node(n, 16, 64 * GiB, 0.125, 20 * GiB);
    }
    ha_vm(b, 100, "n1", 4, 20, 0.5, 20);
    ha_vm(b, 101, "n2", 4, 20, 0.5, 20);
    ha_vm(b, 102, "n3", 4, 20, 0.5, 20);
    world w(b);
    capacity_report r = w.capacity();
    BOOST_TEST(r.nodes == 3);
    BOOST_TEST(r.ha_guests == 3);
    BOOST_TEST(r.tolerated == 1);
    BOOST_TEST(r.upper_bound == 1);
    BOOST_TEST(r.exact);
    BOOST_TEST(r.target == 1);
    BOOST_TEST(r.target_met);
    BOOST_TEST(r.reserve_needed[dimension::memory] == 0.0);
    BOOST_TEST(r.reserve_needed[dimension::cpu] == 0.0);
    BOOST_TEST(!r.worst_at_target);
    BOOST_REQUIRE(r.worst);
    BOOST_TEST(r.worst->failed.size() == 2u); // 40 GiB onto 37.6 GiB: one is left out
    BOOST_TEST(r.worst->unplaced == 1);
    BOOST_TEST(r.worst->shortfall[dimension::memory] == gibs(20));
    BOOST_TEST(r.worst->shortfall[dimension::cpu] == 2.0);
    BOOST_TEST(r.worst->guests.size() == 1u);
    BOOST_TEST(r.scenarios_checked >= 6);
    BOOST_TEST(r.unrecoverable.empty());

    // N+2 asked: not met, and the reserve is what the worst pair of failures leaves out.
    r = w.capacity(2);
    BOOST_TEST(r.tolerated == 1);
    BOOST_TEST(!r.target_met);
    BOOST_TEST(r.reserve_needed[dimension::memory] == gibs(20));
    BOOST_TEST(r.reserve_needed[dimension::cpu] == 2.0);
    BOOST_REQUIRE(r.worst_at_target);
    BOOST_TEST(r.worst_at_target->failed.size() == 2u);
}

BOOST_AUTO_TEST_CASE(capacity_tolerates_no_failure) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.25, 44 * GiB);
    b.node("n2", 16, 64 * GiB, 0.125, 20 * GiB);
    b.node("n3", 16, 64 * GiB, 0.125, 20 * GiB);
    ha_vm(b, 100, "n1", 8, 40, 0.5, 40); // 40 GiB: every survivor has 37.6 GiB
    ha_vm(b, 101, "n2", 4, 20, 0.5, 20);
    ha_vm(b, 102, "n3", 4, 20, 0.5, 20);
    world w(b);
    capacity_report r = w.capacity();
    BOOST_TEST(r.tolerated == 0);
    BOOST_TEST(r.exact);
    BOOST_TEST(!r.target_met);
    BOOST_TEST(r.reserve_needed[dimension::memory] == gibs(40));
    BOOST_TEST(r.reserve_needed[dimension::cpu] == 4.0);
    BOOST_REQUIRE(r.worst);
    BOOST_TEST((w.names(r.worst->failed) == std::vector<std::string>{"n1"}));
    BOOST_TEST((r.worst->guests == std::vector<guest_id>{w.guest(100)}));
}

BOOST_AUTO_TEST_CASE(capacity_target_two_met_and_not_met) {
    // Four 64 GiB nodes, two 12 GiB HA guests each (33.6 GiB free): two failures put four
    // guests on two survivors (two each), three failures six guests on one (two fit).
    snapshot_builder b;
    for (int i = 1; i <= 4; ++i) {
        const std::string n = "n" + std::to_string(i);
        b.node(n, 16, 64 * GiB, 0.125, 24 * GiB);
        ha_vm(b, static_cast<std::uint32_t>(100 + 2 * i), n, 2, 12, 0.5, 12);
        ha_vm(b, static_cast<std::uint32_t>(101 + 2 * i), n, 2, 12, 0.5, 12);
    }
    world w(b);
    capacity_report r = w.capacity(2);
    BOOST_TEST(r.tolerated == 2);
    BOOST_TEST(r.exact);
    BOOST_TEST(r.target_met);
    BOOST_TEST(r.reserve_needed[dimension::memory] == 0.0);
    BOOST_REQUIRE(r.worst);
    BOOST_TEST(r.worst->failed.size() == 3u);
    BOOST_TEST(r.worst->unplaced == 4);
    r = w.capacity(3);
    BOOST_TEST(!r.target_met);
    BOOST_TEST(r.reserve_needed[dimension::memory] == gibs(48));
    BOOST_TEST(r.reserve_needed[dimension::cpu] == 4.0);

    // 16 GiB guests (25.6 GiB free each): two failures put four onto two survivors, one each
    // fits: 32 GiB short.
    snapshot_builder s;
    for (int i = 1; i <= 4; ++i) {
        const std::string n = "n" + std::to_string(i);
        s.node(n, 16, 64 * GiB, 0.125, 32 * GiB);
        ha_vm(s, static_cast<std::uint32_t>(100 + 2 * i), n, 2, 16, 0.5, 16);
        ha_vm(s, static_cast<std::uint32_t>(101 + 2 * i), n, 2, 16, 0.5, 16);
    }
    world ws(s);
    r = ws.capacity(2);
    BOOST_TEST(r.tolerated == 1);
    BOOST_TEST(r.exact);
    BOOST_TEST(!r.target_met);
    BOOST_TEST(r.reserve_needed[dimension::memory] == gibs(32));
    BOOST_TEST(r.reserve_needed[dimension::cpu] == 2.0);
    BOOST_REQUIRE(r.worst_at_target);
    BOOST_TEST(r.worst_at_target->unplaced == 2);
    // Targets beyond the node count cannot be met.
    r = ws.capacity(4);
    BOOST_TEST(!r.target_met);
    BOOST_TEST(r.tolerated == 1);
}

BOOST_AUTO_TEST_CASE(capacity_unrecoverable_guests_do_not_lower_the_answer) {
    // n1 runs a 58 GiB VM on local storage: it is lost with n1 whatever the reserve, so it is
    // listed and does not count. The other nodes' 2 GiB HA guests fit on any survivor but n1.
    snapshot_builder b;
    for (int i = 1; i <= 4; ++i) {
        const std::string n = "n" + std::to_string(i);
        b.node(n, 16, 64 * GiB, 0.0, (i == 1 ? 58 : 40) * GiB);
        b.storage(n, "local", false);
    }
    ha_vm(b, 100, "n1", 4, 58, 0.0, 58);
    b.extra()["guests"]["100"]["config"]["scsi0"] = "local:vm-100-disk-0,size=10G";
    for (int i = 2; i <= 4; ++i) {
        const std::string n = "n" + std::to_string(i);
        ha_vm(b, static_cast<std::uint32_t>(100 + i), n, 2, 2, 0.0, 2);
        b.guest(static_cast<std::uint32_t>(110 + i), n, 2, 38 * GiB, 0.0, 38 * GiB); // not HA
    }
    world w(b);
    // Three failures leave n1 alone, and it has no room: N+2.
    for (int target : {1, 2, 3}) {
        capacity_report r = w.capacity(target);
        BOOST_TEST((r.unrecoverable == std::vector<guest_id>{w.guest(100)}));
        BOOST_TEST(r.ha_guests == 4);
        BOOST_TEST(r.tolerated == 2, "target " << target);
        BOOST_TEST(r.exact);
        BOOST_TEST(r.target_met == (target <= 2));
        BOOST_REQUIRE(r.worst);
        BOOST_TEST((w.names(r.worst->failed) == std::vector<std::string>{"n2", "n3", "n4"}));
        BOOST_TEST(r.worst->unplaced == 3);
    }
    // The failover itself says why 100 does not restart.
    plan p = w.failover({"n1"});
    BOOST_TEST(w.why(p, 100, "-") == "local-storage");
}

BOOST_AUTO_TEST_CASE(capacity_is_exact_when_one_failure_is_proven) {
    // Failing n1: 23 guests of 2 GiB onto two survivors with 23 GiB free each. In total they
    // would fit, but each survivor takes 11: one is left out, and the exhaustive search cannot
    // prove it within its budget (C(22,11) ways). Failing n2: a 40 GiB guest fits nowhere,
    // proven at once. One proven failing scenario is enough: N+0, exact.
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.0, 46 * GiB);
    b.node("n2", 16, 64 * GiB, 0.0, static_cast<std::uint64_t>(gibs(34.6)));
    b.node("n3", 16, 64 * GiB, 0.0, static_cast<std::uint64_t>(gibs(34.6)));
    for (std::uint32_t v = 100; v < 123; ++v) {
        ha_vm(b, v, "n1", 1, 2, 0, 2);
    }
    ha_vm(b, 200, "n2", 4, 40, 0, 20);
    b.guest(201, "n2", 2, 16 * GiB, 0, static_cast<std::uint64_t>(gibs(14.6)));
    b.guest(301, "n3", 2, 40 * GiB, 0, static_cast<std::uint64_t>(gibs(34.6)));
    world w(b);
    capacity_report r = w.capacity();
    BOOST_TEST(r.tolerated == 0);
    BOOST_TEST(r.exact, r.method);
    BOOST_TEST(r.upper_bound == 0);
    BOOST_REQUIRE(r.worst);
}

BOOST_AUTO_TEST_CASE(capacity_is_exact_when_the_aggregate_bound_meets_the_checked_k) {
    // Two 16 GiB guests per 64 GiB node (25.6 GiB free): any pair of failures leaves 64 GiB for
    // 51.2 GiB, so the aggregate bound is 1. With room for the 4 single-failure scenarios only,
    // the answer is still exact: 1 checked, 1 the bound.
    snapshot_builder b;
    for (int i = 1; i <= 4; ++i) {
        const std::string n = "n" + std::to_string(i);
        b.node(n, 16, 64 * GiB, 0.125, 32 * GiB);
        ha_vm(b, static_cast<std::uint32_t>(100 + 2 * i), n, 2, 16, 0.5, 16);
        ha_vm(b, static_cast<std::uint32_t>(101 + 2 * i), n, 2, 16, 0.5, 16);
    }
    world w(b);
    capacity_report r = w.capacity(1, false, 4);
    BOOST_TEST(r.tolerated == 1);
    BOOST_TEST(r.upper_bound == 1);
    BOOST_TEST(r.exact, r.method);
    BOOST_TEST(r.scenarios_checked == 4);
    BOOST_TEST(r.target_met);
    // With fewer scenarios allowed than single failures, nothing is proven: a range.
    r = w.capacity(1, false, 3);
    BOOST_TEST(r.tolerated == 0);
    BOOST_TEST(r.upper_bound == 1);
    BOOST_TEST(!r.exact);
    BOOST_TEST(!r.target_met);
}

BOOST_AUTO_TEST_CASE(capacity_headroom_numbers) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.25, 20 * GiB);
    b.node("n2", 8, 8 * GiB, 0.5, 4 * GiB);
    b.node("n3", 8, 32 * GiB, 0.0, 0, false); // offline: not counted
    ha_vm(b, 100, "n1", 4, 16, 0.5, 12);      // 2 cores measured, 16 GiB configured
    ha_vm(b, 101, "n1", 2, 8, 0.0, 0)["status"] = "stopped";
    add_ha_resource(b, "vm:999");                 // a resource without a guest is dropped
    b.guest(102, "n2", 2, 4 * GiB, 0.5, 4 * GiB); // not HA
    world w(b);
    capacity_report r = w.capacity();
    BOOST_TEST(r.nodes == 2);
    BOOST_REQUIRE(r.headroom.size() == 2u);
    const node_headroom *h1 = w.headroom(r, "n1");
    const node_headroom *h2 = w.headroom(r, "n2");
    BOOST_REQUIRE(h1);
    BOOST_REQUIRE(h2);
    BOOST_TEST(h1->cpu == 0.9 * 16 - 4.0);               // cpu-limit x threads - used
    BOOST_TEST(h1->memory == 0.9 * gibs(64) - gibs(20)); // usable - used
    BOOST_TEST(h1->ha_memory == gibs(16) + gibs(8));     // configured memory of started HA guests
    BOOST_TEST(h2->cpu == 0.9 * 8 - 4.0);
    BOOST_TEST(h2->memory == gibs(7) - gibs(4)); // 8 GiB - 1 GiB reserve < 90%
    BOOST_TEST(h2->ha_memory == 0.0);
}

// --- place --------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(place_ranks_nodes_for_a_new_guest) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.6, 38 * GiB);
    b.node("n2", 16, 64 * GiB, 0.3, 19 * GiB);
    b.node("n3", 16, 64 * GiB, 0.1, 6 * GiB);
    world w(b);
    placement_request rq;
    rq.demand = res_of(2, gibs(8));
    placement_answer a = w.place(rq);
    BOOST_REQUIRE(a.nodes.size() == 3u);
    BOOST_TEST(a.demand[dimension::memory] == gibs(8));
    BOOST_TEST(w.c().nodes[a.nodes[0].node].name == "n3");
    BOOST_TEST(w.c().nodes[a.nodes[1].node].name == "n2");
    BOOST_TEST(w.c().nodes[a.nodes[2].node].name == "n1");
    BOOST_TEST(a.nodes[0].score == 100.0);
    BOOST_TEST(a.nodes[2].score == 50.0);
    BOOST_TEST(a.nodes[1].score > 50.0);
    BOOST_TEST(a.nodes[1].score < 100.0);
    for (const ranked_node &n : a.nodes) {
        BOOST_TEST(n.fits);
    }
    BOOST_TEST(a.nodes[0].objective_after < a.nodes[1].objective_after);
    BOOST_TEST(a.nodes[1].objective_after < a.nodes[2].objective_after);

    // Pins: only the pinned nodes fit, the others say why.
    rq.tags = {"pvebal-pin-n1", "plb_pin_n2"};
    a = w.place(rq);
    BOOST_TEST(w.c().nodes[a.nodes[0].node].name == "n2");
    BOOST_TEST(w.ranked(a, "n1")->fits);
    BOOST_TEST(!w.ranked(a, "n3")->fits);
    BOOST_TEST(w.ranked(a, "n3")->why->kind == "pin");
    BOOST_TEST(a.nodes.back().node == w.node("n3")); // the rest after the fitting ones
}

BOOST_AUTO_TEST_CASE(place_apart_from_and_anti_affinity_tags) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.3, 20 * GiB);
    b.node("n2", 16, 64 * GiB, 0.1, 6 * GiB);
    b.node("n3", 16, 64 * GiB, 0.1, 6 * GiB);
    b.guest(100, "n2", 2, 4 * GiB, 0.25, 4 * GiB)["tags"] = "plb_anti_affinity_dns";
    b.guest(101, "n3", 2, 4 * GiB, 0.25, 4 * GiB);
    world w(b);
    placement_request rq;
    rq.demand = res_of(1, gibs(2));
    rq.apart_from = {w.guest(101)};
    placement_answer a = w.place(rq);
    BOOST_TEST(w.c().nodes[a.nodes[0].node].name == "n2");
    BOOST_TEST(w.ranked(a, "n3")->why->kind == "anti-affinity");
    rq.tags = {"plb_anti_affinity_dns"};
    a = w.place(rq);
    BOOST_TEST(w.c().nodes[a.nodes[0].node].name == "n1");
    BOOST_TEST(w.ranked(a, "n2")->why->kind == "anti-affinity");
    BOOST_TEST(w.ranked(a, "n3")->why->kind == "anti-affinity");
}

BOOST_AUTO_TEST_CASE(place_an_existing_stopped_guest) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 6 * GiB);
    b.node("n2", 16, 64 * GiB, 0.5, 50 * GiB); // 7.6 GiB usable left: not 8
    b.node("n3", 16, 64 * GiB, 0.3, 20 * GiB);
    b.guest(100, "n1", 4, 8 * GiB, 0, 0, "qemu", "stopped");
    world w(b);
    placement_request rq;
    rq.guest = w.guest(100);
    placement_answer a = w.place(rq);
    BOOST_TEST(a.demand[dimension::cpu] == 4.0); // configured vCPUs
    BOOST_TEST(a.demand[dimension::memory] == gibs(8));
    BOOST_TEST(w.c().nodes[a.nodes[0].node].name == "n1"); // it may start where it is
    BOOST_TEST(w.ranked(a, "n3")->fits);
    BOOST_TEST(!w.ranked(a, "n2")->fits);
    BOOST_TEST(w.ranked(a, "n2")->why->kind == "memory");
}

BOOST_AUTO_TEST_CASE(place_a_guest_that_fits_nowhere) {
    snapshot_builder b;
    b.node("n1", 16, 64 * GiB, 0.1, 6 * GiB);
    b.node("n2", 16, 64 * GiB, 0.1, 6 * GiB);
    b.node("n3", 8, 32 * GiB, 0.0, 0, false);
    world w(b);
    placement_request rq;
    rq.demand = res_of(2, gibs(60));
    placement_answer a = w.place(rq);
    BOOST_REQUIRE(a.nodes.size() == 3u);
    for (const ranked_node &n : a.nodes) {
        BOOST_TEST(!n.fits);
        BOOST_REQUIRE(n.why.has_value());
    }
    BOOST_TEST(w.ranked(a, "n1")->why->kind == "memory");
    BOOST_TEST(w.ranked(a, "n3")->why->kind == "offline");
    // Too many cores is a CPU rejection.
    rq.demand = res_of(15, gibs(1));
    a = w.place(rq);
    BOOST_TEST(w.ranked(a, "n1")->why->kind == "cpu");
    std::string json = render_place(w.c(), a, output_format::json);
    BOOST_TEST(json.find("\"best\": null") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(place_respects_the_overcommit_ratios) {
    // max-vcpu-ratio 1: n1 already has 4 vCPUs on 4 threads, so a guest that is about to start
    // (a new one, or a stopped one) does not fit there.
    snapshot_builder b;
    b.node("n1", 4, 64 * GiB, 0.1, 4 * GiB);
    b.node("n2", 4, 64 * GiB, 0.1, 4 * GiB);
    b.guest(100, "n1", 4, 4 * GiB, 0.1, 2 * GiB);
    b.guest(101, "n1", 2, 4 * GiB, 0, 0, "qemu", "stopped");
    world w(b, [](options &o) { o.max_vcpu_ratio = 1.0; });
    placement_request rq;
    rq.demand = res_of(2, gibs(1));
    placement_answer a = w.place(rq);
    BOOST_TEST(!w.ranked(a, "n1")->fits);
    BOOST_TEST(w.ranked(a, "n1")->why->kind == "vcpu-ratio");
    BOOST_TEST(w.ranked(a, "n2")->fits);
    placement_request st;
    st.guest = w.guest(101);
    a = w.place(st);
    BOOST_TEST(!w.ranked(a, "n1")->fits);
    BOOST_TEST(w.ranked(a, "n1")->why->kind == "vcpu-ratio");
    BOOST_TEST(w.ranked(a, "n2")->fits);
    world m(b, [](options &o) { o.max_memory_ratio = 0.07; }); // 4.48 GiB
    a = m.place(rq);
    BOOST_TEST(m.ranked(a, "n1")->why->kind == "memory-ratio"); // 4 + 1 GiB
    BOOST_TEST(m.ranked(a, "n2")->fits);
}

// --- properties against the brute force
// -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(failover_matches_brute_force_on_generated_clusters) {
    const auto t0 = std::chrono::steady_clock::now();
    int clusters = 0, scenarios = 0, infeasible = 0, with_rules = 0, unplaced_some = 0;
    for (std::uint32_t seed = 1; seed <= seeds(1200); ++seed) {
        rng_t r(seed);
        generated gen = generate(r);
        world w(gen.b);
        ++clusters;
        with_rules += gen.rules ? 1 : 0;
        std::vector<node_id> active;
        for (node_id n = 0; n < w.c().nodes.size(); ++n) {
            if (w.c().nodes[n].online && !w.c().nodes[n].maintenance) {
                active.push_back(n);
            }
        }
        for (int rep = 0; rep < 3; ++rep) {
            for (bool all : {false, true}) {
                if (all && rep > 0) {
                    continue;
                }
                std::vector<node_id> pool = active;
                r.shuffle(pool);
                const int k = r.chance(5)
                                  ? static_cast<int>(pool.size())
                                  : r.uniform(1, std::max(1, static_cast<int>(pool.size()) - 1));
                pool.resize(static_cast<size_t>(k));
                std::vector<bool> failed(w.c().nodes.size(), false);
                for (node_id n : pool) {
                    failed[n] = true;
                }
                plan p = plan_failover(w.c(), w.o, pool, all);
                reference ref(w.c(), w.o, all);
                int feasible = 0;
                const std::vector<std::string> errs = check_failover(ref, failed, p, &feasible);
                ++scenarios;
                infeasible += feasible ? 0 : 1;
                unplaced_some += p.unplaced.empty() ? 0 : 1;
                BOOST_TEST(errs.empty(), "seed " << seed << ", failed " << join(w.names(pool))
                                                 << (all ? " --all-guests" : "") << ": "
                                                 << join(errs));
            }
        }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST_MESSAGE("failover property: "
                       << clusters << " clusters (" << with_rules << " with rules), " << scenarios
                       << " scenarios, " << infeasible << " where not everyone can restart, "
                       << unplaced_some << " with unplaced guests, " << secs << " s");
    BOOST_TEST(infeasible > 50);              // the generator makes tight cases...
    BOOST_TEST(scenarios - infeasible > 500); // ...and easy ones
}

BOOST_AUTO_TEST_CASE(failover_packing_puzzles_keep_priority_classes_whole) {
    // Tight bin packing: one failed node, 2-3 survivors with a few GiB each, 4-8 guests of
    // 1-6 GiB in up to three priority classes. Whenever the guests of the top classes can all
    // restart, they must; and nothing is ever overcommitted.
    int cases = 0, short_cases = 0;
    for (std::uint32_t seed = 3001; seed < 3001 + seeds(500); ++seed) {
        rng_t r(seed);
        snapshot_builder b;
        b.node("f", 16, 64 * GiB, 0.0, 0);
        const int survivors = r.uniform(2, 3);
        for (int i = 0; i < survivors; ++i) {
            b.node("s" + std::to_string(i + 1), 16,
                   static_cast<std::uint64_t>(r.uniform(4, 14)) * GiB);
        }
        const int n = r.uniform(4, 8);
        for (int i = 0; i < n; ++i) {
            ha_vm(b, static_cast<std::uint32_t>(100 + i), "f", 1, r.uniform(1, 6), 0, 0,
                  "pvebal-priority-" + std::to_string(r.uniform(0, 2)));
        }
        world w(b, [](options &o) {
            o.memory_limit = 1.0;
            o.memory_reserve = 0;
        });
        std::vector<bool> failed(w.c().nodes.size(), false);
        failed[w.node("f")] = true;
        plan p = w.failover({"f"});
        reference ref(w.c(), w.o, false);
        int feasible = 0;
        const auto errs = check_failover(ref, failed, p, &feasible);
        BOOST_TEST(errs.empty(), "seed " << seed << ": " << join(errs));
        ++cases;
        short_cases += feasible ? 0 : 1;
    }
    BOOST_TEST_MESSAGE("packing puzzles: " << cases << " cases, " << short_cases
                                           << " where not everyone fits");
    BOOST_TEST(short_cases > cases / 4);
}

BOOST_AUTO_TEST_CASE(capacity_matches_brute_force_on_generated_clusters) {
    const auto t0 = std::chrono::steady_clock::now();
    int clusters = 0, by_k[7] = {0, 0, 0, 0, 0, 0, 0}, non_monotone = 0;
    for (std::uint32_t seed = 100001; seed < 100001 + seeds(600); ++seed) {
        rng_t r(seed);
        generated gen = generate(r);
        world w(gen.b);
        ++clusters;
        std::vector<node_id> active;
        for (node_id n = 0; n < w.c().nodes.size(); ++n) {
            if (w.c().nodes[n].online && !w.c().nodes[n].maintenance) {
                active.push_back(n);
            }
        }
        const int nA = static_cast<int>(active.size());
        reference ref(w.c(), w.o, false);
        // Brute force: for every k, every k-subset of the active nodes.
        std::vector<bool> all_ok_at(static_cast<size_t>(nA) + 1, true);
        std::map<std::vector<node_id>, bool> ok_of;
        for (unsigned mask = 1; mask < (1u << nA); ++mask) {
            const int k = __builtin_popcount(mask);
            if (k == nA) {
                continue;
            }
            std::vector<bool> failed(w.c().nodes.size(), false);
            std::vector<node_id> subset;
            for (int i = 0; i < nA; ++i) {
                if (mask & (1u << i)) {
                    failed[active[static_cast<size_t>(i)]] = true;
                    subset.push_back(active[static_cast<size_t>(i)]);
                }
            }
            std::vector<guest_id> which;
            for (guest_id g : ref.candidates(failed)) {
                if (ref.recoverable[g]) {
                    which.push_back(g);
                }
            }
            const bool ok = ref.feasible(failed, which);
            ok_of[subset] = ok;
            if (!ok) {
                all_ok_at[static_cast<size_t>(k)] = false;
            }
        }
        int bf = nA - 1;
        for (int k = 1; k <= nA - 1; ++k) {
            if (!all_ok_at[static_cast<size_t>(k)]) {
                bf = k - 1;
                break;
            }
        }
        for (int k = bf + 2; k <= nA - 1; ++k) {
            non_monotone += all_ok_at[static_cast<size_t>(k)] ? 1 : 0;
        }
        ++by_k[std::max(0, bf)];
        const int target = r.uniform(1, 3);
        capacity_report rep = w.capacity(target);
        BOOST_TEST(rep.exact, "seed " << seed << ": " << rep.method);
        BOOST_TEST(rep.tolerated == bf,
                   "seed " << seed << ": engine " << rep.tolerated << ", brute force " << bf);
        BOOST_TEST(rep.target_met == (target <= bf), "seed " << seed << " target " << target);
        BOOST_TEST(rep.nodes == nA);
        if (rep.target_met) {
            BOOST_TEST((rep.reserve_needed[dimension::memory] == 0 &&
                        rep.reserve_needed[dimension::cpu] == 0),
                       "seed " << seed);
        }
        if (bf < nA - 1) {
            BOOST_REQUIRE_MESSAGE(rep.worst.has_value(), "seed " << seed << ": no worst scenario");
            BOOST_TEST(static_cast<int>(rep.worst->failed.size()) == bf + 1, "seed " << seed);
            BOOST_TEST(!ok_of[rep.worst->failed],
                       "seed " << seed << ": the worst scenario is feasible");
            BOOST_TEST(rep.worst->unplaced > 0);
        } else {
            BOOST_TEST(!rep.worst.has_value(), "seed " << seed);
        }
        if (target <= nA - 1 && !rep.target_met) {
            BOOST_TEST(rep.worst_at_target.has_value(), "seed " << seed);
        }
        std::vector<guest_id> unrec;
        for (guest_id g = 0; g < w.c().guests.size(); ++g) {
            if (ref.needs[g] && !ref.recoverable[g]) {
                unrec.push_back(g);
            }
        }
        BOOST_TEST((rep.unrecoverable == unrec), "seed " << seed);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST_MESSAGE("capacity property: "
                       << clusters << " clusters, tolerated k=0.." << 5 << ": " << by_k[0] << "/"
                       << by_k[1] << "/" << by_k[2] << "/" << by_k[3] << "/" << by_k[4] << "/"
                       << by_k[5] << ", non-monotone " << non_monotone << ", " << secs << " s");
    BOOST_TEST(by_k[0] > 20);
    BOOST_TEST(by_k[1] > 20);
    BOOST_TEST(by_k[2] + by_k[3] + by_k[4] + by_k[5] > 20);
}

BOOST_AUTO_TEST_CASE(ha_answers_are_deterministic) {
    for (std::uint32_t seed = 2001; seed <= 2150; ++seed) {
        rng_t r(seed);
        generated gen = generate(r);
        const std::string text = gen.b.json();
        std::vector<std::string> ns = gen.nodes;
        r.shuffle(ns);
        ns.resize(static_cast<size_t>(r.uniform(1, static_cast<int>(ns.size()) - 1)));
        const std::map<std::string, std::string> fo = {{"failed-node", join(ns)}};
        const std::map<std::string, std::string> cap = {{"target-failures", "2"}};
        const std::map<std::string, std::string> pl = {
            {"cpu", "2"}, {"mem", "6G"}, {"tags", "plb_anti_affinity_grp"}};
        const std::string other = shuffled(text, r);
        for (const auto &[cmd, args] :
             std::vector<std::pair<std::string, std::map<std::string, std::string>>>{
                 {"failover", fo}, {"capacity", cap}, {"place", pl}}) {
            const std::string a = run(cmd, text, args);
            BOOST_TEST(a == run(cmd, text, args), "seed " << seed << " " << cmd << ": twice");
            BOOST_TEST(a == run(cmd, other, args),
                       "seed " << seed << " " << cmd << ": shuffled snapshot");
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
