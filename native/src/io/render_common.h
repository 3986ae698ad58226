// Shared pieces of the JSON and text renderers.
#ifndef PVEBAL_IO_RENDER_COMMON_H_
#define PVEBAL_IO_RENDER_COMMON_H_

#include "pvebal/model.h"
#include "pvebal/report.h"
#include "pvebal/scoring.h"

#include <json/json.h>

#include <string>
#include <string_view>

namespace pvebal::detail {

// Doubles are rounded to 6 decimals before writing: float noise never reaches the output.
Json::Value num(double v);
Json::Value bytes(double v);
std::string to_json_text(const Json::Value &v);

Json::Value metrics_json(const metrics &m);
Json::Value node_json(const cluster &c, const metrics &m, const node_metrics &nm);
// A value of a dimension in its unit (cores as a number, bytes as an integer).
Json::Value dimension_value(const dimension_info &row, double v);
Json::Value warning_json(const cluster &c, const warning &w);
Json::Value rejection_json(const rejection &r);

// Text output only: a string from the input (a name, tag, lock, rule id, or a message that quotes
// one) with its control characters shown escaped (\n, \t, \r, \xNN, and the C1 controls as
// \uNNNN), so input can neither fake a line nor move the cursor or colour the terminal. JSON
// output needs none of this: the JSON writer escapes them.
std::string esc(std::string_view s);

std::string bar(double fraction, int width);
std::string pct(double fraction);
std::string human_bytes(double b);
std::string guest_label(const cluster &c, guest_id g);
std::string node_table(const cluster &c, const metrics &m);
std::string metrics_text(const metrics &m);
std::string warning_text(const cluster &c, const warning &w);

} // namespace pvebal::detail

#endif
