// Guest units: what makes a guest never migrate, whatever the target.
#include "constraints/units.h"

#include <algorithm>

namespace pvebal::detail::unit_fns {

namespace {

// A cloud-init drive is generated, not copied: qemu-server migrates it like a disk.
bool is_cloudinit(const std::string &volid) {
    return volid.find("-cloudinit") != std::string::npos;
}

// Local CD-ROM images: qemu-server's QemuMigrate::scan_local_volumes dies with "local cdrom
// image" for a CD-ROM on a non-shared storage, online or offline.
std::vector<std::string> local_cdroms(const cluster &c, const guest &g) {
    std::vector<std::string> out;
    const node &src = c.nodes[g.node];
    for (const guest_disk &d : g.disks) {
        const storage_info *s = src.find_storage(d.storage);
        if (d.cdrom && !is_cloudinit(d.volid) && s != nullptr && !s->shared) {
            out.push_back(d.key + " (" + d.volid + ")");
        }
    }
    for (const std::string &v : g.local_cdrom_volids) {
        if (!is_cloudinit(v) && std::none_of(g.disks.begin(), g.disks.end(), [&](const auto &d) {
                return d.volid == v && d.cdrom;
            })) {
            out.push_back(v);
        }
    }
    return out;
}

// A mapped device that a running VM cannot take along: USB mappings and directory mappings
// never, PCI mappings unless marked live-migration-capable (qemu-server
// QemuMigrate::Helpers::check_local_resources and QemuMigrate::prepare).
bool live_capable(const cluster &c, const mapped_device &d) {
    if (d.kind != mapping_kind::pci) {
        return false;
    }
    const resource_mapping *m = c.mappings.find(d.kind, d.mapping);
    return m != nullptr && m->live_migration;
}
} // namespace

opt_rejection g_template(const decision_context &ctx, guest_id g) {
    if (ctx.c.guests[g].is_template) {
        return rejection{constraint::template_guest, "templates are never moved"};
    }
    return std::nullopt;
}

opt_rejection g_locked(const decision_context &ctx, guest_id g) {
    const std::string &lock = ctx.c.guests[g].lock;
    if (!lock.empty()) {
        return rejection{constraint::locked, "guest is locked (" + lock + ")"};
    }
    return std::nullopt;
}

opt_rejection g_ignore_tag(const decision_context &ctx, guest_id g) {
    if (ctx.policy(g).ignored) {
        return rejection{constraint::ignore_tag, "tagged to be ignored by the balancer"};
    }
    return std::nullopt;
}

opt_rejection g_local_resource(const decision_context &ctx, guest_id g) {
    const guest &gs = ctx.c.guests[g];
    if (!gs.local_resources.empty()) {
        return rejection{constraint::local_resource,
                         "uses host-local devices (" + join(gs.local_resources) + ")"};
    }
    return std::nullopt;
}

opt_rejection g_local_cdrom(const decision_context &ctx, guest_id g) {
    const guest &gs = ctx.c.guests[g];
    if (gs.type != guest_type::qemu) {
        return std::nullopt;
    }
    std::vector<std::string> cd = local_cdroms(ctx.c, gs);
    if (!cd.empty()) {
        return rejection{constraint::local_cdrom,
                         "CD-ROM on local storage: " + join(cd) +
                             "; qemu-server refuses to migrate a local CD-ROM image (eject it or "
                             "use an image on shared storage)"};
    }
    return std::nullopt;
}

opt_rejection g_mapped_device(const decision_context &ctx, guest_id g) {
    const guest &gs = ctx.c.guests[g];
    if (!gs.running) {
        return std::nullopt;
    }
    std::vector<std::string> fixed;
    for (const mapped_device &d : gs.mapped_devices) {
        if (!live_capable(ctx.c, d)) {
            fixed.push_back(d.key + ":" + d.mapping);
        }
    }
    if (!fixed.empty()) {
        return rejection{constraint::mapped_device,
                         "running VM uses mapped devices that cannot live-migrate (" + join(fixed) +
                             "); it can move only while stopped"};
    }
    return std::nullopt;
}

opt_rejection g_container_restart(const decision_context &ctx, guest_id g) {
    const guest &gs = ctx.c.guests[g];
    if (gs.type == guest_type::lxc && gs.running && !ctx.o.allow_container_restart) {
        return rejection{constraint::container_restart,
                         "running container can only move by restart migration "
                         "(allow-container-restart is off)"};
    }
    return std::nullopt;
}

opt_rejection g_ha_ignored(const decision_context &ctx, guest_id g) {
    if (const ha_resource *r = ctx.c.ha.find(g);
        r != nullptr && r->state == ha_request_state::ignored) {
        return rejection{constraint::ha_ignored, "HA resource is in state 'ignored'"};
    }
    return std::nullopt;
}

opt_rejection g_ha_disarmed(const decision_context &ctx, guest_id g) {
    const std::optional<ha_disarm> &d = ctx.c.ha.disarm;
    if (d && ctx.c.ha.managed(g)) {
        return rejection{
            constraint::ha_disarmed,
            std::string("HA is ") + (d->state == "disarming" ? "disarming" : "disarmed") +
                " (resource mode " + (d->mode == disarm_mode::freeze ? "freeze" : "ignore") +
                "): the HA manager processes no migration of HA resources until "
                "it is armed again"};
    }
    return std::nullopt;
}

opt_rejection g_node_offline(const decision_context &ctx, guest_id g) {
    const node &n = ctx.c.nodes[ctx.c.guests[g].node];
    if (!n.online) {
        return rejection{constraint::node_offline,
                         "its node " + n.name + " is offline; only HA recovery can move it"};
    }
    return std::nullopt;
}
} // namespace pvebal::detail::unit_fns
