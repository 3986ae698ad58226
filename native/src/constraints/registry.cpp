// The constraint registry: one unit per hard constraint, run cheap first by every planner.
// Messages are stable (tests and docs/constraints.md quote them); each names the node or the
// setting that decides, so an administrator knows what to change.
#include "constraints/registry.h"
#include "constraints/units.h"

#include <algorithm>
#include <array>
#include <bit>
#include <map>

namespace pvebal {

const char *constraint_name(constraint k) {
    switch (k) {
    case constraint::template_guest:
        return "template";
    case constraint::locked:
        return "locked";
    case constraint::ignore_tag:
        return "ignore-tag";
    case constraint::local_resource:
        return "local-resource";
    case constraint::local_cdrom:
        return "local-cdrom";
    case constraint::mapped_device:
        return "mapped-device";
    case constraint::container_restart:
        return "container-restart";
    case constraint::ha_ignored:
        return "ha-ignored";
    case constraint::ha_disarmed:
        return "ha-disarmed";
    case constraint::node_offline:
        return "node-offline";
    case constraint::offline:
        return "offline";
    case constraint::maintenance:
        return "maintenance";
    case constraint::failed:
        return "failed";
    case constraint::pin:
        return "pin";
    case constraint::ha_node_affinity:
        return "ha-node-affinity";
    case constraint::precondition:
        return "precondition";
    case constraint::replication:
        return "replication";
    case constraint::storage:
        return "storage";
    case constraint::cpu_model:
        return "cpu-model";
    case constraint::current_node:
        return "current-node";
    case constraint::memory:
        return "memory";
    case constraint::cpu:
        return "cpu";
    case constraint::vcpu_ratio:
        return "vcpu-ratio";
    case constraint::memory_ratio:
        return "memory-ratio";
    case constraint::storage_space:
        return "storage-space";
    case constraint::anti_affinity:
        return "anti-affinity";
    case constraint::affinity:
        return "affinity";
    case constraint::priority:
        return "priority";
    case constraint::local_storage:
        return "local-storage";
    case constraint::ordering:
        return "ordering";
    }
    return "unknown";
}

std::optional<int> ha_node_priority(const node_affinity_rule &r, node_id n) {
    for (const auto &[node, prio] : r.nodes) {
        if (node == n) {
            return prio;
        }
    }
    return r.strict ? std::nullopt : std::optional<int>(unlisted_priority);
}

int ha_best_priority(const node_affinity_rule &r, const std::vector<bool> &usable) {
    int best = none_usable_priority;
    for (node_id x = 0; x < usable.size(); ++x) {
        if (usable[x]) {
            if (auto p = ha_node_priority(r, x)) {
                best = std::max(best, *p);
            }
        }
    }
    return best;
}

double node_memory_reserve(const options &o, const node &nd) {
    if (nd.memory_reserve) {
        return static_cast<double>(*nd.memory_reserve);
    }
    constexpr double tib = 1024.0 * gib;
    double arc = nd.arc_max ? static_cast<double>(*nd.arc_max)
                            : static_cast<double>(nd.zfs_pool_bytes) / tib * gib;
    if (o.mode == load_mode::used && nd.arc_size) {
        arc -= static_cast<double>(*nd.arc_size);
    }
    return static_cast<double>(o.memory_reserve) + std::max(0.0, arc);
}

double usable_memory(const options &o, const node &nd, double maxmem) {
    return std::max(0.0, std::min(maxmem * o.memory_limit, maxmem - node_memory_reserve(o, nd)));
}

const storage_info *target_storage(const options &o, const node &to, const std::string &storage) {
    for (const auto &[from, mapped] : o.storage_map) {
        if (from == storage) {
            return to.find_storage(mapped);
        }
    }
    return to.find_storage(storage);
}

std::vector<std::pair<std::string, double>> local_footprint(const cluster &c, guest_id g) {
    const guest &gs = c.guests[g];
    const node &home = c.nodes[gs.node];
    std::map<std::string, double> bytes;
    for (const guest_disk &d : gs.disks) {
        if (d.cdrom || home.storages.empty()) {
            continue;
        }
        const storage_info *s = home.find_storage(d.storage);
        if (s == nullptr || !s->shared) {
            bytes[d.storage] += static_cast<double>(d.size);
        }
    }
    return {bytes.begin(), bytes.end()};
}

namespace detail {

namespace {

using namespace unit_fns;

using guest_fn = opt_rejection (*)(const decision_context &, guest_id);
using target_fn = opt_rejection (*)(const decision_context &, guest_id, node_id, bool);
using state_fn = opt_rejection (*)(const decision_context &, const overlay &, const arrival &,
                                   node_id, bool);

struct guest_row {
    unit_info info;
    guest_fn fn;
};
// Whether a target unit can reject guest g on some node (false: it passes g everywhere).
using concerns_fn = bool (*)(const decision_context &, guest_id);
struct target_row {
    unit_info info;
    target_fn fn;
    // Applies to a newcomer (place, a guest not created yet): the unit reads only the node and
    // the guest's policy (ctx.policy), never its record.
    bool newcomer = false;
    // nullptr: a node-state unit (decided by decision_context::usable). Otherwise the per-guest
    // precheck; it must answer true whenever fn could reject g, and may err towards true.
    concerns_fn concerns = nullptr;
};

bool c_pin(const decision_context &ctx, guest_id g) {
    return !ctx.policy(g).pinned.empty();
}
bool c_ha_node_affinity(const decision_context &ctx, guest_id g) {
    return ctx.a.node_rule[g] != no_group;
}
bool c_precondition(const decision_context &ctx, guest_id g) {
    return !ctx.c.guests[g].blocked_targets.empty();
}
bool c_mapped_device(const decision_context &ctx, guest_id g) {
    return !ctx.c.guests[g].mapped_devices.empty();
}
bool c_replication(const decision_context &ctx, guest_id g) {
    return !ctx.c.guests[g].replication.empty();
}
// t_storage passes a volume on shared storage, or on a node whose storage the snapshot omits.
bool c_storage(const decision_context &ctx, guest_id g) {
    const guest &gs = ctx.c.guests[g];
    const node &src = ctx.c.nodes[gs.node];
    auto local = [&](const std::string &storage) {
        const storage_info *s = src.find_storage(storage);
        return s == nullptr ? !src.storages.empty() : !s->shared;
    };
    return std::any_of(gs.disks.begin(), gs.disks.end(),
                       [&](const guest_disk &d) { return local(d.storage); }) ||
           std::any_of(gs.local_disk_volids.begin(), gs.local_disk_volids.end(),
                       [&](const std::string &v) { return local(v.substr(0, v.find(':'))); });
}
// t_cpu_model judges running VMs only, and only on nodes whose flags are known.
bool c_cpu_model(const decision_context &ctx, guest_id g) {
    const guest &gs = ctx.c.guests[g];
    return gs.running && gs.type == guest_type::qemu &&
           std::any_of(ctx.c.nodes.begin(), ctx.c.nodes.end(),
                       [](const node &n) { return n.cpu_flags_known; });
}
bool c_always(const decision_context &, guest_id) {
    return true;
}
struct state_row {
    unit_info info;
    state_fn fn;
};

constexpr unit_kind G = unit_kind::guest;
constexpr unit_kind T = unit_kind::target;
constexpr unit_kind S = unit_kind::state;

// The registry. Order is the order of evaluation: cheap, decisive checks first.
constexpr std::array guest_rows{
    guest_row{{constraint::template_guest, G, true, false, "templates never move"}, g_template},
    guest_row{{constraint::locked, G, true, false, "a locked guest never moves"}, g_locked},
    guest_row{{constraint::ignore_tag, G, true, false, "pvebal-ignore / plb_ignore_* tags"},
              g_ignore_tag},
    guest_row{{constraint::local_resource, G, true, false,
               "host devices (unmapped hostpci/usb, serial, parallel, host block devices)"},
              g_local_resource},
    guest_row{{constraint::local_cdrom, G, true, false, "a VM with a CD-ROM on local storage"},
              g_local_cdrom},
    guest_row{{constraint::mapped_device, G, true, false,
               "a running VM with a mapped device that cannot live-migrate"},
              g_mapped_device},
    guest_row{{constraint::container_restart, G, true, false,
               "running containers only move by restart (allow-container-restart)"},
              g_container_restart},
    guest_row{{constraint::ha_ignored, G, true, false, "HA resource in state ignored"},
              g_ha_ignored},
    guest_row{{constraint::ha_disarmed, G, true, false, "HA-managed guests while HA is disarmed"},
              g_ha_disarmed},
    guest_row{{constraint::node_offline, G, true, false, "the guest's node is offline"},
              g_node_offline},
};

constexpr std::array target_rows{
    target_row{{constraint::offline, T, true, true, "the node is offline"}, t_offline, true},
    target_row{{constraint::maintenance, T, true, true, "the node is in maintenance"},
               t_maintenance,
               true},
    target_row{{constraint::failed, T, false, true, "the node fails in the scenario"}, t_failed},
    target_row{{constraint::pin, T, true, true, "pvebal-pin-<node> / plb_pin_<node> tags"},
               t_pin,
               true,
               c_pin},
    target_row{{constraint::ha_node_affinity, T, true, true,
                "HA node affinity (strict, priorities, failback)"},
               t_ha_node_affinity,
               false,
               c_ha_node_affinity},
    target_row{
        {constraint::precondition, T, true, true, "not_allowed_nodes of the migrate precondition"},
        t_precondition,
        false,
        c_precondition},
    target_row{{constraint::mapped_device, T, true, true,
                "the node has the guest's PCI/USB/directory mappings"},
               t_mapped_device,
               false,
               c_mapped_device},
    target_row{{constraint::replication, T, true, false,
                "a replicated guest goes to a replication target"},
               t_replication,
               false,
               c_replication},
    target_row{{constraint::storage, T, true, false,
                "local disks need their storage (or a storage-map target) on the node"},
               t_storage,
               false,
               c_storage},
    target_row{{constraint::cpu_model, T, true, false,
                "a running VM's CPU type (host, flags) is offered by the node"},
               t_cpu_model,
               false,
               c_cpu_model},
    target_row{{constraint::current_node, T, true, false, "the guest is already there"},
               t_current_node,
               false,
               c_always},
};
static_assert(target_rows.size() <= 32, "decision_context keeps one bit per target unit");

constexpr std::array state_rows{
    state_row{{constraint::memory, S, true, true, "memory-limit and memory-reserve"}, s_memory},
    state_row{{constraint::cpu, S, true, true, "cpu-limit"}, s_cpu},
    state_row{{constraint::vcpu_ratio, S, true, true, "max-vcpu-ratio"}, s_vcpu_ratio},
    state_row{{constraint::memory_ratio, S, true, true, "max-memory-ratio"}, s_memory_ratio},
    state_row{{constraint::storage_space, S, true, false,
               "local disks moved to a node fit its target storage (storage-limit)"},
              s_storage_space},
    state_row{{constraint::anti_affinity, S, true, true,
               "negative HA resource affinity, plb_anti_affinity_* tags"},
              s_anti_affinity},
};

std::vector<unit_info> make_infos() {
    std::vector<unit_info> out;
    for (const auto &r : guest_rows) {
        out.push_back(r.info);
    }
    for (const auto &r : target_rows) {
        out.push_back(r.info);
    }
    for (const auto &r : state_rows) {
        out.push_back(r.info);
    }
    return out;
}

} // namespace

decision_context::decision_context(const cluster &c_, const options &o_, const affinity_groups &a_)
    : c(c_), o(o_), a(a_) {
    failback_.assign(c.guests.size(), true);
    for (const ha_resource &r : c.ha.resources) {
        failback_[r.guest] = r.failback;
    }
    // Guests that no guest-specific target unit can concern in recovery (no pin, no HA node
    // affinity, no precondition, no mapped device): only the node's state decides for them.
    // Each HA node-affinity rule's priority per node, as ha_node_priority() reads the rule.
    rule_priority_.assign(c.ha.node_affinity.size(), std::vector<int>(c.nodes.size(), no_priority));
    for (size_t i = 0; i < c.ha.node_affinity.size(); ++i) {
        for (node_id n = 0; n < c.nodes.size(); ++n) {
            if (auto p = ha_node_priority(c.ha.node_affinity[i], n)) {
                rule_priority_[i][n] = *p;
            }
        }
    }
    // Each rule's nodes with a priority, highest first.
    rule_order_.resize(c.ha.node_affinity.size());
    for (size_t i = 0; i < c.ha.node_affinity.size(); ++i) {
        for (node_id n = 0; n < c.nodes.size(); ++n) {
            if (rule_priority_[i][n] != no_priority) {
                rule_order_[i].push_back(n);
            }
        }
        std::stable_sort(rule_order_[i].begin(), rule_order_[i].end(), [&](node_id x, node_id y) {
            return rule_priority_[i][x] > rule_priority_[i][y];
        });
    }
    // The registry's per-guest precheck: which guest-specific target units can reject the guest.
    concerned_.assign(c.guests.size(), 0);
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        for (size_t i = 0; i < target_rows.size(); ++i) {
            if (target_rows[i].concerns != nullptr && target_rows[i].concerns(*this, g)) {
                concerned_[g] |= std::uint32_t{1} << i;
            }
        }
    }
    refresh();
}

decision_context::decision_context(const decision_context &other, const affinity_groups &a_)
    : c(other.c), o(other.o), a(a_), failback_(other.failback_), concerned_(other.concerned_),
      rule_priority_(other.rule_priority_), rule_order_(other.rule_order_), failed_(other.failed_),
      usable_(other.usable_), rule_best_(other.rule_best_), recovery_(other.recovery_) {}

void decision_context::set_failed(const std::vector<bool> &failed) {
    failed_ = failed;
    recovery_ = true;
    refresh();
}

void decision_context::refresh() {
    usable_.assign(c.nodes.size(), false);
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        usable_[n] = c.nodes[n].online && !c.nodes[n].maintenance && !failed(n);
    }
    rule_best_.resize(c.ha.node_affinity.size());
    // As ha_best_priority(): the first usable node in the rule's priority order (recovery asks
    // this once per failure scenario, capacity for thousands of them).
    for (size_t i = 0; i < c.ha.node_affinity.size(); ++i) {
        int best = none_usable_priority;
        for (node_id n : rule_order_[i]) {
            if (usable_[n]) {
                best = std::max(best, rule_priority_[i][n]);
                break;
            }
        }
        rule_best_[i] = best;
    }
}

