// libFuzzer harness: raw bytes -> the snapshot reader, and the options reader. Any input must
// give a snapshot or an error naming a field; never a crash, a sanitizer report or a hang.
// An accepted snapshot must read the same a second time (the reader keeps no state).
#include "pvebal/io.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    auto first = pvebal::read_snapshot(text);
    auto again = pvebal::read_snapshot(text);
    if (first.has_value() != again.has_value()) {
        std::abort();
    }
    if (!first && first.error().to_string() != again.error().to_string()) {
        std::abort();
    }
    if (first && first->c.guests.size() != again->c.guests.size()) {
        std::abort();
    }
    // The same bytes as an options file (balancer.cfg's JSON form, --options FILE).
    (void)pvebal::apply_options_json(pvebal::options{}, text, "config");
    return 0;
}
