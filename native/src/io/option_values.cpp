// Option values: the per-type rules that check a value given as text (flags, balancer.cfg,
// API parameters) or as JSON (a snapshot's "options", a --config file) and give its canonical
// spelling; and what a value must look like, for messages. The rows they check against are the
// option table (option_schema.cpp).
#include "io/option_values.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <regex>

namespace pvebal {

namespace detail {

std::string format_number(double d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", d);
    return buf;
}

std::string quote(std::string_view text) {
    std::string s(text.substr(0, 40));
    if (text.size() > 40) {
        s = s.substr(0, 37) + "...";
    }
    return describe(Json::Value(s));
}

namespace {

const std::regex &integer_re() {
    static const std::regex re("[-+]?[0-9]+");
    return re;
}

const std::regex &number_re() {
    static const std::regex re("[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?");
    return re;
}

// Node and storage ids as Proxmox accepts them (pve-node, pve-storage-id formats).
bool is_node_name(const std::string &s) {
    static const std::regex re("[a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?");
    return s.size() <= 63 && std::regex_match(s, re);
}

bool is_storage_id(const std::string &s) {
    static const std::regex re("[a-zA-Z][a-zA-Z0-9\\-_.]*[a-zA-Z0-9]|[a-zA-Z]");
    return std::regex_match(s, re);
}

// The offending text as messages show it: numbers bare, anything else quoted.
std::string shown(std::string_view text) {
    std::string s(text);
    return std::regex_match(s, number_re()) && s.size() <= 40 ? s : quote(text);
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> out;
    std::string cur;
    for (char ch : text) {
        if (ch == ',' || ch == ';' || ch == ' ' || ch == '\t') {
            if (!cur.empty()) {
                out.push_back(std::move(cur));
                cur.clear();
            }
        } else {
            cur += ch;
        }
    }
    if (!cur.empty()) {
        out.push_back(std::move(cur));
    }
    return out;
}

result<option_value> range_checked(const option_info &o, double d, std::string_view text) {
    if (!std::isfinite(d) || d < o.minimum || d > o.maximum) {
        return fail("", "expected " + expected_text(o) + ", got " + shown(text));
    }
    option_value v;
    v.number = d;
    return v;
}

// A list given as text: "" clears it (the default), but separators alone ("," or " ; ") are a
// mistake (an unset shell variable, a stray comma), not an empty list.
result<std::vector<std::string>> list_items(const option_info &o, std::string_view text) {
    std::vector<std::string> items = split_list(text);
    if (items.empty() && text.find_first_not_of(" \t") != std::string_view::npos) {
        return fail("", "expected " + expected_text(o) + ", got " + quote(text) +
                            " (no entries; an empty value clears the list)");
    }
    return items;
}

result<option_value> names_value(const option_info &o, std::vector<std::string> names,
                                 std::string_view text) {
    for (const std::string &n : names) {
        if (!is_node_name(n)) {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text) + " (" +
                                quote(n) + " is not a node name)");
        }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    option_value v;
    v.names = std::move(names);
    return v;
}

result<option_value> pairs_value(const option_info &o,
                                 std::vector<std::pair<std::string, std::string>> pairs,
                                 std::string_view text) {
    for (const auto &[from, to] : pairs) {
        if (!is_storage_id(from) || !is_storage_id(to)) {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text));
        }
    }
    std::sort(pairs.begin(), pairs.end());
    for (size_t i = 1; i < pairs.size(); ++i) {
        if (pairs[i].first == pairs[i - 1].first) {
            return fail("", "storage " + quote(pairs[i].first) + " is mapped twice");
        }
    }
    option_value v;
    v.pairs = std::move(pairs);
    return v;
}

} // namespace

result<option_value> value_from_text(const option_row &row, std::string_view text) {
    const option_info &o = row.info;
    const std::string s(text);
    switch (o.type) {
    case option_type::boolean: {
        std::string l = s;
        std::transform(l.begin(), l.end(), l.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        option_value v;
        if (l == "1" || l == "true" || l == "yes" || l == "on") {
            v.flag = true;
        } else if (l == "0" || l == "false" || l == "no" || l == "off") {
            v.flag = false;
        } else {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text));
        }
        return v;
    }
    case option_type::integer: {
        if (!std::regex_match(s, integer_re())) {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text));
        }
        return range_checked(o, std::strtod(s.c_str(), nullptr), text);
    }
    case option_type::number: {
        if (!std::regex_match(s, number_re())) {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text));
        }
        return range_checked(o, std::strtod(s.c_str(), nullptr), text);
    }
    case option_type::size: {
        auto bytes = parse_size(s);
        if (!bytes) {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text));
        }
        auto v = range_checked(o, static_cast<double>(*bytes), text);
        if (v) {
            v->text = s;
        }
        return v;
    }
    case option_type::choice: {
        for (std::string_view c : o.choices) {
            if (s == c) {
                option_value v;
                v.text = s;
                return v;
            }
        }
        for (const auto &[alias, canonical] : row.aliases) {
            if (s == alias) {
                option_value v;
                v.text = std::string(canonical);
                return v;
            }
        }
        return fail("", "expected " + expected_text(o) + ", got " + quote(text));
    }
    case option_type::node_list: {
        auto items = list_items(o, text);
        if (!items) {
            return std::unexpected(items.error());
        }
        return names_value(o, std::move(*items), text);
    }
    case option_type::storage_map: {
        auto items = list_items(o, text);
        if (!items) {
            return std::unexpected(items.error());
        }
        std::vector<std::pair<std::string, std::string>> pairs;
        for (const std::string &pair : *items) {
            auto colon = pair.find(':');
            if (colon == std::string::npos || pair.find(':', colon + 1) != std::string::npos) {
                return fail("", "expected " + expected_text(o) + ", got " + shown(text));
            }
            pairs.emplace_back(pair.substr(0, colon), pair.substr(colon + 1));
        }
        return pairs_value(o, std::move(pairs), text);
    }
    case option_type::text: {
        const bool printable =
            std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= 0x20 && c != 0x7f; });
        if (!printable || static_cast<double>(s.size()) > o.maximum) {
            return fail("", "expected " + expected_text(o) + ", got " + shown(text));
        }
        option_value v;
        v.text = s;
        return v;
    }
    }
    return fail("", "unsupported option type");
}