std::span<const unit_info> units() {
    static const std::vector<unit_info> all = make_infos();
    return all;
}

std::vector<rejection> immovable_reasons(const decision_context &ctx, guest_id g) {
    std::vector<rejection> out;
    for (const guest_row &r : guest_rows) {
        if (auto why = r.fn(ctx, g)) {
            out.push_back(std::move(*why));
        }
    }
    return out;
}

std::uint32_t decision_context::mode_units(bool recovery) {
    static const std::array<std::uint32_t, 2> masks = [] {
        std::array<std::uint32_t, 2> m{};
        for (size_t i = 0; i < target_rows.size(); ++i) {
            m[0] |= target_rows[i].info.planning ? std::uint32_t{1} << i : 0;
            m[1] |= target_rows[i].info.recovery ? std::uint32_t{1} << i : 0;
        }
        return m;
    }();
    return masks[recovery ? 1 : 0];
}

bool decision_context::node_state_only(guest_id g) const {
    return (concerned_[g] & mode_units(true)) == 0;
}

std::optional<rejection> check_target(const decision_context &ctx, guest_id g, node_id n,
                                      bool explain) {
    // The node-state units (offline, maintenance, failed) reject exactly the nodes the context
    // marks unusable: on a usable node they are skipped, and so is every guest-specific unit
    // the precheck found cannot reject g (the search loops ask this for every guest and node).
    const bool usable = ctx.usable(n);
    const std::uint32_t run = ctx.concerned(g) & decision_context::mode_units(ctx.recovery());
    if (usable && (run & (run - 1)) == 0) {
        // At most one unit concerns g here (usually current_node): run just that one.
        if (run == 0) {
            return std::nullopt;
        }
        return target_rows[static_cast<size_t>(std::countr_zero(run))].fn(ctx, g, n, explain);
    }
    for (size_t i = 0; i < target_rows.size(); ++i) {
        const target_row &r = target_rows[i];
        const bool node_state = r.concerns == nullptr;
        if (node_state ? usable || (ctx.recovery() ? !r.info.recovery : !r.info.planning)
                       : (run & (std::uint32_t{1} << i)) == 0) {
            continue;
        }
        if (auto why = r.fn(ctx, g, n, explain)) {
            return why;
        }
    }
    return std::nullopt;
}

