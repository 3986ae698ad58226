// Internal to the constraint registry: the unit functions, one per constraint, grouped by kind
// (guest_units.cpp, target_units.cpp, state_units.cpp). registry.cpp lists them in order.
#ifndef PVEBAL_CONSTRAINTS_UNITS_H_
#define PVEBAL_CONSTRAINTS_UNITS_H_

#include "constraints/registry.h"

#include <string>
#include <vector>

namespace pvebal::detail::unit_fns {

using opt_rejection = std::optional<rejection>;

// Shared by the units: a rejection without a message (explain = false), message helpers.
inline rejection quiet(constraint k) {
    return rejection{k, {}};
}
std::string gib_text(double bytes);
std::string fraction_text(double f);
std::string join(const std::vector<std::string> &items);

// Guest units: (context, guest) -> why it never migrates.
opt_rejection g_template(const decision_context &ctx, guest_id g);
opt_rejection g_locked(const decision_context &ctx, guest_id g);
opt_rejection g_ignore_tag(const decision_context &ctx, guest_id g);
opt_rejection g_local_resource(const decision_context &ctx, guest_id g);
opt_rejection g_local_cdrom(const decision_context &ctx, guest_id g);
opt_rejection g_mapped_device(const decision_context &ctx, guest_id g);
opt_rejection g_container_restart(const decision_context &ctx, guest_id g);
opt_rejection g_ha_ignored(const decision_context &ctx, guest_id g);
opt_rejection g_ha_disarmed(const decision_context &ctx, guest_id g);
opt_rejection g_node_offline(const decision_context &ctx, guest_id g);

// Target units: (context, guest, node, explain) -> why the node is not allowed.
opt_rejection t_offline(const decision_context &ctx, guest_id g, node_id n, bool explain);
opt_rejection t_maintenance(const decision_context &ctx, guest_id g, node_id n, bool explain);
opt_rejection t_failed(const decision_context &ctx, guest_id g, node_id n, bool explain);
opt_rejection t_pin(const decision_context &ctx, guest_id g, node_id n, bool explain);
opt_rejection t_ha_node_affinity(const decision_context &ctx, guest_id g, node_id n, bool explain);
opt_rejection t_precondition(const decision_context &ctx, guest_id g, node_id n, bool explain);
opt_rejection t_mapped_device(const decision_context &ctx, guest_id g, node_id n, bool explain);
opt_rejection t_replication(const decision_context &ctx, guest_id g, node_id n, bool explain);
opt_rejection t_storage(const decision_context &ctx, guest_id g, node_id n, bool explain);
opt_rejection t_cpu_model(const decision_context &ctx, guest_id g, node_id n, bool explain);
opt_rejection t_current_node(const decision_context &ctx, guest_id g, node_id n, bool explain);

// State units: (context, placement, arrival, node, explain) -> why it does not fit there now.
opt_rejection s_memory(const decision_context &ctx, const overlay &s, const arrival &in, node_id n,
                       bool explain);
opt_rejection s_cpu(const decision_context &ctx, const overlay &s, const arrival &in, node_id n,
                    bool explain);
opt_rejection s_vcpu_ratio(const decision_context &ctx, const overlay &s, const arrival &in,
                           node_id n, bool explain);
opt_rejection s_memory_ratio(const decision_context &ctx, const overlay &s, const arrival &in,
                             node_id n, bool explain);
opt_rejection s_storage_space(const decision_context &ctx, const overlay &s, const arrival &in,
                              node_id n, bool explain);
opt_rejection s_anti_affinity(const decision_context &ctx, const overlay &s, const arrival &in,
                              node_id n, bool explain);

// The node limits (memory, cpu, vcpu-ratio, memory-ratio), one definition each: the most node n
// may hold and what it holds now (arrivals and held checks both read them).
double limit_of(const decision_context &ctx, const overlay &s, constraint k, node_id n);
double held_of(const overlay &s, constraint k, node_id n);
bool limit_set(const decision_context &ctx, constraint k);
// Held checks (violations.cpp): node n breaks the limit now; the message says by how much.
opt_rejection h_limit(const decision_context &ctx, const overlay &s, constraint k, node_id n);
// The guest is on a node its HA node-affinity rule does not list (strict rule).
opt_rejection h_ha_node_affinity(const decision_context &ctx, guest_id g, node_id n);

} // namespace pvebal::detail::unit_fns

#endif
