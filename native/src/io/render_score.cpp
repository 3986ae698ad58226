#include "io/render_common.h"
#include "pvebal/io.h"

#include <map>

namespace pvebal {

using namespace detail;

std::string render_score(const cluster &c, const options &o, const score_report &r,
                         output_format f) {
    int online = 0, running = 0, templates = 0;
    for (const node &n : c.nodes) {
        online += n.online ? 1 : 0;
    }
    for (const guest &g : c.guests) {
        running += g.running ? 1 : 0;
        templates += g.is_template ? 1 : 0;
    }
    const char *mode = o.mode == load_mode::used ? "used" : "static";
    if (f == output_format::json) {
        Json::Value root(Json::objectValue);
        root["kind"] = "score";
        root["mode"] = mode;
        root["metrics"] = metrics_json(r.m);
        Json::Value nodes(Json::arrayValue);
        for (const node_metrics &nm : r.m.nodes) {
            nodes.append(node_json(c, r.m, nm));
        }
        root["nodes"] = nodes;
        Json::Value warnings(Json::arrayValue);
        for (const warning &w : r.warnings) {
            warnings.append(warning_json(c, w));
        }
        root["warnings"] = warnings;
        Json::Value summary(Json::objectValue);
        summary["nodes"] = static_cast<int>(c.nodes.size());
        summary["online"] = online;
        summary["guests"] = static_cast<int>(c.guests.size());
        summary["running"] = running;
        summary["templates"] = templates;
        summary["ha-resources"] = static_cast<int>(c.ha.resources.size());
        root["summary"] = summary;
        return to_json_text(root);
    }
    std::string out = "Cluster: " + std::to_string(c.nodes.size()) + " nodes (" +
                      std::to_string(online) + " online), " + std::to_string(c.guests.size()) +
                      " guests (" + std::to_string(running) + " running), mode " + mode + "\n\n";
    out += node_table(c, r.m);
    out += "\nMetrics:\n" + metrics_text(r.m);
    if (!r.warnings.empty()) {
        out += "\nWarnings (" + std::to_string(r.warnings.size()) + "):\n";
        // Long lists of one kind are cut in text; JSON always has them all.
        std::map<std::string, int> shown;
        for (const warning &w : r.warnings) {
            if (++shown[w.kind] <= 10) {
                out += warning_text(c, w);
            }
        }
        for (const auto &[kind, n] : shown) {
            if (n > 10) {
                out += "  ... and " + std::to_string(n - 10) + " more '" + kind +
                       "' warnings (all of them with --output-format json)\n";
            }
        }
    }
    return out;
}

} // namespace pvebal