namespace {

constexpr std::uint32_t bit_of(constraint k) {
    for (size_t i = 0; i < target_rows.size(); ++i) {
        if (target_rows[i].info.name == k) {
            return std::uint32_t{1} << i;
        }
    }
    return 0;
}

} // namespace

const std::vector<node_id> &allowed_targets::of(guest_id g) {
    // What check_target reads for g besides ctx: concerned(g) in ctx's mode, and the guest-side
    // inputs of the units it runs. The node-state units read only the node. t_current_node reads
    // the guest's node; t_ha_node_affinity its rule and failback (the rule's priorities are
    // ctx's). A guest any other unit concerns (pins, preconditions, mappings, replication,
    // storage, CPU model) reads more of its record: computed on its own.
    constexpr std::uint32_t current = bit_of(constraint::current_node);
    constexpr std::uint32_t ha_rule = bit_of(constraint::ha_node_affinity);
    static_assert(current != 0 && ha_rule != 0);
    const std::uint32_t run = ctx_.concerned(g) & decision_context::mode_units(ctx_.recovery());
    auto compute = [&](std::vector<node_id> &out) {
        out.clear();
        for (node_id n = 0; n < ctx_.c.nodes.size(); ++n) {
            if (!check_target(ctx_, g, n, false)) {
                out.push_back(n);
            }
        }
    };
    if ((run & ~(current | ha_rule)) != 0) {
        compute(own_);
        return own_;
    }
    const key k{run, (run & current) != 0 ? ctx_.c.guests[g].node : no_node,
                (run & ha_rule) != 0 ? ctx_.a.node_rule[g] : no_group,
                (run & ha_rule) != 0 && ctx_.failback(g)};
    auto [it, fresh] = classes_.try_emplace(k);
    if (fresh) {
        compute(it->second);
    }
    return it->second;
}

