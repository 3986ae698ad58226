#include "io/json_access.h"

#include "pvebal/api.h"

#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <sstream>
#include <vector>

namespace pvebal::detail {

namespace {

// Finds the first number literal whose value is beyond a double (1e400, -1e400, 400 digits),
// with the path of its field. jsoncpp differs here by version: 1.9.5 (bookworm) rejects such a
// literal as a syntax error, 1.9.6 (trixie) reads it as infinity; both must give the same clear
// error, so the reader decides before jsoncpp parses. Tolerant: on anything it does not expect
// it stops and leaves the error to jsoncpp. Underflow (1e-400) reads as 0 in both versions.
class number_scan {
public:
    number_scan(std::string_view t, std::string object_root, std::string array_root)
        : t_(t), object_root_(std::move(object_root)), array_root_(std::move(array_root)) {}

    void run() {
        ws();
        stack_.resize(1);
        stack_[0].key = i_ < t_.size() && t_[i_] == '[' ? nullptr : "";
        value(0);
    }
    bool found = false;
    bool stopped = false;
    std::string path;
    std::string literal;

private:
    static constexpr size_t max_depth = 256; // deeper input fails in jsoncpp (stackLimit)

    bool done() const { return found || stopped; }
    void ws() {
        while (i_ < t_.size() &&
               (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) {
            ++i_;
        }
    }
    bool eat(char c) {
        ws();
        if (i_ < t_.size() && t_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    // A string's raw contents (escapes kept: only used to name a path).
    bool string(std::string_view &out) {
        if (i_ >= t_.size() || t_[i_] != '"') {
            return false;
        }
        const size_t start = ++i_;
        while (i_ < t_.size() && t_[i_] != '"') {
            i_ += t_[i_] == '\\' ? 2 : 1;
        }
        if (i_ >= t_.size()) {
            return false;
        }
        out = t_.substr(start, i_ - start);
        ++i_;
        return true;
    }
    void number(size_t depth) {
        const size_t start = i_;
        while (i_ < t_.size() &&
               (std::isdigit(static_cast<unsigned char>(t_[i_])) || t_[i_] == '-' ||
                t_[i_] == '+' || t_[i_] == '.' || t_[i_] == 'e' || t_[i_] == 'E')) {
            ++i_;
        }
        const std::string_view tok = t_.substr(start, i_ - start);
        double d = 0;
        auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), d);
        if (end != tok.data() + tok.size()) {
            return; // not a JSON number: jsoncpp reports it
        }
        if (ec == std::errc() && std::isfinite(d)) {
            return;
        }
        if (ec == std::errc::result_out_of_range && !overflows(tok)) {
            return;
        }
        found = true;
        path = path_of(depth);
        literal = std::string(tok.substr(0, 40)) + (tok.size() > 40 ? "..." : "");
    }
    // Out of range one way or the other: the decimal exponent of the first significant digit
    // tells which.
    static bool overflows(std::string_view tok) {
        long long e10 = 0;
        bool seen_point = false;
        bool significant = false;
        size_t k = tok.size() > 0 && tok[0] == '-' ? 1 : 0;
        for (; k < tok.size() && tok[k] != 'e' && tok[k] != 'E'; ++k) {
            if (tok[k] == '.') {
                seen_point = true;
            } else if (!significant && tok[k] == '0') {
                e10 -= seen_point ? 1 : 0;
            } else {
                significant = true;
                e10 += seen_point ? 0 : 1;
            }
        }
        if (k < tok.size()) {
            long long exp = 0;
            auto r = std::from_chars(tok.data() + k + 1 + (tok[k + 1] == '+' ? 1 : 0),
                                     tok.data() + tok.size(), exp);
            if (r.ec == std::errc::result_out_of_range) {
                exp = tok[k + 1] == '-' ? -(1LL << 40) : (1LL << 40);
            }
            e10 += exp;
        }
        return significant && e10 > 0;
    }
    // The path of the current value, built only when a bad number is found: one segment per
    // level (a key, or an array index when `key` is null).
    struct segment {
        const char *key = nullptr;
        size_t key_size = 0;
        Json::ArrayIndex index = 0;
    };
    std::string path_of(size_t depth) const {
        std::string p = stack_.empty() || stack_[0].key != nullptr ? object_root_ : array_root_;
        for (size_t k = 1; k <= depth && k < stack_.size(); ++k) {
            const segment &s = stack_[k];
            p = s.key != nullptr ? key_path(p, std::string(s.key, s.key_size))
                                 : index_path(p, s.index);
        }
        return p;
    }
    void value(size_t depth) {
        ws();
        if (i_ >= t_.size() || depth > max_depth) {
            stopped = true;
            return;
        }
        if (stack_.size() <= depth + 1) {
            stack_.resize(depth + 2);
        }
        const char c = t_[i_];
        if (c == '{') {
            ++i_;
            if (eat('}')) {
                return;
            }
            do {
                ws();
                std::string_view key;
                if (!string(key) || !eat(':')) {
                    stopped = true;
                    return;
                }
                stack_[depth + 1] = {key.data(), key.size(), 0};
                value(depth + 1);
                if (done()) {
                    return;
                }
            } while (eat(','));
            stopped = !eat('}');
        } else if (c == '[') {
            ++i_;
            if (eat(']')) {
                return;
            }
            Json::ArrayIndex n = 0;
            do {
                stack_[depth + 1] = {nullptr, 0, n++};
                value(depth + 1);
                if (done()) {
                    return;
                }
            } while (eat(','));
            stopped = !eat(']');
        } else if (c == '"') {
            std::string_view s;
            stopped = !string(s);
        } else if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
            number(depth);
        } else {
            // true, false, null, or not JSON
            while (i_ < t_.size() && std::isalpha(static_cast<unsigned char>(t_[i_]))) {
                ++i_;
            }
        }
    }

