// Internal helpers for reading validated fields out of jsoncpp values with JSON paths.
#ifndef PVEBAL_IO_JSON_ACCESS_H_
#define PVEBAL_IO_JSON_ACCESS_H_

#include <json/json.h>

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pvebal::detail {

// Thrown inside the io module only; read_snapshot() turns it into an error value.
struct input_error : std::runtime_error {
    std::string path;
    input_error(std::string p, const std::string &msg)
        : std::runtime_error(msg), path(std::move(p)) {}
};

[[noreturn]] inline void reject(const std::string &path, const std::string &msg) {
    throw input_error(path, msg);
}

// "got ..." part of a message: the offending value, abbreviated.
std::string describe(const Json::Value &v);

// Parses `text` (strict JSON). Errors name `what`, or the field's path: fields of a root object
// are named under `object_root`, entries of a root array under `array_root`.
Json::Value parse_json(std::string_view text, const std::string &what,
                       const std::string &object_root, const std::string &array_root);

// The same parse on two threads for a large document whose biggest array can be cut in two
// (json_split.cpp). nullopt when not worth it or when any part fails: parse the text whole then,
// for jsoncpp's own error.
std::optional<Json::Value> parse_json_in_two(std::string_view text,
                                             const Json::CharReaderBuilder &b);

// A parsed input tree: freed when it goes out of scope, or moved into a holder that is never
// freed once keep_input_trees_until_exit() was called (pvebal/api.h says why).
struct input_tree {
    Json::Value root;
    explicit input_tree(Json::Value v) : root(std::move(v)) {}
    input_tree(const input_tree &) = delete;
    input_tree &operator=(const input_tree &) = delete;
    ~input_tree();
};

inline std::string key_path(const std::string &base, const std::string &key) {
    return base.empty() ? key : base + "." + key;
}
inline std::string index_path(const std::string &base, Json::ArrayIndex i) {
    return base + "[" + std::to_string(i) + "]";
}

// One object's members in a flat list, for readers that take many fields from each of
// thousands of objects: scanning a dozen keys in one array costs less than as many searches of
// jsoncpp's tree. An object with more members than the list holds is searched as usual.
class object_fields {
public:
    explicit object_fields(const Json::Value &obj); // obj must be an object
    const Json::Value *find(const char *begin, const char *end) const;

private:
    struct member {
        const char *key;
        std::size_t size;
        const Json::Value *value;
    };
    static constexpr std::size_t capacity = 32; // a PVE 9 guest entry has about 25
    const Json::Value &obj_;
    std::array<member, capacity> members_;
    std::size_t count_ = 0;
    bool overflow_ = false;
};

// Field readers: `obj` is an object (Json::Value) or its object_fields. Missing optional fields
// give nullopt; present ones must have the right type and range, or the reader rejects with the
// field's path.
template <class Object>
std::optional<std::string> opt_string(const Object &obj, const char *key, const std::string &path);
template <class Object>
std::string req_string(const Object &obj, const char *key, const std::string &path);
template <class Object>
std::optional<double> opt_number(const Object &obj, const char *key, const std::string &path,
                                 double lo, double hi, const char *expected);
template <class Object>
std::optional<std::uint64_t> opt_uint(const Object &obj, const char *key, const std::string &path,
                                      std::uint64_t hi, const char *expected);
template <class Object>
std::optional<bool> opt_bool(const Object &obj, const char *key, const std::string &path);

// The same for a bare value (arrays, option values).
double as_number(const Json::Value &v, const std::string &path, double lo, double hi,
                 const char *expected);
std::uint64_t as_uint(const Json::Value &v, const std::string &path, std::uint64_t hi,
                      const char *expected);
bool as_bool(const Json::Value &v, const std::string &path);
std::string as_string(const Json::Value &v, const std::string &path);

} // namespace pvebal::detail

#endif