option_value value_from_json(const option_row &row, const Json::Value &v, const std::string &path) {
    const option_info &o = row.info;
    auto bad = [&]() -> void {
        reject(path, "expected " + expected_text(o) + ", got " + describe(v));
    };
    // A value written as a JSON string (a flag, a Perl scalar that was once a string) is read
    // like text; every other JSON type must match the option's.
    if (v.isString() && o.type != option_type::node_list) {
        auto r = value_from_text(row, v.asString());
        if (!r) {
            reject(path, r.error().message);
        }
        return *r;
    }
    switch (o.type) {
    case option_type::boolean: {
        option_value out;
        if (v.isBool()) {
            out.flag = v.asBool();
        } else if (v.isIntegral() && !v.isBool() &&
                   (v.asLargestInt() == 0 || v.asLargestInt() == 1)) {
            out.flag = v.asLargestInt() == 1;
        } else {
            bad();
        }
        return out;
    }
    case option_type::integer:
    case option_type::size:
        if (!v.isIntegral() || v.isBool()) {
            bad();
        }
        [[fallthrough]];
    case option_type::number: {
        if (!v.isNumeric() || v.isBool()) {
            bad();
        }
        auto r = range_checked(o, v.asDouble(), describe(v));
        if (!r) {
            bad();
        }
        return *r;
    }
    case option_type::choice:
    case option_type::text:
        bad();
        break;
    case option_type::node_list: {
        std::vector<std::string> names;
        if (v.isString()) {
            auto items = list_items(o, v.asString());
            if (!items) {
                reject(path, items.error().message);
            }
            names = std::move(*items);
        } else if (v.isArray()) {
            for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
                names.push_back(as_string(v[i], index_path(path, i)));
            }
        } else {
            bad();
        }
        auto r = names_value(o, std::move(names), describe(v));
        if (!r) {
            reject(path, r.error().message);
        }
        return *r;
    }
    case option_type::storage_map: {
        if (!v.isObject()) {
            bad();
        }
        std::vector<std::pair<std::string, std::string>> pairs;
        for (const std::string &k : v.getMemberNames()) {
            pairs.emplace_back(k, as_string(v[k], key_path(path, k)));
        }
        auto r = pairs_value(o, std::move(pairs), describe(v));
        if (!r) {
            reject(path, r.error().message);
        }
        return *r;
    }
    }
    bad();
    return {};
}

std::string canonical_text(const option_row &row, const option_value &v) {
    switch (row.info.type) {
    case option_type::boolean:
        return v.flag ? "1" : "0";
    case option_type::integer:
    case option_type::number:
        return format_number(v.number);
    case option_type::size:
        return v.text.empty() ? format_number(v.number) : v.text;
    case option_type::choice:
    case option_type::text:
        return v.text;
    case option_type::node_list: {
        std::string s;
        for (const std::string &n : v.names) {
            s += (s.empty() ? "" : ",") + n;
        }
        return s;
    }
    case option_type::storage_map: {
        std::string s;
        for (const auto &[from, to] : v.pairs) {
            s += (s.empty() ? "" : ",") + from + ":" + to;
        }
        return s;
    }
    }
    return {};
}
} // namespace detail

using namespace detail;

std::string expected_text(const option_info &o) {
    switch (o.type) {
    case option_type::boolean:
        return "a boolean (0, 1, true or false)";
    case option_type::integer:
    case option_type::number: {
        std::string what = !o.unit.empty()                  ? std::string(o.unit)
                           : o.type == option_type::integer ? "an integer"
                                                            : "a number";
        return what + " from " + format_number(o.minimum) + " to " + format_number(o.maximum);
    }
    case option_type::size:
        return std::string(o.unit.empty() ? "a size in bytes"
                                          : "a size in " + std::string(o.unit)) +
               " (integer, or with K/M/G/T suffix)";
    case option_type::choice: {
        std::string s;
        for (size_t i = 0; i < o.choices.size(); ++i) {
            s += i == 0 ? "" : i + 1 == o.choices.size() ? " or " : ", ";
            s += "\"" + std::string(o.choices[i]) + "\"";
        }
        return s;
    }
    case option_type::node_list:
        return "a list of node names";
    case option_type::storage_map:
        return "storage pairs \"source:target,...\"";
    case option_type::text:
        return (o.unit.empty() ? std::string("one line of text") : std::string(o.unit)) +
               " of at most " + format_number(o.maximum) + " characters";
    }
    return "a value";
}

result<std::string> normalize_option_value(const option_info &o, std::string_view text) {
    const option_row *row = find_row(o.key);
    if (row == nullptr) {
        return fail("", "unknown option");
    }
    auto v = value_from_text(*row, text);
    if (!v) {
        return std::unexpected(v.error());
    }
    return canonical_text(*row, *v);
}
} // namespace pvebal