    std::vector<segment> stack_;
    std::string_view t_;
    size_t i_ = 0;
    std::string object_root_;
    std::string array_root_;
};

// Whether any number literal could be beyond a double: only one with an exponent or of 309
// digits or more can. A quick pass over the bytes (strings included, so it may say yes for
// nothing), to skip the structured scan in the usual case.
bool may_overflow(std::string_view t) {
    size_t run = 0; // digits in a row
    for (const char ch : t) {
        if (ch >= '0' && ch <= '9') {
            if (++run >= 309) {
                return true;
            }
        } else {
            if (run > 0 && (ch == 'e' || ch == 'E')) {
                return true;
            }
            run = 0;
        }
    }
    return false;
}

std::atomic<bool> keep_trees{false};

} // namespace

input_tree::~input_tree() {
    if (!keep_trees.load(std::memory_order_relaxed)) {
        return;
    }
    try {
        // Reachable from this static until exit, never freed (pvebal/api.h says why).
        static auto *const kept = new std::vector<std::unique_ptr<Json::Value>>();
        kept->push_back(std::make_unique<Json::Value>());
        kept->back()->swap(root);
    } catch (const std::bad_alloc &) {
        // Out of memory: the tree is freed as usual.
    }
}

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

Json::Value parse_json(std::string_view text, const std::string &what,
                       const std::string &object_root, const std::string &array_root) {
    Json::CharReaderBuilder b;
    Json::CharReaderBuilder::strictMode(&b.settings_);
    b["stackLimit"] = 200;
    std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    Json::Value root;
    std::string errs;
    if (text.empty()) {
        reject(what, "empty input, expected JSON");
    }
    number_scan scan(text, object_root, array_root);
    if (may_overflow(text)) {
        scan.run();
    }
    if (scan.found) {
        reject(scan.path,
               "expected a finite number (at most 1.8e308 in magnitude), got " + scan.literal);
    }
    if (std::optional<Json::Value> halves = parse_json_in_two(text, b)) {
        return std::move(*halves);
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

template <class Object>
std::optional<std::string> opt_string(const Object &obj, const char *key, const std::string &path) {
    const Json::Value *v = obj.find(key, key + std::char_traits<char>::length(key));
    if (v == nullptr || v->isNull()) {
        return std::nullopt;
    }
    if (v->isString()) {
        return v->asString(); // the path is built only for an error
    }
    return as_string(*v, key_path(path, key));
}

template <class Object>
std::string req_string(const Object &obj, const char *key, const std::string &path) {
    auto s = opt_string(obj, key, path);
    if (!s) {
        reject(key_path(path, key), "missing, expected a string");
    }
    return *s;
}

template <class Object>
std::optional<double> opt_number(const Object &obj, const char *key, const std::string &path,
                                 double lo, double hi, const char *expected) {
    const Json::Value *v = obj.find(key, key + std::char_traits<char>::length(key));
    if (v == nullptr || v->isNull()) {
        return std::nullopt;
    }
    if (v->isNumeric() && !v->isBool()) {
        const double d = v->asDouble();
        if (std::isfinite(d) && d >= lo && d <= hi) {
            return d;
        }
    }
    return as_number(*v, key_path(path, key), lo, hi, expected);
}

template <class Object>
std::optional<std::uint64_t> opt_uint(const Object &obj, const char *key, const std::string &path,
                                      std::uint64_t hi, const char *expected) {
    const Json::Value *v = obj.find(key, key + std::char_traits<char>::length(key));
    if (v == nullptr || v->isNull()) {
        return std::nullopt;
    }
    if (v->isNumeric() && !v->isBool() && v->isUInt64() && v->asUInt64() <= hi) {
        return v->asUInt64();
    }
    return as_uint(*v, key_path(path, key), hi, expected);
}

template <class Object>
std::optional<bool> opt_bool(const Object &obj, const char *key, const std::string &path) {
    const Json::Value *v = obj.find(key, key + std::char_traits<char>::length(key));
    if (v == nullptr || v->isNull()) {
        return std::nullopt;
    }
    if (v->isBool()) {
        return v->asBool();
    }
    return as_bool(*v, key_path(path, key));
}

object_fields::object_fields(const Json::Value &obj) : obj_(obj) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        if (count_ == capacity) {
            overflow_ = true;
            return;
        }
        const char *end = nullptr;
        const char *key = it.memberName(&end);
        members_[count_++] = {key, static_cast<std::size_t>(end - key), &*it};
    }
}

const Json::Value *object_fields::find(const char *begin, const char *end) const {
    if (overflow_) {
        return obj_.find(begin, end);
    }
    const auto size = static_cast<std::size_t>(end - begin);
    for (std::size_t k = 0; k < count_; ++k) {
        const member &m = members_[k];
        if (m.size == size && std::memcmp(m.key, begin, size) == 0) {
            return m.value;
        }
    }
    return nullptr;
}

#define PVEBAL_FIELD_READERS(Object)                                                               \
    template std::optional<std::string> opt_string(const Object &, const char *,                   \
                                                   const std::string &);                           \
    template std::string req_string(const Object &, const char *, const std::string &);            \
    template std::optional<double> opt_number(const Object &, const char *, const std::string &,   \
                                              double, double, const char *);                       \
    template std::optional<std::uint64_t> opt_uint(                                                \
        const Object &, const char *, const std::string &, std::uint64_t, const char *);           \
    template std::optional<bool> opt_bool(const Object &, const char *, const std::string &);
PVEBAL_FIELD_READERS(Json::Value)
PVEBAL_FIELD_READERS(object_fields)
#undef PVEBAL_FIELD_READERS

} // namespace pvebal::detail

namespace pvebal {

void keep_input_trees_until_exit() {
    detail::keep_trees.store(true, std::memory_order_relaxed);
}

} // namespace pvebal
