// Options given as JSON (a snapshot's "options", a --config file) or as text (command-line
// flags), applied through the one option table (option_schema.cpp).
#include "io/option_values.h"

#include <algorithm>
#include <cmath>
#include <regex>

namespace pvebal {

using namespace detail;

namespace detail {

void apply_options_object(options &o, const Json::Value &obj, const std::string &path) {
    if (!obj.isObject()) {
        reject(path, "expected an object of options, got " + describe(obj));
    }
    for (const std::string &key : obj.getMemberNames()) { // sorted: deterministic first error
        const option_row *row = find_row(key);
        if (row == nullptr) {
            reject(key_path(path, key), "unknown option (see 'pve-balancer options')");
        }
        option_value v = value_from_json(*row, obj[key], key_path(path, key));
        if (row->apply != nullptr) {
            row->apply(o, v);
        }
    }
}

} // namespace detail

const std::vector<std::string> &option_keys() {
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> k;
        for (const option_info &o : option_schema()) {
            if (o.scope == option_scope::engine) {
                k.emplace_back(o.key);
            }
        }
        return k;
    }();
    return keys;
}

// Sizes as Proxmox writes them: a plain number of bytes, or a number with a K/M/G/T suffix
// (powers of 1024, also KiB/KB). The whole text must be the size: no blanks, no hex, no junk.
result<std::uint64_t> parse_size(const std::string &text) {
    static const std::regex re("([0-9]+(?:\\.[0-9]+)?)(?:([kKmMgGtT])(?:[iI]?[bB])?|[bB])?");
    std::smatch m;
    if (text.empty()) {
        return fail("", "empty size");
    }
    if (!std::regex_match(text, m, re)) {
        return fail("", "not a size: " + text);
    }
    double mult = 1;
    if (m[2].matched) {
        switch (m[2].str()[0]) {
        case 'k':
        case 'K':
            mult = 1024.0;
            break;
        case 'm':
        case 'M':
            mult = 1024.0 * 1024;
            break;
        case 'g':
        case 'G':
            mult = 1024.0 * 1024 * 1024;
            break;
        default:
            mult = 1024.0 * 1024 * 1024 * 1024;
            break;
        }
    }
    const double bytes = std::strtod(m[1].str().c_str(), nullptr) * mult;
    if (!std::isfinite(bytes) || bytes > 1152921504606846976.0) {
        return fail("", "size out of range: " + text);
    }
    return static_cast<std::uint64_t>(std::llround(bytes));
}

result<std::vector<std::pair<std::string, std::uint64_t>>>
parse_node_memory_reserve(const std::string &text) {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    for (const std::string &item : split_tags(text)) {
        const size_t colon = item.find(':');
        if (colon == std::string::npos || colon == 0) {
            return fail("node-memory-reserve",
                        "expected 'node:size' pairs such as 'pve1:16G', got \"" + item + "\"");
        }
        std::string name = item.substr(0, colon);
        auto bytes = parse_size(item.substr(colon + 1));
        if (!bytes) {
            return fail("node-memory-reserve", "expected a size such as 16G for node " + name +
                                                   ", got \"" + item.substr(colon + 1) + "\"");
        }
        out.emplace_back(std::move(name), *bytes);
    }
    return out;
}

result<options> apply_options_json(options base, std::string_view json_text,
                                   const std::string &path) {
    try {
        Json::Value root = parse_json(json_text, path, path, path);
        // A config file may hold the options directly or under "options".
        if (root.isObject() && root.size() == 1 && root.isMember("options")) {
            apply_options_object(base, root["options"], key_path(path, "options"));
        } else {
            apply_options_object(base, root, path);
        }
        return base;
    } catch (const input_error &e) {
        return fail(e.path, e.what());
    }
}

result<void> apply_option(options &o, const std::string &key, const std::string &value) {
    const option_row *row = find_row(key);
    if (row == nullptr) {
        return fail("--" + key, "unknown option");
    }
    if (row->apply == nullptr || row->info.scope != option_scope::engine) {
        return fail("--" + key, "not an engine option (a key of balancer.cfg for the Proxmox "
                                "integration, see 'pve-balancer options')");
    }
    auto v = value_from_text(*row, value);
    if (!v) {
        return fail("--" + key, v.error().message);
    }
    row->apply(o, *v);
    return {};
}

} // namespace pvebal