std::optional<rejection> check_newcomer_target(const decision_context &ctx, node_id n,
                                               bool explain) {
    const guest_id g = ctx.a.newcomer.value(); // compile_affinity was given the newcomer
    for (const target_row &r : target_rows) {
        if (r.newcomer && r.info.planning) {
            if (auto why = r.fn(ctx, g, n, explain)) {
                return why;
            }
        }
    }
    return std::nullopt;
}

std::optional<rejection> check_arrival(const decision_context &ctx, const overlay &s,
                                       const arrival &in, node_id n, bool explain) {
    for (const state_row &r : state_rows) {
        if (ctx.recovery() ? !r.info.recovery : !r.info.planning) {
            continue;
        }
        if (auto why = r.fn(ctx, s, in, n, explain)) {
            return why;
        }
    }
    return std::nullopt;
}

std::optional<rejection> check_state(const decision_context &ctx, const overlay &s,
                                     const std::vector<guest_id> &gs, node_id n, bool explain) {
    arrival in;
    const load_view &v = s.load();
    for (guest_id g : gs) {
        if (s.node_of(g) == n || s.target_of(g) == n) {
            continue;
        }
        in.demand += v.demand[g];
        const guest &gg = ctx.c.guests[g];
        if (gg.running) {
            in.assigned += {gg.maxcpu, static_cast<double>(gg.maxmem)};
        }
    }
    in.guests = &gs;
    return check_arrival(ctx, s, in, n, explain);
}

} // namespace detail

} // namespace pvebal
