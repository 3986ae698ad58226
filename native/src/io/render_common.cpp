#include "io/render_common.h"

#include <cmath>
#include <cstdio>

namespace pvebal::detail {

Json::Value num(double v) {
    double r = std::round(v * 1e6) / 1e6;
    if (r == 0) {
        r = 0; // no "-0.0"
    }
    return Json::Value(r);
}

Json::Value bytes(double v) {
    return Json::Value(static_cast<Json::Int64>(std::llround(v)));
}

namespace {

// jsoncpp's own pretty printer puts a newline before nested braces; ours writes the compact
// style of pvesh and jq (`"key": {`), keys sorted (jsoncpp objects are ordered maps).
void write_json(const Json::Value &v, int indent, std::string &out) {
    static const Json::StreamWriterBuilder scalar = [] {
        Json::StreamWriterBuilder b;
        b["indentation"] = "";
        b["precision"] = 6;
        b["precisionType"] = "decimal";
        b["emitUTF8"] = true;
        return b;
    }();
    const std::string pad(static_cast<size_t>(indent + 2), ' ');
    if (v.isObject()) {
        if (v.empty()) {
            out += "{}";
            return;
        }
        out += "{\n";
        bool first = true;
        for (const std::string &key : v.getMemberNames()) {
            out += first ? "" : ",\n";
            first = false;
            out += pad + Json::writeString(scalar, Json::Value(key)) + ": ";
            write_json(v[key], indent + 2, out);
        }
        out += "\n" + std::string(static_cast<size_t>(indent), ' ') + "}";
    } else if (v.isArray()) {
        if (v.empty()) {
            out += "[]";
            return;
        }
        out += "[\n";
        for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
            out += (i ? ",\n" : "") + pad;
            write_json(v[i], indent + 2, out);
        }
        out += "\n" + std::string(static_cast<size_t>(indent), ' ') + "]";
    } else {
        out += Json::writeString(scalar, v);
    }
}

} // namespace

std::string to_json_text(const Json::Value &v) {
    std::string out;
    write_json(v, 0, out);
    return out + "\n";
}

namespace {
Json::Value stats_json(const resource_stats &s) {
    Json::Value o(Json::objectValue);
    o["mean"] = num(s.mean);
    o["stddev"] = num(s.stddev);
    o["min"] = num(s.min);
    o["max"] = num(s.max);
    o["spread"] = num(s.spread);
    return o;
}
} // namespace

Json::Value metrics_json(const metrics &m) {
    Json::Value o(Json::objectValue);
    o["objective"] = num(m.objective);
    o["imbalance"] = num(m.pve_imbalance);
    for (const dimension_info &row : dimension_table) {
        if (m.in_use[row.dim]) {
            o[std::string(row.key)] = stats_json(m.stats[row.dim]);
        }
    }
    return o;
}

Json::Value dimension_value(const dimension_info &row, double v) {
    return row.unit == dimension_unit::cores ? num(v) : bytes(v);
}

Json::Value node_json(const cluster &c, const metrics &m, const node_metrics &nm) {
    const node &n = c.nodes[nm.node];
    Json::Value o(Json::objectValue);
    o["node"] = n.name;
    o["status"] = n.online ? "online" : "offline";
    o["maintenance"] = n.maintenance;
    o["active"] = nm.active;
    for (const dimension_info &row : dimension_table) {
        if (!m.in_use[row.dim]) {
            continue;
        }
        Json::Value d(Json::objectValue);
        d["used"] = dimension_value(row, nm.used[row.dim]);
        d["total"] = dimension_value(row, nm.capacity[row.dim]);
        d["util"] = num(nm.util[row.dim]);
        o[std::string(row.key)] = d;
    }
    o["guests"] = nm.guests;
    o["running"] = nm.running;
    return o;
}

Json::Value rejection_json(const rejection &r) {
    Json::Value o(Json::objectValue);
    o["constraint"] = constraint_name(r.kind);
    o["message"] = r.message;
    return o;
}

Json::Value warning_json(const cluster &c, const warning &w) {
    Json::Value o(Json::objectValue);
    o["kind"] = w.kind;
    o["message"] = w.message;
    if (w.node) {
        o["node"] = c.nodes[*w.node].name;
    }
    if (w.guest) {
        o["vmid"] = c.guests[*w.guest].vmid;
        o["name"] = c.guests[*w.guest].name;
    }
    if (!w.reasons.empty()) {
        Json::Value rs(Json::arrayValue);
        for (const rejection &r : w.reasons) {
            rs.append(rejection_json(r));
        }
        o["reasons"] = rs;
    }
    return o;
}

