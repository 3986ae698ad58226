#include "io/json_access.h"

#include <cmath>
#include <memory>
#include <sstream>

namespace pvebal::detail {

std::string describe(const Json::Value &v) {
    switch (v.type()) {
    case Json::nullValue:
        return "null";
    case Json::booleanValue:
        return v.asBool() ? "true" : "false";
    case Json::stringValue: {
        std::string s = v.asString();
        if (s.size() > 40) {
            s = s.substr(0, 37) + "...";
        }
        Json::Value shortened(s);
        Json::StreamWriterBuilder b;
        b["indentation"] = "";
        b["emitUTF8"] = true;
        return Json::writeString(b, shortened);
    }
    case Json::arrayValue:
        return "an array";
    case Json::objectValue:
        return "an object";
    default: {
        Json::StreamWriterBuilder b;
        b["indentation"] = "";
        return Json::writeString(b, v);
    }
    }
}

Json::Value parse_json(std::string_view text, const std::string &what) {
    Json::CharReaderBuilder b;
    Json::CharReaderBuilder::strictMode(&b.settings_);
    b["stackLimit"] = 200;
    std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    Json::Value root;
    std::string errs;
    if (text.empty()) {
        reject(what, "empty input, expected JSON");
    }
    bool ok = false;
    try {
        ok = reader->parse(text.data(), text.data() + text.size(), &root, &errs);
    } catch (const Json::Exception &e) {
        // jsoncpp throws (instead of reporting) when nesting exceeds stackLimit.
        reject(what, std::string("invalid JSON (") + e.what() + ")");
    }
    if (!ok) {
        // jsoncpp formats "* Line N, Column M\n  message"; keep it on one line.
        std::string one;
        std::istringstream in(errs);
        std::string line;
        while (std::getline(in, line)) {
            size_t start = line.find_first_not_of(" *");
            if (start == std::string::npos) {
                continue;
            }
            if (!one.empty()) {
                one += ": ";
            }
            one += line.substr(start);
            if (one.size() > 160) {
                break;
            }
        }
        reject(what, "invalid JSON (" + one + ")");
    }
    return root;
}

double as_number(const Json::Value &v, const std::string &path, double lo, double hi,
                 const char *expected) {
    if (!v.isNumeric() || v.isBool()) {
        reject(path, std::string("expected ") + expected + ", got " + describe(v));
    }
    const double d = v.asDouble();
    if (!std::isfinite(d) || d < lo || d > hi) {
        reject(path, std::string("expected ") + expected + ", got " + describe(v));
    }
    return d;
}

std::uint64_t as_uint(const Json::Value &v, const std::string &path, std::uint64_t hi,
                      const char *expected) {
    if (!v.isNumeric() || v.isBool() || !v.isUInt64() || v.asUInt64() > hi) {
        reject(path, std::string("expected ") + expected + ", got " + describe(v));
    }
    return v.asUInt64();
}

bool as_bool(const Json::Value &v, const std::string &path) {
    if (v.isBool()) {
        return v.asBool();
    }
    if (v.isIntegral() && (v.asLargestInt() == 0 || v.asLargestInt() == 1)) {
        return v.asLargestInt() == 1;
    }
    if (v.isString() && (v.asString() == "0" || v.asString() == "1")) {
        return v.asString() == "1";
    }
    reject(path, "expected a boolean (0, 1, true or false), got " + describe(v));
}

std::string as_string(const Json::Value &v, const std::string &path) {
    if (!v.isString()) {
        reject(path, "expected a string, got " + describe(v));
    }
    return v.asString();
}

std::optional<std::string> opt_string(const Json::Value &obj, const char *key,
                                      const std::string &path) {
    const Json::Value *v = obj.find(key, key + std::char_traits<char>::length(key));
    if (v == nullptr || v->isNull()) {
        return std::nullopt;
    }
    return as_string(*v, key_path(path, key));
}

std::string req_string(const Json::Value &obj, const char *key, const std::string &path) {
    auto s = opt_string(obj, key, path);
    if (!s) {
        reject(key_path(path, key), "missing, expected a string");
    }
    return *s;
}

std::optional<double> opt_number(const Json::Value &obj, const char *key, const std::string &path,
                                 double lo, double hi, const char *expected) {
    const Json::Value *v = obj.find(key, key + std::char_traits<char>::length(key));
    if (v == nullptr || v->isNull()) {
        return std::nullopt;
    }
    return as_number(*v, key_path(path, key), lo, hi, expected);
}

std::optional<std::uint64_t> opt_uint(const Json::Value &obj, const char *key,
                                      const std::string &path, std::uint64_t hi,
                                      const char *expected) {
    const Json::Value *v = obj.find(key, key + std::char_traits<char>::length(key));
    if (v == nullptr || v->isNull()) {
        return std::nullopt;
    }
    return as_uint(*v, key_path(path, key), hi, expected);
}

std::optional<bool> opt_bool(const Json::Value &obj, const char *key, const std::string &path) {
    const Json::Value *v = obj.find(key, key + std::char_traits<char>::length(key));
    if (v == nullptr || v->isNull()) {
        return std::nullopt;
    }
    return as_bool(*v, key_path(path, key));
}

} // namespace pvebal::detail
