// Plans as JSON (docs/plan-format.md) or as a readable table with per-node before/after bars.
#include "io/render_common.h"
#include "pvebal/io.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pvebal {

using namespace detail;

namespace {

const char *mode_name(migration_mode m) {
    switch (m) {
    case migration_mode::online:
        return "online";
    case migration_mode::offline:
        return "offline";
    case migration_mode::restart:
        return "restart";
    }
    return "online";
}

const char *type_name(const guest &g) {
    return g.type == guest_type::qemu ? "qemu" : "lxc";
}

Json::Value cost_json(const migration_cost &c) {
    Json::Value o(Json::objectValue);
    o["bytes"] = bytes(c.bytes);
    o["seconds"] = num(std::round(c.seconds * 10) / 10);
    o["downtime"] = num(std::round(c.downtime * 1000) / 1000);
    return o;
}

Json::Value node_state_json(const metrics &m, const node_metrics &nm) {
    Json::Value o(Json::objectValue);
    for (const dimension_info &row : dimension_table) {
        if (m.in_use[row.dim]) {
            o[std::string(row.key)] = num(nm.util[row.dim]);
            o[std::string(row.key) + "-used"] = dimension_value(row, nm.used[row.dim]);
        }
    }
    o["guests"] = nm.guests;
    return o;
}

std::string duration_text(double s) {
    char buf[32];
    if (s < 60) {
        std::snprintf(buf, sizeof buf, "%.0fs", s);
    } else if (s < 3600) {
        std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60,
                      static_cast<int>(s) % 60);
    } else {
        std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600,
                      (static_cast<int>(s) % 3600) / 60);
    }
    return buf;
}

std::string plan_json(const cluster &c, const options &o, const plan &p) {
    Json::Value root(Json::objectValue);
    root["kind"] = plan_kind_name(p.kind);
    root["mode"] = o.mode == load_mode::used ? "used" : "static";
    Json::Value migs(Json::arrayValue);
    for (const migration &m : p.migrations) {
        const guest &g = c.guests[m.guest];
        Json::Value j(Json::objectValue);
        j["step"] = m.step;
        j["wave"] = m.wave;
        j["vmid"] = g.vmid;
        j["type"] = type_name(g);
        j["name"] = g.name;
        j["from"] = c.nodes[m.from].name;
        j["to"] = c.nodes[m.to].name;
        j["mode"] = mode_name(m.mode);
        j["with-local-disks"] = m.with_local_disks;
        j["ha"] = m.ha;
        j["temporary"] = m.temporary;
        j["cost"] = cost_json(m.cost);
        j["reason"] = m.reason;
        if (m.repair) {
            j["repair"] = constraint_name(*m.repair);
        }
        migs.append(j);
    }
    root["migrations"] = migs;
    Json::Value unplaced(Json::arrayValue);
    for (const unplaced_guest &u : p.unplaced) {
        const guest &g = c.guests[u.guest];
        Json::Value j(Json::objectValue);
        j["vmid"] = g.vmid;
        j["type"] = type_name(g);
        j["name"] = g.name;
        j["node"] = c.nodes[g.node].name;
        Json::Value rs(Json::arrayValue);
        for (const node_rejection &r : u.reasons) {
            Json::Value jr = rejection_json(r.why);
            if (r.node) {
                jr["node"] = c.nodes[*r.node].name;
            }
            rs.append(jr);
        }
        j["reasons"] = rs;
        unplaced.append(j);
    }
    root["unplaced"] = unplaced;
    Json::Value dropped(Json::arrayValue);
    for (const dropped_move &d : p.dropped) {
        Json::Value j(Json::objectValue);
        j["vmid"] = c.guests[d.guest].vmid;
        j["from"] = c.nodes[d.from].name;
        j["to"] = c.nodes[d.to].name;
        j["reason"] = d.reason;
        dropped.append(j);
    }
    root["dropped"] = dropped;
    Json::Value metrics(Json::objectValue);
    metrics["before"] = metrics_json(p.before);
    metrics["after"] = metrics_json(p.after);
    root["metrics"] = metrics;
    Json::Value nodes(Json::arrayValue);
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        Json::Value j(Json::objectValue);
        j["node"] = c.nodes[n].name;
        j["before"] = node_state_json(p.before, p.before.nodes[n]);
        j["after"] = node_state_json(p.after, p.after.nodes[n]);
        j["active"] = p.after.nodes[n].active;
        nodes.append(j);
    }
    root["nodes"] = nodes;
    Json::Value summary(Json::objectValue);
    summary["migrations"] = static_cast<int>(p.migrations.size());
    summary["waves"] = p.waves;
    summary["unplaced"] = static_cast<int>(p.unplaced.size());
    summary["bytes"] = bytes(p.total.bytes);
    summary["migration-seconds"] = num(std::round(p.total.seconds * 10) / 10);
    summary["downtime-seconds"] = num(std::round(p.total.downtime * 1000) / 1000);
    summary["estimated-duration"] = num(std::round(p.duration * 10) / 10);
    root["summary"] = summary;
    Json::Value notes(Json::arrayValue);
    for (const std::string &n : p.notes) {
        notes.append(n);
    }
    root["notes"] = notes;
    if (!p.drained.empty()) {
        Json::Value d(Json::arrayValue);
        for (node_id n : p.drained) {
            d.append(c.nodes[n].name);
        }
        root[p.kind == plan_kind::failover ? "failed-nodes" : "drained"] = d;
    }
    return to_json_text(root);
}

