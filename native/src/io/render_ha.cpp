// Capacity (N+k) and place answers, as JSON or text.
#include "io/render_common.h"
#include "pvebal/io.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pvebal {

using namespace detail;

namespace {

Json::Value shortfall_json(const res &r) {
    Json::Value o(Json::objectValue);
    o["memory"] = bytes(r[dimension::memory]);
    o["cpu"] = num(r[dimension::cpu]);
    return o;
}

Json::Value scenario_json(const cluster &c, const failure_scenario &s) {
    Json::Value o(Json::objectValue);
    Json::Value nodes(Json::arrayValue);
    for (node_id n : s.failed) {
        nodes.append(c.nodes[n].name);
    }
    o["failed-nodes"] = nodes;
    o["unplaced"] = s.unplaced;
    o["rule-blocked"] = s.rule_blocked;
    o["shortfall"] = shortfall_json(s.shortfall);
    Json::Value gs(Json::arrayValue);
    for (guest_id g : s.guests) {
        gs.append(c.guests[g].vmid);
    }
    o["guests"] = gs;
    return o;
}

std::string scenario_text(const cluster &c, const failure_scenario &s) {
    std::string nodes;
    for (node_id n : s.failed) {
        nodes += (nodes.empty() ? "" : "+") + esc(c.nodes[n].name);
    }
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s fails: %d guest(s) cannot restart", nodes.c_str(),
                  s.unplaced);
    std::string out = buf;
    if (s.unplaced > s.rule_blocked) {
        std::snprintf(buf, sizeof buf, ", short of %s and %.1f cores",
                      human_bytes(s.shortfall[dimension::memory]).c_str(),
                      s.shortfall[dimension::cpu]);
        out += buf;
    }
    if (s.rule_blocked > 0) {
        out += ", " + std::to_string(s.rule_blocked) +
               " of them with no allowed surviving node (pins, strict HA rules)";
    }
    if (!s.guests.empty()) {
        out += " (";
        for (size_t i = 0; i < s.guests.size() && i < 10; ++i) {
            out += (i ? ", " : "") + std::to_string(c.guests[s.guests[i]].vmid);
        }
        out += s.guests.size() > 10 ? ", ...)" : ")";
    }
    return out;
}

} // namespace

std::string render_capacity(const cluster &c, const capacity_report &r, output_format f) {
    if (f == output_format::json) {
        Json::Value root(Json::objectValue);
        root["kind"] = "capacity";
        root["nodes"] = r.nodes;
        root["ha-guests"] = r.ha_guests;
        root["tolerated-failures"] = r.tolerated;
        root["upper-bound"] = r.upper_bound;
        root["exact"] = r.exact;
        root["method"] = r.method;
        root["scenarios-checked"] = static_cast<Json::Int64>(r.scenarios_checked);
        root["worst"] = r.worst ? scenario_json(c, *r.worst) : Json::Value();
        Json::Value t(Json::objectValue);
        t["failures"] = r.target;
        t["met"] = r.target_met;
        t["reserve-needed"] = shortfall_json(r.reserve_needed);
        t["worst"] = r.worst_at_target ? scenario_json(c, *r.worst_at_target) : Json::Value();
        root["target"] = t;
        Json::Value un(Json::arrayValue);
        for (guest_id g : r.unrecoverable) {
            Json::Value u(Json::objectValue);
            u["vmid"] = c.guests[g].vmid;
            u["name"] = c.guests[g].name;
            un.append(u);
        }
        root["unrecoverable"] = un;
        Json::Value hr(Json::arrayValue);
        for (const node_headroom &h : r.headroom) {
            Json::Value j(Json::objectValue);
            j["node"] = c.nodes[h.node].name;
            j["cpu"] = num(h.cpu);
            j["memory"] = bytes(h.memory);
            j["ha-memory"] = bytes(h.ha_memory);
            hr.append(j);
        }
        root["headroom"] = hr;
        return to_json_text(root);
    }
    std::string out;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "HA capacity: %d active node(s), %d guest(s) to restart on failure\n\n", r.nodes,
                  r.ha_guests);
    out += buf;
    if (r.exact) {
        std::snprintf(buf, sizeof buf, "The cluster absorbs %d node failure(s) (N+%d).\n",
                      r.tolerated, r.tolerated);
    } else {
        std::snprintf(buf, sizeof buf,
                      "The cluster absorbs at least %d and at most %d node failure(s).\n",
                      r.tolerated, r.upper_bound);
    }
    out += buf;
    out += "  method: " + r.method + " (" + std::to_string(r.scenarios_checked) + " scenarios)\n";
    if (r.worst) {
        out += "  worst case: " + scenario_text(c, *r.worst) + "\n";
    }
    std::snprintf(buf, sizeof buf, "\nTarget N+%d: %s\n", r.target,
                  r.target_met ? "met" : "NOT met");
    out += buf;
    if (!r.target_met && r.worst_at_target) {
        out += "  worst case: " + scenario_text(c, *r.worst_at_target) + "\n";
        if (r.reserve_needed[dimension::memory] > 0 || r.reserve_needed[dimension::cpu] > 0) {
            std::snprintf(
                buf, sizeof buf,
                "  reserve needed: %s of memory and %.1f cores more, where the guests fit\n",
                human_bytes(r.reserve_needed[dimension::memory]).c_str(),
                r.reserve_needed[dimension::cpu]);
            out += buf;
        }
        if (r.worst_at_target->rule_blocked > 0) {
            out += "  more capacity does not help the guests with no allowed surviving node: relax "
                   "their pins or HA rules\n";
        }
    }
    if (!r.unrecoverable.empty()) {
        out += "\nNever recoverable (local disks or devices): ";
        for (size_t i = 0; i < r.unrecoverable.size(); ++i) {
            out += (i ? ", " : "") + guest_label(c, r.unrecoverable[i]);
        }
        out += "\n";
    }
    size_t w = 4;
    for (const node &n : c.nodes) {
        w = std::max(w, esc(n.name).size());
    }
    std::snprintf(buf, sizeof buf, "\n%-*s  %10s  %12s  %12s\n", static_cast<int>(w), "NODE",
                  "CPU FREE", "MEMORY FREE", "HA MEMORY");
    out += buf;
    for (const node_headroom &h : r.headroom) {
        std::snprintf(buf, sizeof buf, "%-*s  %10.1f  %12s  %12s\n", static_cast<int>(w),
                      esc(c.nodes[h.node].name).c_str(), h.cpu, human_bytes(h.memory).c_str(),
                      human_bytes(h.ha_memory).c_str());
        out += buf;
    }
    return out;
}

