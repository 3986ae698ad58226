// Options: one table of keys, each with its type, range and target field, used for the JSON
// forms (snapshot "options", --config FILE) and for command-line flags alike.
#include "io/json_access.h"
#include "pvebal/io.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace pvebal {

using namespace detail;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

struct option_spec {
    const char *key;
    const char *expected; // for messages and --help
    std::function<void(options &, const Json::Value &, const std::string &)> set;
};

std::uint64_t size_value(const Json::Value &v, const std::string &path) {
    if (v.isString()) {
        auto r = parse_size(v.asString());
        if (!r) {
            reject(path, "expected a size in bytes (integer, or with K/M/G/T suffix), got " +
                             describe(v));
        }
        return *r;
    }
    return as_uint(v, path, 1ull << 60, "a size in bytes (integer, or with K/M/G/T suffix)");
}

std::vector<std::string> string_list(const Json::Value &v, const std::string &path) {
    std::vector<std::string> out;
    if (v.isString()) {
        out = split_tags(v.asString()); // same separators: ; , and blanks
    } else if (v.isArray()) {
        for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
            out.push_back(as_string(v[i], index_path(path, i)));
        }
    } else {
        reject(path,
               "expected a list of names (array or comma-separated string), got " + describe(v));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

#define NUM(field, lo, hi, exp)                                                                    \
    [](options &o, const Json::Value &v, const std::string &p) {                                   \
        o.field = as_number(v, p, lo, hi, exp);                                                    \
    }
#define UINT(field, hi, exp)                                                                       \
    [](options &o, const Json::Value &v, const std::string &p) {                                   \
        o.field = static_cast<decltype(o.field)>(as_uint(v, p, hi, exp));                          \
    }
#define BOOL(field)                                                                                \
    [](options &o, const Json::Value &v, const std::string &p) { o.field = as_bool(v, p); }

const std::vector<option_spec> &specs() {
    static const std::vector<option_spec> table = {
        {"allow-container-restart", "a boolean", BOOL(allow_container_restart)},
        {"bandwidth", "a size in bytes per second",
         [](options &o, const Json::Value &v, const std::string &p) {
             o.bandwidth = static_cast<double>(size_value(v, p));
             if (o.bandwidth <= 0) {
                 reject(p, "expected a positive size in bytes per second, got " + describe(v));
             }
         }},
        {"cost-weight", "a number from 0 to 1", NUM(cost_weight, 0, 1, "a number from 0 to 1")},
        {"cpu-limit", "a fraction from 0.05 to 1",
         NUM(cpu_limit, 0.05, 1, "a fraction from 0.05 to 1")},
        {"cpu-weight", "a number from 0 to 100", NUM(cpu_weight, 0, 100, "a number from 0 to 100")},
        {"default-priority", "an integer from 0 to 1000",
         UINT(default_priority, 1000, "an integer from 0 to 1000")},
        {"dirty-rate-per-cpu", "a size in bytes per second",
         [](options &o, const Json::Value &v, const std::string &p) {
             o.dirty_rate_per_cpu = static_cast<double>(size_value(v, p));
         }},
        {"honor-proxlb-tags", "a boolean", BOOL(honor_proxlb_tags)},
        {"maintenance-nodes", "a list of node names",
         [](options &o, const Json::Value &v, const std::string &p) {
             o.maintenance_nodes = string_list(v, p);
         }},
        {"max-downtime", "seconds from 0.001 to 3600",
         NUM(max_downtime, 0.001, 3600, "seconds from 0.001 to 3600")},
        {"max-memory-ratio", "a ratio from 0.1 to 100",
         [](options &o, const Json::Value &v, const std::string &p) {
             o.max_memory_ratio = as_number(v, p, 0.1, 100, "a ratio from 0.1 to 100");
         }},
        {"max-migrations", "an integer from 0 to 100000",
         UINT(max_migrations, 100000, "an integer from 0 to 100000")},
        {"max-parallel", "an integer from 1 to 1000",
         [](options &o, const Json::Value &v, const std::string &p) {
             o.max_parallel =
                 static_cast<unsigned>(as_uint(v, p, 1000, "an integer from 1 to 1000"));
             if (o.max_parallel == 0) {
                 reject(p, "expected an integer from 1 to 1000, got 0");
             }
         }},
        {"max-parallel-per-node", "an integer from 1 to 100",
         [](options &o, const Json::Value &v, const std::string &p) {
             o.max_parallel_per_node =
                 static_cast<unsigned>(as_uint(v, p, 100, "an integer from 1 to 100"));
             if (o.max_parallel_per_node == 0) {
                 reject(p, "expected an integer from 1 to 100, got 0");
             }
         }},
        {"max-vcpu-ratio", "a ratio from 0.1 to 100",
         [](options &o, const Json::Value &v, const std::string &p) {
             o.max_vcpu_ratio = as_number(v, p, 0.1, 100, "a ratio from 0.1 to 100");
         }},
        {"memory-limit", "a fraction from 0.05 to 1",
         NUM(memory_limit, 0.05, 1, "a fraction from 0.05 to 1")},
        {"memory-reserve", "a size in bytes",
         [](options &o, const Json::Value &v, const std::string &p) {
             o.memory_reserve = size_value(v, p);
         }},
        {"memory-weight", "a number from 0 to 100",
         NUM(memory_weight, 0, 100, "a number from 0 to 100")},
        {"min-improvement", "a number from 0 to 1",
         NUM(min_improvement, 0, 1, "a number from 0 to 1")},
        {"mode", "\"used\" or \"static\"",
         [](options &o, const Json::Value &v, const std::string &p) {
             std::string s = as_string(v, p);
             if (s == "used") {
                 o.mode = load_mode::used;
             } else if (s == "static" || s == "assigned") {
                 o.mode = load_mode::assigned;
             } else {
                 reject(p, "expected \"used\" or \"static\", got " + describe(v));
             }
         }},
        {"pressure-threshold", "a fraction from 0 to 1",
         NUM(pressure_threshold, 0, 1, "a fraction from 0 to 1")},
        {"pressure-weight", "a number from 0 to 1000",
         NUM(pressure_weight, 0, 1000, "a number from 0 to 1000")},
        {"restart-downtime", "seconds from 0 to 86400",
         NUM(restart_downtime, 0, 86400, "seconds from 0 to 86400")},
        {"storage-map", "an object {\"source-storage\": \"target-storage\"}",
         [](options &o, const Json::Value &v, const std::string &p) {
             o.storage_map.clear();
             if (v.isString()) { // "src:dst,src2:dst2", as PVE's targetstorage
                 for (const std::string &pair : split_tags(v.asString())) {
                     auto colon = pair.find(':');
                     if (colon == std::string::npos || colon == 0 || colon + 1 == pair.size()) {
                         reject(p, "expected source:target pairs, got " + describe(v));
                     }
                     o.storage_map.emplace_back(pair.substr(0, colon), pair.substr(colon + 1));
                 }
             } else if (v.isObject()) {
                 for (const std::string &k : v.getMemberNames()) {
                     o.storage_map.emplace_back(k, as_string(v[k], key_path(p, k)));
                 }
             } else {
                 reject(p, "expected an object {\"source-storage\": \"target-storage\"} or "
                           "\"src:dst,...\", got " +
                               describe(v));
             }
             std::sort(o.storage_map.begin(), o.storage_map.end());
         }},
        {"threshold", "a number from 0 to 10", NUM(threshold, 0, 10, "a number from 0 to 10")},
    };
    return table;
}

#undef NUM
#undef UINT
#undef BOOL

const option_spec *find_spec(const std::string &key) {
    for (const option_spec &s : specs()) {
        if (key == s.key) {
            return &s;
        }
    }
    return nullptr;
}

void apply_object(options &o, const Json::Value &obj, const std::string &path) {
    if (!obj.isObject()) {
        reject(path, "expected an object of options, got " + describe(obj));
    }
    for (const std::string &key : obj.getMemberNames()) { // sorted: deterministic first error
        const option_spec *s = find_spec(key);
        if (s == nullptr) {
            reject(key_path(path, key), "unknown option (see 'pve-balancer help options')");
        }
        s->set(o, obj[key], key_path(path, key));
    }
}

} // namespace

