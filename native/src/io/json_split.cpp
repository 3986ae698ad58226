// Parsing a large snapshot on two threads. jsoncpp builds a tree and has no streaming interface;
// at 10,000 guests its parse is about half of what `plan` costs. The document's biggest array
// (the /cluster/resources entries) is cut at an element boundary; one thread parses the document
// without the array's second part, the other that part alone, and the second part's elements are
// appended to the first. The tree is the one a single parse gives. The cut is found by a scan
// that knows only strings and brackets: whatever it does not expect makes it give up, and a part
// that does not parse makes the caller parse the whole text, so every error is jsoncpp's own.
#include "io/json_access.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace pvebal::detail {

namespace {

// Below this size a second thread costs about what it saves (measured: 32 nodes / 3,000 guests,
// 0.7 MiB, the same median wall time either way; 64 / 10,000, 2.3 MiB, about 12% less).
constexpr std::size_t split_from_bytes = 1024 * 1024;

// Where the document is cut: the array is the root itself (key unset) or the value of a root
// object's key; `comma` separates the two parts' elements, `close` is the array's ']'.
struct cut {
    std::optional<std::string> key;
    std::size_t comma = 0;
    std::size_t close = 0;
};

class structure_scan {
public:
    explicit structure_scan(std::string_view t) : t_(t) {}

    std::optional<cut> find() {
        ws();
        if (at('[')) {
            std::optional<cut> c;
            return cut_array(std::nullopt, c) ? c : std::nullopt;
        }
        if (!at('{')) {
            return std::nullopt;
        }
        ++i_;
        std::optional<cut> best;
        std::size_t best_bytes = 0;
        ws();
        if (at('}')) {
            return std::nullopt;
        }
        for (;;) {
            ws();
            const std::size_t key_start = i_ + 1;
            if (!at('"') || !skip_string()) {
                return std::nullopt;
            }
            std::string key(t_.substr(key_start, i_ - 1 - key_start));
            ws();
            if (!at(':')) {
                return std::nullopt;
            }
            ++i_;
            ws();
            const std::size_t value_start = i_;
            if (at('[') && key.find('\\') == std::string::npos) {
                std::optional<cut> c;
                if (!cut_array(std::move(key), c)) {
                    return std::nullopt;
                }
                if (c && i_ - value_start > best_bytes) {
                    best_bytes = i_ - value_start;
                    best = std::move(c);
                }
            } else if (!skip_value()) {
                return std::nullopt;
            }
            ws();
            if (at(',')) {
                ++i_;
                continue;
            }
            if (!at('}')) {
                return std::nullopt;
            }
            break;
        }
        // Worth it only when the array is a good part of the document.
        return best_bytes >= t_.size() / 4 ? best : std::nullopt;
    }

private:
    bool at(char c) const { return i_ < t_.size() && t_[i_] == c; }
    void ws() {
        while (i_ < t_.size() &&
               (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) {
            ++i_;
        }
    }
    // At '"': past the closing quote.
    bool skip_string() {
        for (++i_; i_ < t_.size(); ++i_) {
            if (t_[i_] == '\\') {
                ++i_;
            } else if (t_[i_] == '"') {
                ++i_;
                return true;
            }
        }
        return false;
    }
    // Any value; containers by their bracket depth (jsoncpp checks that they match).
    bool skip_value() {
        if (at('"')) {
            return skip_string();
        }
        if (!at('[') && !at('{')) {
            while (i_ < t_.size() && t_[i_] != ',' && t_[i_] != '}' && t_[i_] != ']' &&
                   t_[i_] != ' ' && t_[i_] != '\t' && t_[i_] != '\n' && t_[i_] != '\r') {
                ++i_;
            }
            return true;
        }
        std::size_t depth = 0;
        while (i_ < t_.size()) {
            const char c = t_[i_];
            if (c == '"') {
                if (!skip_string()) {
                    return false;
                }
                continue;
            }
            if (c == '[' || c == '{') {
                ++depth;
            } else if (c == ']' || c == '}') {
                if (--depth == 0) {
                    ++i_;
                    return true;
                }
            }
            ++i_;
        }
        return false;
    }
    // At '[': walks the elements to past the ']' (false when the scan cannot follow them) and,
    // for two elements or more, sets `out` to the comma that leaves about half of the document
    // to each part.
    bool cut_array(std::optional<std::string> key, std::optional<cut> &out) {
        ++i_;
        std::vector<std::size_t> commas;
        ws();
        while (!at(']')) {
            if (!skip_value()) {
                return false;
            }
            ws();
            if (at(',')) {
                commas.push_back(i_++);
                ws();
            } else if (!at(']')) {
                return false;
            }
        }
        const std::size_t close = i_++;
        if (commas.empty()) {
            return true; // nothing to cut
        }
        // The first comma whose second part is at most 2/5 of the document: the other thread
        // starts on fresh memory, and resource entries cost more per byte than the rest.
        auto it = std::find_if(commas.begin(), commas.end(),
                               [&](std::size_t c) { return close - c <= t_.size() * 2 / 5; });
        if (it == commas.end()) {
            it = std::prev(commas.end());
        }
        out = cut{std::move(key), *it, close};
        return true;
    }

    std::string_view t_;
    std::size_t i_ = 0;
};

// One jsoncpp parse; false on any error (the caller parses the whole text again for it).
bool parse_part(const Json::CharReaderBuilder &b, const std::string &text, Json::Value &out) {
    try {
        std::unique_ptr<Json::CharReader> reader(b.newCharReader());
        std::string errs;
        return reader->parse(text.data(), text.data() + text.size(), &out, &errs);
    } catch (const std::exception &) {
        return false; // nesting beyond stackLimit, or out of memory
    }
}

} // namespace

std::optional<Json::Value> parse_json_in_two(std::string_view text,
                                             const Json::CharReaderBuilder &b) {
    if (text.size() < split_from_bytes || std::thread::hardware_concurrency() < 2) {
        return std::nullopt;
    }
    const std::optional<cut> c = structure_scan(text).find();
    if (!c) {
        return std::nullopt;
    }
    // The document without the second part's elements, and those elements as an array.
    std::string first;
    first.reserve(text.size() - (c->close - c->comma));
    first.append(text.substr(0, c->comma));
    first.append(text.substr(c->close));
    std::string second;
    second.reserve(c->close - c->comma + 1);
    second.push_back('[');
    second.append(text.substr(c->comma + 1, c->close - c->comma));

    // The second part's elements sit one level higher in it than in the document when the
    // array is a key's value: one level less of nesting is allowed, so too deep stays too deep.
    Json::CharReaderBuilder second_builder;
    second_builder.settings_ = b.settings_;
    if (c->key) {
        second_builder["stackLimit"] = b.settings_["stackLimit"].asInt() - 1;
    }
    Json::Value root, tail;
    bool tail_ok = false;
    try {
        std::jthread other([&] { tail_ok = parse_part(second_builder, second, tail); });
        if (!parse_part(b, first, root)) {
            return std::nullopt; // `other` joins first
        }
    } catch (const std::system_error &) {
        return std::nullopt; // no thread to be had
    }
    if (!tail_ok || !tail.isArray()) {
        return std::nullopt;
    }
    if (c->key && !(root.isObject() && root.isMember(*c->key))) {
        return std::nullopt;
    }
    Json::Value *array = c->key ? &root[*c->key] : &root;
    if (!array->isArray()) {
        return std::nullopt;
    }
    for (Json::Value &e : tail) {
        array->append(std::move(e));
    }
    return root;
}

} // namespace pvebal::detail