std::string render_place(const cluster &c, const placement_answer &a, output_format f) {
    if (f == output_format::json) {
        Json::Value root(Json::objectValue);
        root["kind"] = "place";
        root["demand"] = shortfall_json(a.demand);
        Json::Value nodes(Json::arrayValue);
        for (const ranked_node &rn : a.nodes) {
            Json::Value j(Json::objectValue);
            j["node"] = c.nodes[rn.node].name;
            j["fits"] = rn.fits;
            if (rn.fits) {
                j["score"] = num(std::round(rn.score * 10) / 10);
                j["objective-after"] = num(rn.objective_after);
                if (rn.lowers_ha_capacity) {
                    j["lowers-ha-capacity"] = *rn.lowers_ha_capacity;
                }
            } else {
                j["reason"] = rejection_json(*rn.why);
            }
            nodes.append(j);
        }
        root["nodes"] = nodes;
        root["best"] = !a.nodes.empty() && a.nodes.front().fits
                           ? Json::Value(c.nodes[a.nodes.front().node].name)
                           : Json::Value();
        return to_json_text(root);
    }
    std::string out;
    char buf[512];
    std::snprintf(buf, sizeof buf, "Placing %.1f cores and %s:\n\n", a.demand[dimension::cpu],
                  human_bytes(a.demand[dimension::memory]).c_str());
    out += buf;
    int rank = 0;
    for (const ranked_node &rn : a.nodes) {
        if (rn.fits) {
            std::snprintf(buf, sizeof buf, "  %2d. %-16s score %5.1f   objective after %.4f\n",
                          ++rank, esc(c.nodes[rn.node].name).c_str(), rn.score, rn.objective_after);
            out += buf;
            if (rn.lowers_ha_capacity) {
                std::snprintf(buf, sizeof buf, "      %s\n", esc(*rn.lowers_ha_capacity).c_str());
            } else {
                buf[0] = 0;
            }
        } else {
            std::snprintf(buf, sizeof buf, "   -  %-16s excluded: %s\n",
                          esc(c.nodes[rn.node].name).c_str(), esc(rn.why->message).c_str());
        }
        out += buf;
    }
    if (rank == 0) {
        out += "\nNo node can take it.\n";
    }
    return out;
}

} // namespace pvebal
