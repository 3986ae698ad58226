// Internal to io: the option table's rows (schema plus, for engine options, where a checked
// value goes in `options`; option_schema.cpp) and the readers that turn text or JSON into
// checked values (option_values.cpp).
#ifndef PVEBAL_IO_OPTION_VALUES_H_
#define PVEBAL_IO_OPTION_VALUES_H_

#include "io/json_access.h"
#include "pvebal/io.h"
#include "pvebal/option_schema.h"
#include "pvebal/options.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvebal::detail {

// A checked value of any option type.
struct option_value {
    bool flag = false;
    double number = 0;              // integer, number, size (bytes)
    std::string text;               // choice (canonical), size, text (as written)
    std::vector<std::string> names; // node_list, sorted, unique
    std::vector<std::pair<std::string, std::string>> pairs; // storage_map, sorted
};

struct option_row {
    option_info info;
    std::vector<std::pair<std::string_view, std::string_view>>
        aliases;                                    // choice: alias -> canonical
    void (*apply)(options &, const option_value &); // engine options; nullptr for integration
};

const std::vector<option_row> &option_rows(); // sorted by key
const option_row *find_row(std::string_view key);

// Strict: the whole text must be a value of the row's type and range. The error has no path.
result<option_value> value_from_text(const option_row &row, std::string_view text);
// Typed JSON (strings are read as text); rejects with `path`.
option_value value_from_json(const option_row &row, const Json::Value &v, const std::string &path);
std::string canonical_text(const option_row &row, const option_value &v);

// For messages: a number as "%.15g" prints it; a text quoted as JSON, cut at 40 characters.
std::string format_number(double d);
std::string quote(std::string_view text);

// Applies a JSON object of options on top of `o` (engine keys set their field, integration keys
// are checked and otherwise ignored, unknown keys are rejected).
void apply_options_object(options &o, const Json::Value &obj, const std::string &path);

} // namespace pvebal::detail

#endif
