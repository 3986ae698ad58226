// The option schema and a parsed balancer.cfg, rendered for the CLI (`pve-balancer options`)
// and for Perl (PVE::Balancer::Native::option_schema(), parse_config()).
#include "io/option_values.h"
#include "io/render_common.h"

#include <cstdio>

namespace pvebal {

using namespace detail;

namespace {

const char *type_name(option_type t) {
    switch (t) {
    case option_type::boolean:
        return "boolean";
    case option_type::integer:
        return "integer";
    case option_type::number:
        return "number";
    case option_type::size:
        return "size";
    case option_type::choice:
        return "choice";
    case option_type::node_list:
        return "node-list";
    case option_type::storage_map:
        return "storage-map";
    case option_type::text:
        return "text";
    }
    return "string";
}

// The default as a typed JSON value: what the API shows and what a JSON config would hold.
Json::Value typed_default(const option_row &row) {
    const option_info &o = row.info;
    if (o.default_text.empty()) {
        return Json::Value(Json::nullValue);
    }
    auto v = value_from_text(row, o.default_text);
    switch (o.type) {
    case option_type::boolean:
        return Json::Value(v->flag ? 1 : 0);
    case option_type::integer:
        return Json::Value(static_cast<Json::Int64>(v->number));
    case option_type::number:
        return num(v->number);
    default:
        return Json::Value(std::string(o.default_text));
    }
}

Json::Value option_json(const option_row &row) {
    const option_info &o = row.info;
    Json::Value j(Json::objectValue);
    j["key"] = std::string(o.key);
    j["type"] = type_name(o.type);
    j["scope"] = o.scope == option_scope::engine ? "engine" : "integration";
    j["group"] = std::string(o.group);
    j["description"] = std::string(o.description);
    j["expected"] = expected_text(o);
    j["default"] = typed_default(row);
    if (!o.default_text.empty()) {
        j["default-text"] = std::string(o.default_text);
    }
    if (o.type == option_type::number) {
        j["minimum"] = num(o.minimum);
        j["maximum"] = num(o.maximum);
    } else if (o.type == option_type::integer || o.type == option_type::size) {
        j["minimum"] = bytes(o.minimum);
        j["maximum"] = bytes(o.maximum);
    } else if (o.type == option_type::text) {
        j["max-length"] = bytes(o.maximum);
    }
    if (!o.unit.empty()) {
        j["unit"] = std::string(o.unit);
    }
    if (o.type == option_type::choice) {
        Json::Value e(Json::arrayValue);
        for (std::string_view c : o.choices) {
            e.append(std::string(c));
        }
        j["enum"] = e;
        if (!row.aliases.empty()) {
            Json::Value a(Json::objectValue);
            for (const auto &[alias, canonical] : row.aliases) {
                a[std::string(alias)] = std::string(canonical);
            }
            j["aliases"] = a;
        }
    }
    return j;
}

Json::Value issues_json(const std::vector<config_issue> &issues) {
    Json::Value a(Json::arrayValue);
    for (const config_issue &i : issues) {
        Json::Value e(Json::objectValue);
        e["line"] = i.line;
        if (!i.key.empty()) {
            e["key"] = i.key;
        }
        e["message"] = i.message;
        a.append(e);
    }
    return a;
}

std::string wrapped(std::string_view text, size_t indent, size_t width) {
    std::string out;
    std::string line(indent, ' ');
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find(' ', pos);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        std::string_view word = text.substr(pos, end - pos);
        if (line.size() > indent && line.size() + 1 + word.size() > width) {
            out += line + "\n";
            line.assign(indent, ' ');
        }
        line += (line.size() > indent ? " " : "") + std::string(word);
        pos = end + 1;
    }
    return out + line + "\n";
}

} // namespace

std::string render_option_schema(output_format f) {
    if (f == output_format::json) {
        Json::Value a(Json::arrayValue);
        for (const option_row &row : option_rows()) {
            a.append(option_json(row));
        }
        return to_json_text(a);
    }
    std::string out =
        "Options (balancer.cfg keys; engine options also as --KEY VALUE flags and in a\n"
        "snapshot's \"options\"). See docs/options.md and docs/api.md.\n";
    for (option_scope scope : {option_scope::engine, option_scope::integration}) {
        out += scope == option_scope::engine ? "\nEngine options:\n"
                                             : "\nProxmox integration (balancer.cfg only):\n";
        for (const option_row &row : option_rows()) {
            const option_info &o = row.info;
            if (o.scope != scope) {
                continue;
            }
            char head[128];
            std::snprintf(head, sizeof head, "  %-24s default %s\n", std::string(o.key).c_str(),
                          o.default_text.empty() ? "unset" : std::string(o.default_text).c_str());
            out += head;
            out += wrapped(o.description, 6, 92);
            out += "      (" + expected_text(o) + ")\n";
        }
    }
    return out;
}

std::string render_config_file(const config_file &f) {
    Json::Value j(Json::objectValue);
    Json::Value values(Json::objectValue);
    for (const auto &[k, v] : f.values) {
        values[k] = v;
    }
    Json::Value unknown(Json::objectValue);
    for (const auto &[k, v] : f.unknown) {
        unknown[k] = v;
    }
    j["values"] = values;
    j["unknown"] = unknown;
    j["errors"] = issues_json(f.errors);
    j["duplicates"] = issues_json(f.duplicates);
    return to_json_text(j);
}

} // namespace pvebal