std::string plan_text(const cluster &c, const plan &p) {
    std::string out;
    char buf[512];
    const char *title = p.kind == plan_kind::balance    ? "Balance plan"
                        : p.kind == plan_kind::evacuate ? "Evacuation plan"
                                                        : "Failover plan";
    std::snprintf(
        buf, sizeof buf,
        "%s: %zu migration(s) in %d wave(s), %s to transfer, about %s (guest downtime %.1f s)\n",
        title, p.migrations.size(), p.waves, human_bytes(p.total.bytes).c_str(),
        duration_text(p.duration).c_str(), p.total.downtime);
    out += buf;
    if (!p.drained.empty()) {
        out += p.kind == plan_kind::failover ? "Failed nodes:" : "Draining:";
        for (node_id n : p.drained) {
            out += " " + esc(c.nodes[n].name);
        }
        out += "\n";
    }
    if (!p.migrations.empty()) {
        size_t gw = 5, nw = 4;
        for (const migration &m : p.migrations) {
            gw = std::max(gw, guest_label(c, m.guest).size());
            nw = std::max({nw, esc(c.nodes[m.from].name).size(), esc(c.nodes[m.to].name).size()});
        }
        std::snprintf(buf, sizeof buf, "\n%4s %4s  %-*s  %-*s  %-*s  %-7s  %9s  %6s  %s\n", "STEP",
                      "WAVE", static_cast<int>(gw), "GUEST", static_cast<int>(nw), "FROM",
                      static_cast<int>(nw), "TO", "MODE", "DATA", "TIME", "REASON");
        out += buf;
        for (const migration &m : p.migrations) {
            std::snprintf(buf, sizeof buf, "%4d %4d  %-*s  %-*s  %-*s  %-7s  %9s  %6s  %s%s\n",
                          m.step, m.wave, static_cast<int>(gw), guest_label(c, m.guest).c_str(),
                          static_cast<int>(nw), esc(c.nodes[m.from].name).c_str(),
                          static_cast<int>(nw), esc(c.nodes[m.to].name).c_str(), mode_name(m.mode),
                          human_bytes(m.cost.bytes).c_str(), duration_text(m.cost.seconds).c_str(),
                          esc(m.reason).c_str(), m.ha ? " [HA]" : "");
            out += buf;
        }
    }
    size_t w = 4;
    for (const node &n : c.nodes) {
        w = std::max(w, esc(n.name).size());
    }
    std::vector<const dimension_info *> shown;
    for (const dimension_info &row : dimension_table) {
        if (p.before.in_use[row.dim]) {
            shown.push_back(&row);
        }
    }
    std::snprintf(buf, sizeof buf, "\n%-*s", static_cast<int>(w), "NODE");
    out += buf;
    for (size_t i = 0; i < shown.size(); ++i) {
        const std::string head = std::string(shown[i]->label) + " before -> after";
        std::snprintf(buf, sizeof buf, i + 1 < shown.size() ? "  %-45s" : "  %s", head.c_str());
        out += buf;
    }
    out += "\n";
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        const node_metrics &b = p.before.nodes[n];
        const node_metrics &a = p.after.nodes[n];
        std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(w), esc(c.nodes[n].name).c_str());
        out += buf;
        for (const dimension_info *row : shown) {
            out += "  " + bar(b.util[row->dim], 10) + pct(b.util[row->dim]) + " -> " +
                   bar(a.util[row->dim], 10) + pct(a.util[row->dim]);
        }
        out += !c.nodes[n].online ? "  (offline)"
               : !a.active ? (p.kind == plan_kind::failover ? "  (failed)" : "  (maintenance)")
                           : "";
        out += "\n";
    }
    // Labels are at least 13 wide ("memory stddev"); a longer dimension key widens the column.
    size_t lw = 13;
    for (const dimension_info *d : shown) {
        lw = std::max(lw, d->key.size() + 7); // " stddev"
    }
    out += "\nMetrics:" + std::string(lw - 4, ' ') + "before     after\n";
    auto row = [&](const char *name, double x, double y) {
        std::snprintf(buf, sizeof buf, "  %-*s %8.4f  %8.4f\n", static_cast<int>(lw), name, x, y);
        out += buf;
    };
    row("objective", p.before.objective, p.after.objective);
    row("imbalance", p.before.pve_imbalance, p.after.pve_imbalance);
    for (const dimension_info *d : shown) {
        const std::string key(d->key);
        row((key + " stddev").c_str(), p.before.stats[d->dim].stddev, p.after.stats[d->dim].stddev);
        row((key + " max").c_str(), p.before.stats[d->dim].max, p.after.stats[d->dim].max);
    }
    if (!p.unplaced.empty()) {
        out += "\nCannot be placed (" + std::to_string(p.unplaced.size()) + "):\n";
        for (const unplaced_guest &u : p.unplaced) {
            out += "  " + guest_label(c, u.guest) + ":";
            std::string sep = " ";
            for (const node_rejection &r : u.reasons) {
                out += sep + (r.node ? esc(c.nodes[*r.node].name) + ": " : "") + esc(r.why.message);
                sep = "; ";
            }
            out += "\n";
        }
    }
    if (!p.dropped.empty()) {
        out += "\nDropped moves:\n";
        for (const dropped_move &d : p.dropped) {
            out += "  " + guest_label(c, d.guest) + " " + esc(c.nodes[d.from].name) + " -> " +
                   esc(c.nodes[d.to].name) + ": " + esc(d.reason) + "\n";
        }
    }
    if (!p.notes.empty()) {
        out += "\nNotes:\n";
        for (const std::string &n : p.notes) {
            out += "  " + esc(n) + "\n";
        }
    }
    return out;
}

} // namespace

std::string render_plan(const cluster &c, const options &o, const plan &p, output_format f) {
    return f == output_format::json ? plan_json(c, o, p) : plan_text(c, p);
}

} // namespace pvebal
