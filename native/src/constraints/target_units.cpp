// Target units: nodes a guest may not go to, decided without the evolving placement.
#include "constraints/units.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <map>

namespace pvebal::detail::unit_fns {

std::string gib_text(double bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
    return buf;
}

std::string fraction_text(double f) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", f * 100);
    return buf;
}

std::string join(const std::vector<std::string> &items) {
    std::string out;
    for (const std::string &s : items) {
        out += (out.empty() ? "" : ", ") + s;
    }
    return out;
}

opt_rejection t_offline(const decision_context &ctx, guest_id, node_id n, bool explain) {
    const node &nd = ctx.c.nodes[n];
    if (nd.online) {
        return std::nullopt;
    }
    return explain ? rejection{constraint::offline, "node " + nd.name + " is offline"}
                   : quiet(constraint::offline);
}

opt_rejection t_maintenance(const decision_context &ctx, guest_id, node_id n, bool explain) {
    const node &nd = ctx.c.nodes[n];
    if (!nd.maintenance) {
        return std::nullopt;
    }
    return explain ? rejection{constraint::maintenance, "node " + nd.name + " is in maintenance"}
                   : quiet(constraint::maintenance);
}

opt_rejection t_failed(const decision_context &ctx, guest_id, node_id n, bool explain) {
    if (!ctx.failed(n)) {
        return std::nullopt;
    }
    return explain ? rejection{constraint::failed, "node " + ctx.c.nodes[n].name + " has failed"}
                   : quiet(constraint::failed);
}

opt_rejection t_pin(const decision_context &ctx, guest_id g, node_id n, bool explain) {
    const std::vector<node_id> &pinned = ctx.policy(g).pinned;
    if (pinned.empty() || std::binary_search(pinned.begin(), pinned.end(), n)) {
        return std::nullopt;
    }
    if (!explain) {
        return quiet(constraint::pin);
    }
    std::vector<std::string> names;
    for (node_id x : pinned) {
        names.push_back(ctx.c.nodes[x].name);
    }
    return rejection{constraint::pin,
                     "pinned by tag to " + join(names) + ", not " + ctx.c.nodes[n].name};
}

// pve-ha-manager's reading of a node-affinity rule (Manager.pm select_service_node): the nodes
// of the highest priority class among the usable ones; a resource with failback off stays on
// any node the rule allows. In recovery its node is gone, so the class decides.
opt_rejection t_ha_node_affinity(const decision_context &ctx, guest_id g, node_id n, bool explain) {
    const int ri = ctx.a.node_rule[g];
    if (ri == no_group) {
        return std::nullopt;
    }
    const int p = ctx.rule_priority(static_cast<size_t>(ri), n);
    const bool listed = p != decision_context::no_priority;
    bool ok = listed;
    if (ok && (ctx.recovery() || ctx.failback(g))) {
        ok = p >= ctx.rule_best(static_cast<size_t>(ri));
    }
    if (ok) {
        return std::nullopt;
    }
    if (!explain) {
        return quiet(constraint::ha_node_affinity);
    }
    const node_affinity_rule &r = ctx.c.ha.node_affinity[static_cast<size_t>(ri)];
    return rejection{constraint::ha_node_affinity,
                     "HA node affinity rule '" + r.id + "' " +
                         (listed ? "prefers other nodes than " : "does not allow ") +
                         ctx.c.nodes[n].name};
}

opt_rejection t_precondition(const decision_context &ctx, guest_id g, node_id n, bool explain) {
    const node &nd = ctx.c.nodes[n];
    for (const blocked_target &b : ctx.c.guests[g].blocked_targets) {
        if (b.node == nd.name) {
            return explain ? rejection{constraint::precondition, "migrate precondition does not "
                                                                 "allow " +
                                                                     nd.name + ": " + b.reason}
                           : quiet(constraint::precondition);
        }
    }
    return std::nullopt;
}

