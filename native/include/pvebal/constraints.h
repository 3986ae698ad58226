// File: pvebal/constraints.h
//
// Hard constraints. Each is a small named check that says *why* it rejects: a guest that can
// never move (template, lock, passthrough device, ignore tag, ...) or a node a guest may not
// go to (offline, memory, affinity rules, ...). docs/constraints.md lists them.
//
// Tags (PVE tag syntax, case-insensitive):
//   pvebal-ignore         never move this guest (it still counts on its node)
//   pvebal-pin-<node>     only run on the named node(s); several pin tags form a node set
//   pvebal-priority-<N>   HA restart priority N (0..1000, higher first)
// With honor-proxlb-tags (default on) ProxLB's plb_ignore_*, plb_pin_<node>,
// plb_affinity_<group> and plb_anti_affinity_<group> mean the same as in ProxLB.
//
//   pvebal::guest_policy p = pvebal::policy_of(c, o, g);
//   pvebal::affinity_groups a = pvebal::compile_affinity(c, o);
#ifndef PVEBAL_CONSTRAINTS_H_
#define PVEBAL_CONSTRAINTS_H_

#include "pvebal/load.h"
#include "pvebal/model.h"
#include "pvebal/options.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pvebal {

// Every reason the engine gives for not moving a guest or not using a node. The names (the
// `constraint` of a rejection in JSON output) are stable; docs/constraints.md lists them.
enum class constraint : std::uint8_t {
    // A guest that never migrates (guest units, src/constraints/registry.cpp).
    template_guest, // "template"
    locked,
    ignore_tag,
    local_resource,
    local_cdrom,
    mapped_device,
    container_restart,
    ha_ignored,
    ha_disarmed,
    node_offline, // the guest's own node is offline
    // A node a guest may not go to (target units, cheap first).
    offline,
    maintenance,
    failed,
    pin,
    ha_node_affinity,
    precondition,
    replication,
    storage,
    cpu_model,
    current_node,
    // Against the evolving placement (state units).
    memory,
    cpu,
    vcpu_ratio,
    memory_ratio,
    storage_space,
    anti_affinity,
    // Decided by a planner from the units above.
    affinity,      // keep-together partners
    priority,      // recovery left the room to higher restart priorities
    local_storage, // recovery: disks lost with the failed node
    ordering,      // evacuate: the move has no safe order
};

// The stable name ("memory", "ha-node-affinity", ...).
const char *constraint_name(constraint k);

struct rejection {
    constraint kind = constraint::offline;
    std::string message; // for people
    friend bool operator==(const rejection &, const rejection &) = default;
};

// What a guest's tags ask for.
struct guest_policy {
    bool ignored = false;
    std::vector<node_id> pinned;              // empty: no pin
    std::vector<std::string> unknown_pins;    // pin tags naming no node of the cluster
    int priority = 0;                         // restart priority
    std::vector<std::string> together_groups; // tag affinity groups (keep together)
    std::vector<std::string> apart_groups;    // tag anti-affinity groups (keep apart)
};

guest_policy policy_of(const cluster &c, const options &o, guest_id g);
// The same for a guest that has no record yet (place: the request's tags).
guest_policy policy_of_tags(const cluster &c, const options &o,
                            const std::vector<std::string> &tags);

// affinity_groups::together and ::node_rule of a guest in no group / under no rule.
inline constexpr int no_group = -1;

// Affinity compiled from HA rules and tags, once per cluster.
struct affinity_groups {
    // Guests that must stay together (positive HA resource affinity, plb_affinity_ tags):
    // group id per guest, or no_group. Members of a group on one node move as one unit.
    std::vector<int> together;
    // Keep-apart groups (negative HA resource affinity, plb_anti_affinity_ tags): for each
    // guest, the groups it belongs to; group names for messages.
    std::vector<std::vector<int>> apart;
    std::vector<std::string> apart_names;
    std::vector<std::string> together_names;
    // HA node affinity per guest: index into cluster::ha.node_affinity, or no_group.
    std::vector<int> node_rule;
    // What each guest's tags ask for (policy_of), computed once here.
    std::vector<guest_policy> policies;
    // Rules and tag groups that could not be honoured together with the others, and why.
    std::vector<std::string> notes;
    // With a newcomer (compile_affinity): its index in the vectors above, c.guests.size(). It
    // has a policy and group memberships but no record in the cluster.
    std::optional<guest_id> newcomer;
};

// A guest about to be created (place): it is in no node's load and has no record; its tags
// decide its policy and which tag groups it joins.
struct newcomer {
    std::vector<std::string> tags;
    res demand; // what it will need when it runs
};

affinity_groups compile_affinity(const cluster &c, const options &o,
                                 const newcomer *incoming = nullptr);

// The checks themselves live in the constraint registry (src/constraints/registry.h); the
// placement they check against is the overlay (pvebal/overlay.h).

// HA node-affinity priorities are >= 0 (pve-ha-manager). A node a non-strict rule does not list
// ranks below every listed one; when a rule allows none of the usable nodes, its best priority
// is below even that.
inline constexpr int unlisted_priority = -1;
inline constexpr int none_usable_priority = -2;

// HA node affinity as pve-ha-manager reads a rule: the priority of node n (a listed node has
// its own, every other node unlisted_priority under a non-strict rule), or nullopt when the
// rule excludes n.
std::optional<int> ha_node_priority(const node_affinity_rule &r, node_id n);
// The highest priority among the nodes marked usable (none_usable_priority when the rule
// allows none of them).
int ha_best_priority(const node_affinity_rule &r, const std::vector<bool> &usable);

// The storage a local volume on `storage` lands on at node `to`: its storage-map target when
// the map names it, else the same id (qemu-server: PVE::JSONSchema::map_id, used by
// QemuMigrate for `targetstorage`); nullptr when `to` has no such storage.
const storage_info *target_storage(const options &o, const node &to, const std::string &storage);

// A guest's local volumes that move with it (disks of its config on storage its node does not
// share, no CD-ROMs): bytes per storage id, sorted by id. Empty when the snapshot has no
// storage entries for its node (nothing can be told) or no config.
std::vector<std::pair<std::string, double>> local_footprint(const cluster &c, guest_id g);

// Memory node nd keeps free: its node-memory-reserve, else memory-reserve (the system's share)
// plus the ZFS ARC allowance: zfs_arc_max when configured, else 1 GiB per TiB of ZFS pool (the
// Proxmox VE admin guide's rule), less (in used mode) the ARC already counted in its memory.
double node_memory_reserve(const options &o, const node &nd);
// Memory node nd may reach: min(memory-limit x maxmem, maxmem - node_memory_reserve).
double usable_memory(const options &o, const node &nd, double maxmem);

} // namespace pvebal

#endif
