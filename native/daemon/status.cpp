#include "status.h"

#include <cmath>
#include <memory>

namespace pvebal::balancerd {

namespace {

Json::Value seconds(millis t) {
    return Json::Int64(to_epoch_seconds(t));
}

double round2(double v) {
    return std::round(v * 100) / 100;
}

Json::Value shared_pressure(const pressure_info &p) {
    Json::Value v(Json::objectValue);
    v["mode"] = std::string(to_string(p.mode));
    Json::Value high(Json::arrayValue);
    for (auto r : all_psi_resources) {
        if (p.high[index_of(r)]) {
            high.append(std::string(to_string(r)));
            v[std::string(to_string(r))] = round2(p.value[index_of(r)]);
        }
    }
    v["high"] = high;
    if (p.changed != 0) {
        v["changed"] = seconds(p.changed);
    }
    return v;
}

Json::Value member_json(const member_status &m) {
    Json::Value v(Json::objectValue);
    v["nodeid"] = m.id.nodeid;
    v["pid"] = m.id.pid;
    if (!m.state) {
        v["role"] = "unknown"; // joined, its first state message not yet delivered
        return v;
    }
    const auto &s = *m.state;
    v["node"] = s.node;
    v["version"] = s.version;
    v["role"] = std::string(to_string(s.r));
    v["quorate"] = s.quorate;
    v["auto"] = s.auto_balance;
    v["started"] = seconds(s.started);
    v["pressure"] = shared_pressure(s.pressure);
    if (s.cycle) {
        v["cycle"] = s.cycle->id;
    }
    return v;
}

Json::Value active_json(const status_inputs &s) {
    if (!s.leader || s.r == role::no_quorum || s.r == role::disconnected) {
        return Json::Value(Json::nullValue); // no active node in this partition
    }
    Json::Value v(Json::objectValue);
    v["nodeid"] = s.leader->nodeid;
    if (!s.leader_name.empty()) {
        v["node"] = s.leader_name;
    }
    if (s.active_since) {
        v["since"] = seconds(*s.active_since);
    }
    return v;
}

Json::Value next_json(const status_inputs &s) {
    if (!s.next) {
        return Json::Value(Json::nullValue);
    }
    Json::Value v(Json::objectValue);
    v["due"] = seconds(s.next->due);
    v["trigger"] = std::string(to_string(s.next->kind));
    return v;
}

Json::Value cycle_json(const status_inputs &s) {
    if (!s.cycle) {
        return Json::Value(Json::nullValue);
    }
    Json::Value v = to_json(*s.cycle, time_unit::seconds);
    v["state"] = std::string(to_string(s.child));
    v["pid"] = s.child_pid;
    if (s.kill_deadline) {
        v["kill-at"] = seconds(*s.kill_deadline);
    }
    return v;
}

Json::Value optional_cycle(const std::optional<cycle_record> &c) {
    return c ? to_json(*c, time_unit::seconds) : Json::Value(Json::nullValue);
}

} // namespace

Json::Value render_local(const status_inputs &s) {
    Json::Value v(Json::objectValue);
    v["format"] = status_format;
    v["node"] = s.node;
    v["nodeid"] = s.self.nodeid;
    Json::Value d(Json::objectValue);
    d["version"] = s.version;
    d["pid"] = s.self.pid;
    d["started"] = seconds(s.started);
    v["daemon"] = d;
    v["role"] = std::string(to_string(s.r));
    v["active"] = active_json(s);

    Json::Value cs(Json::objectValue);
    cs["cpg"] = s.cpg_joined;
    cs["quorum"] = s.quorum_connected;
    cs["quorate"] = s.quorate ? Json::Value(*s.quorate) : Json::Value(Json::nullValue);
    v["corosync"] = cs;

    Json::Value members(Json::arrayValue);
    for (const auto &m : s.members) {
        members.append(member_json(m));
    }
    v["members"] = members;

    Json::Value cfg(Json::objectValue);
    cfg["file"] = s.config_file;
    cfg["read"] = s.config_read;
    cfg["auto"] = s.config.auto_balance;
    cfg["interval"] = s.config.interval;
    cfg["error"] = s.config_error.empty() ? Json::Value(Json::nullValue) : s.config_error;
    Json::Value warnings(Json::arrayValue);
    for (const auto &w : s.config_warnings) {
        warnings.append(w);
    }
    cfg["warnings"] = warnings;
    v["config"] = cfg;

    Json::Value p(Json::objectValue);
    if (s.pressure) {
        p["mode"] = std::string(to_string(s.pressure->mode()));
        for (auto r : all_psi_resources) {
            const auto &st = s.pressure->state(r);
            Json::Value x(Json::objectValue);
            x["threshold"] = s.pressure->threshold(r);
            x["high"] = st.high;
            // Only at edges: a value that changes every read would rewrite the file each time.
            if (st.since != 0) {
                x["since"] = seconds(st.since);
            }
            p[std::string(to_string(r))] = x;
        }
    }
    v["pressure"] = p;

    v["cycle"] = cycle_json(s);
    v["last-cycle"] = optional_cycle(s.last_cycle);
    v["next-cycle"] = next_json(s);
    return v;
}

Json::Value render_cluster(const status_inputs &s) {
    Json::Value v(Json::objectValue);
    v["format"] = status_format;
    v["active"] = active_json(s);
    Json::Value nodes(Json::objectValue);
    for (const auto &m : s.members) {
        Json::Value n = member_json(m);
        std::string name = m.state ? m.state->node : "nodeid-" + std::to_string(m.id.nodeid);
        n.removeMember("node");
        nodes[name] = n;
    }
    v["nodes"] = nodes;
    v["cycle"] = cycle_json(s);
    v["last-cycle"] = optional_cycle(s.last_cycle);
    v["next-cycle"] = next_json(s);
    return v;
}

std::string status_text(Json::Value v, millis now) {
    v["updated"] = seconds(now);
    Json::StreamWriterBuilder w;
    w["indentation"] = "  ";
    w["precision"] = 6;
    return Json::writeString(w, v) + "\n";
}

std::optional<cycle_record> last_cycle_from_cluster_status(const std::string &text) {
    Json::CharReaderBuilder b;
    std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    Json::Value root;
    std::string errs;
    if (!reader->parse(text.data(), text.data() + text.size(), &root, &errs) || !root.isObject() ||
        !root.isMember("last-cycle") || root["last-cycle"].isNull()) {
        return std::nullopt;
    }
    auto c = cycle_from_json(root["last-cycle"], "last-cycle", time_unit::seconds);
    if (!c) {
        return std::nullopt;
    }
    return *c;
}

} // namespace pvebal::balancerd