// A mapped device needs its mapping on the target (qemu-server: "can't migrate to 'X':
// missing mapped devices"); a mapping the snapshot does not describe counts as missing.
opt_rejection t_mapped_device(const decision_context &ctx, guest_id g, node_id n, bool explain) {
    for (const mapped_device &d : ctx.c.guests[g].mapped_devices) {
        const resource_mapping *m = ctx.c.mappings.find(d.kind, d.mapping);
        if (m != nullptr && std::binary_search(m->nodes.begin(), m->nodes.end(), n)) {
            continue;
        }
        if (!explain) {
            return quiet(constraint::mapped_device);
        }
        const std::string kind = mapping_kind_name(d.kind);
        if (m == nullptr) {
            return rejection{constraint::mapped_device,
                             d.key + " uses " + kind + " mapping '" + d.mapping +
                                 "', which the snapshot does not describe (mappings." + kind + ")"};
        }
        return rejection{constraint::mapped_device, ctx.c.nodes[n].name + " has no " + kind +
                                                        " mapping '" + d.mapping + "' for " +
                                                        d.key};
    }
    return std::nullopt;
}

// Replication jobs: qemu-server refuses to live-migrate a replicated VM to a node that is not a
// replication target (API2/Qemu.pm migrate_vm, QemuMigrate::prepare); any other move of a
// replicated guest leaves its jobs pointing at volumes that are not there. The source and the
// target swap on a migration to the target, so the guest may go to any of its job targets.
opt_rejection t_replication(const decision_context &ctx, guest_id g, node_id n, bool explain) {
    const std::vector<replication_job> &jobs = ctx.c.guests[g].replication;
    if (jobs.empty() || std::any_of(jobs.begin(), jobs.end(),
                                    [&](const replication_job &j) { return j.target == n; })) {
        return std::nullopt;
    }
    if (!explain) {
        return quiet(constraint::replication);
    }
    std::vector<std::string> list;
    for (const replication_job &j : jobs) {
        list.push_back(
            j.id + " to " +
            (j.target == no_node ? std::string("an unknown node") : ctx.c.nodes[j.target].name));
    }
    return rejection{constraint::replication, "has replication jobs (" + join(list) + "); " +
                                                  ctx.c.nodes[n].name +
                                                  " is not a replication target"};
}

static std::string storage_of_volid(const std::string &volid) {
    return volid.substr(0, volid.find(':'));
}

opt_rejection t_storage(const decision_context &ctx, guest_id g, node_id n, bool explain) {
    const cluster &c = ctx.c;
    const guest &gs = c.guests[g];
    const node &src = c.nodes[gs.node];
    const node &dst = c.nodes[n];
    auto needs = [&](const std::string &storage, const std::string &what) -> opt_rejection {
        const storage_info *s = src.find_storage(storage);
        if (s != nullptr && s->shared) {
            return std::nullopt;
        }
        if (s == nullptr && src.storages.empty()) {
            return std::nullopt; // the snapshot says nothing about storage: cannot tell
        }
        // The volume lands where qemu-server's storage map sends it (target_storage).
        if (const storage_info *t = target_storage(ctx.o, dst, storage);
            t != nullptr && t->available) {
            return std::nullopt;
        }
        if (!explain) {
            return quiet(constraint::storage);
        }
        for (const auto &[from, to] : ctx.o.storage_map) {
            if (from == storage) {
                return rejection{constraint::storage, what + " is on local storage '" + storage +
                                                          "', which storage-map sends to '" + to +
                                                          "'; " + dst.name +
                                                          " does not have it available"};
            }
        }
        return rejection{constraint::storage, what + " is on local storage '" + storage +
                                                  "', which " + dst.name +
                                                  " does not have (storage-map can map it)"};
    };
    for (const guest_disk &d : gs.disks) {
        if (auto r = needs(d.storage, "disk " + d.key)) {
            return r;
        }
    }
    for (const std::string &v : gs.local_disk_volids) {
        if (auto r = needs(storage_of_volid(v), "disk " + v)) {
            return r;
        }
    }
    return std::nullopt;
}