namespace detail {
void apply_options_object(options &o, const Json::Value &obj, const std::string &path) {
    apply_object(o, obj, path);
}
} // namespace detail

const std::vector<std::string> &option_keys() {
    static const std::vector<std::string> keys = [] {
        std::vector<std::string> k;
        for (const option_spec &s : specs()) {
            k.emplace_back(s.key);
        }
        std::sort(k.begin(), k.end());
        return k;
    }();
    return keys;
}

result<std::uint64_t> parse_size(const std::string &text) {
    if (text.empty()) {
        return fail("", "empty size");
    }
    size_t pos = 0;
    double value = 0;
    try {
        value = std::stod(text, &pos);
    } catch (const std::exception &) {
        return fail("", "not a size: " + text);
    }
    std::string suffix = text.substr(pos);
    if (!suffix.empty() && (suffix.back() == 'B' || suffix.back() == 'b')) {
        suffix.pop_back();
    }
    if (suffix.size() == 2 && (suffix[1] == 'i' || suffix[1] == 'I')) {
        suffix.pop_back();
    }
    double mult = 1;
    if (suffix.empty()) {
        mult = 1;
    } else if (suffix.size() == 1) {
        switch (suffix[0]) {
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
        case 't':
        case 'T':
            mult = 1024.0 * 1024 * 1024 * 1024;
            break;
        default:
            return fail("", "unknown size suffix in " + text);
        }
    } else {
        return fail("", "unknown size suffix in " + text);
    }
    const double bytes = value * mult;
    if (!std::isfinite(bytes) || bytes < 0 || bytes > 1152921504606846976.0) {
        return fail("", "size out of range: " + text);
    }
    return static_cast<std::uint64_t>(std::llround(bytes));
}

result<options> apply_options_json(options base, std::string_view json_text,
                                   const std::string &path) {
    try {
        Json::Value root = parse_json(json_text, path);
        // A config file may hold the options directly or under "options".
        if (root.isObject() && root.size() == 1 && root.isMember("options")) {
            apply_object(base, root["options"], key_path(path, "options"));
        } else {
            apply_object(base, root, path);
        }
        return base;
    } catch (const input_error &e) {
        return fail(e.path, e.what());
    }
}

result<void> apply_option(options &o, const std::string &key, const std::string &value) {
    const option_spec *s = find_spec(key);
    if (s == nullptr) {
        return fail("--" + key, "unknown option");
    }
    // Flags come as text: try JSON first (numbers, true/false), else take it as a string.
    Json::Value v;
    {
        Json::CharReaderBuilder b;
        std::unique_ptr<Json::CharReader> r(b.newCharReader());
        std::string errs;
        bool ok = false;
        try {
            ok = !value.empty() && r->parse(value.data(), value.data() + value.size(), &v, &errs);
        } catch (const Json::Exception &) {
            ok = false;
        }
        if (!ok || v.isObject() || v.isArray() || v.isNull()) {
            v = Json::Value(value);
        }
    }
    options copy = o;
    try {
        s->set(copy, v, "--" + key);
    } catch (const input_error &e) {
        return fail(e.path, e.what());
    }
    o = std::move(copy);
    return {};
}

} // namespace pvebal