std::string bar(double fraction, int width) {
    const double f = std::max(0.0, fraction);
    int filled = static_cast<int>(std::lround(std::min(f, 1.0) * width));
    std::string s = "[";
    s += std::string(static_cast<size_t>(filled), '#');
    s += std::string(static_cast<size_t>(width - filled), '.');
    s += f > 1.0 ? "!" : "]";
    return s;
}

std::string pct(double fraction) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%5.1f%%", fraction * 100);
    return buf;
}

std::string human_bytes(double b) {
    char buf[32];
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    double v = b;
    while (std::fabs(v) >= 1024 && u < 5) {
        v /= 1024;
        ++u;
    }
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

std::string esc(std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        const auto ch = static_cast<unsigned char>(s[i]);
        if (ch == '\n') {
            out += "\\n";
        } else if (ch == '\t') {
            out += "\\t";
        } else if (ch == '\r') {
            out += "\\r";
        } else if (ch < 0x20 || ch == 0x7f) {
            out += "\\x";
            out += hex[ch >> 4];
            out += hex[ch & 15];
        } else if (ch == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
            // U+0080..U+009F in UTF-8: C1 controls (U+009B is a one-byte CSI to some terminals)
            const auto c1 = static_cast<unsigned char>(s[++i]);
            out += "\\u00";
            out += hex[c1 >> 4];
            out += hex[c1 & 15];
        } else {
            out += static_cast<char>(ch);
        }
    }
    return out;
}

std::string guest_label(const cluster &c, guest_id g) {
    const guest &gs = c.guests[g];
    std::string s = (gs.type == guest_type::qemu ? "vm " : "ct ") + std::to_string(gs.vmid);
    if (!gs.name.empty()) {
        s += " (" + esc(gs.name) + ")";
    }
    return s;
}

std::string node_table(const cluster &c, const metrics &m) {
    size_t w = 4;
    for (const node &n : c.nodes) {
        w = std::max(w, esc(n.name).size());
    }
    std::string out;
    char buf[512];
    std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(w), "NODE");
    out += buf;
    for (const dimension_info &row : dimension_table) {
        if (m.in_use[row.dim]) {
            std::snprintf(buf, sizeof buf, "  %-29s", std::string(row.label).c_str());
            out += buf;
        }
    }
    out += "  GUESTS\n";
    for (const node_metrics &nm : m.nodes) {
        const node &n = c.nodes[nm.node];
        std::string state = !n.online ? "  (offline)" : n.maintenance ? "  (maintenance)" : "";
        std::snprintf(buf, sizeof buf, "%-*s", static_cast<int>(w), esc(n.name).c_str());
        out += buf;
        for (const dimension_info &row : dimension_table) {
            if (m.in_use[row.dim]) {
                out += "  " + bar(nm.util[row.dim], 20) + " " + pct(nm.util[row.dim]);
            }
        }
        std::snprintf(buf, sizeof buf, "  %6d%s\n", nm.guests, state.c_str());
        out += buf;
    }
    return out;
}

std::string metrics_text(const metrics &m) {
    char buf[512];
    std::string out;
    std::snprintf(
        buf, sizeof buf,
        "  objective  %.4f   (pve-balancer: per-resource deviation + pressure, lower is better)\n",
        m.objective);
    out += buf;
    std::snprintf(buf, sizeof buf,
                  "  imbalance  %.4f   (Proxmox CRS: CV of mean(cpu, mem) / sqrt(n-1))\n",
                  m.pve_imbalance);
    out += buf;
    for (const dimension_info &row : dimension_table) {
        if (!m.in_use[row.dim]) {
            continue;
        }
        const resource_stats &s = m.stats[row.dim];
        std::snprintf(buf, sizeof buf, "  %-9s  mean %s  stddev %s  min %s  max %s  spread %s\n",
                      std::string(row.key).c_str(), pct(s.mean).c_str(), pct(s.stddev).c_str(),
                      pct(s.min).c_str(), pct(s.max).c_str(), pct(s.spread).c_str());
        out += buf;
    }
    return out;
}

std::string warning_text(const cluster &c, const warning &w) {
    std::string subject = w.node    ? esc(c.nodes[*w.node].name)
                          : w.guest ? guest_label(c, *w.guest)
                                    : "";
    std::string s = "  " + (subject.empty() ? "" : subject + ": ") + esc(w.message);
    for (size_t i = 0; i < w.reasons.size(); ++i) {
        s += (i == 0 ? ": " : "; ") + esc(w.reasons[i].message);
    }
    return s + "\n";
}

} // namespace pvebal::detail