namespace {

// The flags of qemu-server's built-in x86-64-v* models (CPUConfig.pm $builtin_models_by_arch):
// a VM of such a type needs them from the host.
const std::vector<std::string> *builtin_model_flags(const std::string &type) {
    static const std::map<std::string, std::vector<std::string>> models = [] {
        const std::string v2 = "+popcnt;+pni;+sse4.1;+sse4.2;+ssse3";
        const std::string v3 =
            "+aes;" + v2 + ";+avx;+avx2;+bmi1;+bmi2;+f16c;+fma;+abm;+movbe;+xsave";
        const std::string v4 = v3 + ";+avx512f;+avx512bw;+avx512cd;+avx512dq;+avx512vl";
        return std::map<std::string, std::vector<std::string>>{
            {"x86-64-v2", cpu_flags_turned_on(v2)},
            {"x86-64-v2-AES", cpu_flags_turned_on("+aes;" + v2)},
            {"x86-64-v3", cpu_flags_turned_on(v3)},
            {"x86-64-v4", cpu_flags_turned_on(v4)},
        };
    }();
    auto it = models.find(type);
    return it == models.end() ? nullptr : &it->second;
}

std::vector<std::string> missing_flags(const std::vector<std::string> &need,
                                       const std::vector<std::string> &have) {
    std::vector<std::string> out;
    std::set_difference(need.begin(), need.end(), have.begin(), have.end(),
                        std::back_inserter(out));
    return out;
}

} // namespace

// A running VM migrates live, and its CPU keeps what it booted with: with `cpu: host` the
// target must be the same CPU model (when both are known) offering every flag of the source;
// with another type the target must offer the flags the type and `flags=` turn on. The flags
// are what the snapshot gives per node (nodes.<name>.cpu-flags: pvestatd's cpuflags-kvm, or
// status.cpuinfo.flags); a node without them is not judged. Stopped VMs start fresh.
opt_rejection t_cpu_model(const decision_context &ctx, guest_id g, node_id n, bool explain) {
    const guest &gs = ctx.c.guests[g];
    if (!gs.running || gs.type != guest_type::qemu || gs.node == n) {
        return std::nullopt;
    }
    const node &src = ctx.c.nodes[gs.node];
    const node &dst = ctx.c.nodes[n];
    if (!dst.cpu_flags_known) {
        return std::nullopt;
    }
    auto reject = [&](const std::string &why) -> opt_rejection {
        return explain ? rejection{constraint::cpu_model, why} : quiet(constraint::cpu_model);
    };
    if (gs.cpu_type == "host") {
        if (!src.cpu_model.empty() && !dst.cpu_model.empty() && src.cpu_model != dst.cpu_model) {
            return reject("cpu: host; " + dst.name + " has CPU '" + dst.cpu_model + "', " +
                          src.name + " has '" + src.cpu_model + "'");
        }
        if (src.cpu_flags_known) {
            if (auto miss = missing_flags(src.cpu_flags, dst.cpu_flags); !miss.empty()) {
                return reject("cpu: host; " + dst.name + " lacks CPU flags of " + src.name + ": " +
                              join(miss));
            }
        }
        return std::nullopt;
    }
    std::vector<std::string> need = gs.cpu_flags_on;
    std::string what = "cpu flags";
    if (const std::vector<std::string> *b = builtin_model_flags(gs.cpu_type)) {
        need.insert(need.end(), b->begin(), b->end());
        what = "cpu type " + gs.cpu_type;
    } else if (gs.cpu_type.rfind("custom-", 0) == 0) {
        auto it = ctx.c.cpu_models.find(gs.cpu_type.substr(7));
        if (it != ctx.c.cpu_models.end()) {
            need.insert(need.end(), it->second.flags_on.begin(), it->second.flags_on.end());
        }
        what = "cpu type " + gs.cpu_type;
    }
    std::sort(need.begin(), need.end());
    need.erase(std::unique(need.begin(), need.end()), need.end());
    if (auto miss = missing_flags(need, dst.cpu_flags); !miss.empty()) {
        return reject(what + " needs CPU flags " + dst.name + " does not offer: " + join(miss));
    }
    return std::nullopt;
}

// Last, so callers that place a stopped guest see the other reasons first.
opt_rejection t_current_node(const decision_context &ctx, guest_id g, node_id n, bool explain) {
    if (ctx.c.guests[g].node != n) {
        return std::nullopt;
    }
    return explain ? rejection{constraint::current_node,
                               "the guest is already on " + ctx.c.nodes[n].name}
                   : quiet(constraint::current_node);
}
} // namespace pvebal::detail::unit_fns
