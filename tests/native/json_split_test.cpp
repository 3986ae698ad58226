// The snapshot parse on two threads (io/json_split.cpp): the same tree as one jsoncpp parse, and
// jsoncpp's own error for a broken document wherever the break is.
#include "io/json_access.h"

#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <thread>

using namespace pvebal::detail;

namespace {

Json::CharReaderBuilder strict_builder() {
    Json::CharReaderBuilder b;
    Json::CharReaderBuilder::strictMode(&b.settings_);
    b["stackLimit"] = 200;
    return b;
}

Json::Value parse_whole(const std::string &text) {
    const Json::CharReaderBuilder b = strict_builder();
    std::unique_ptr<Json::CharReader> r(b.newCharReader());
    Json::Value v;
    std::string errs;
    BOOST_REQUIRE_MESSAGE(r->parse(text.data(), text.data() + text.size(), &v, &errs), errs);
    return v;
}

// One resource entry per line, with what a scan that knows only strings and brackets could
// trip over: brackets, commas and escaped quotes in strings, a string ending in a backslash,
// nested arrays and objects (every 16th entry: a parse of many values is what costs), numbers
// of every kind.
std::string entry(int i) {
    const std::string nested =
        i % 16 == 0
            ? R"(,"extra":[[1,2,{"k":["]",",","\u00e9"]}],[],{}],"ok":true,"none":null,"neg":-12.5E+2)"
            : R"(,"pad":"[[[{{{ ]]]}}} ,,, \" )" + std::string(400, 'p') + "\"";
    return R"({"vmid":)" + std::to_string(100 + i) + R"(,"name":"g[,]{\"x\":1},\\","cpu":)" +
           std::to_string(i % 7) + ".25e-1" + nested + R"(,"s":"\\"})";
}

std::string entries(int n, const std::string &sep = ",\n") {
    std::string s;
    for (int i = 0; i < n; ++i) {
        s += (i > 0 ? sep : "") + entry(i);
    }
    return s;
}

bool two_threads() {
    return std::thread::hardware_concurrency() >= 2;
}

// parse_json's error message for `text`, or "" when it parses.
std::string error_of(const std::string &text) {
    try {
        parse_json(text, "snapshot", "", "resources");
    } catch (const input_error &e) {
        return e.what();
    }
    return "";
}

} // namespace

BOOST_AUTO_TEST_SUITE(json_split)

BOOST_AUTO_TEST_CASE(same_tree_as_one_parse_in_every_form) {
    const Json::CharReaderBuilder b = strict_builder();
    const std::string list = entries(3000); // 1.4 MiB
    const std::string ha = R"({"resources":[{"sid":"vm:100","state":"started"}],"rules":[]})";
    for (const std::string &doc : {
             "[" + list + "]",
             "  \n[\n" + list + "\n]\n ",
             R"({"comment":"[{\"resources\":[]}]","resources":[)" + list + R"(],"ha":)" + ha + "}",
             R"({"data":[)" + list + R"(],"pve_version":"9.1"})",
             // The bigger of two arrays is cut; empty and one-element arrays beside it.
             R"({"x":[1,2,3],"resources":[)" + list + R"(],"y":[[4],[5]]})",
             R"({"cpu-models":[],"x":[ 1 ],"resources":[)" + list + R"(],"mappings":{}})",
         }) {
        BOOST_TEST_CONTEXT(doc.substr(0, 60)) {
            const std::optional<Json::Value> two = parse_json_in_two(doc, b);
            BOOST_TEST(two.has_value() == two_threads());
            if (two) {
                BOOST_TEST((*two == parse_whole(doc)));
            }
            BOOST_TEST((parse_json(doc, "snapshot", "", "resources") == parse_whole(doc)));
        }
    }
}

BOOST_AUTO_TEST_CASE(small_or_unsuitable_documents_are_parsed_whole) {
    const Json::CharReaderBuilder b = strict_builder();
    BOOST_TEST(!parse_json_in_two("[" + entries(20) + "]", b).has_value());
    // Big, but the array is a small part of it.
    const std::string padded =
        R"({"comment":")" + std::string(1200000, 'x') + R"(","resources":[)" + entries(20) + "]}";
    BOOST_TEST(!parse_json_in_two(padded, b).has_value());
    BOOST_TEST((parse_json(padded, "snapshot", "", "resources") == parse_whole(padded)));
    // One element: nothing to cut.
    const std::string one = R"([{"s":")" + std::string(1200000, 'y') + R"("}])";
    BOOST_TEST(!parse_json_in_two(one, b).has_value());
}

BOOST_AUTO_TEST_CASE(a_broken_document_gives_the_error_of_one_parse) {
    const Json::CharReaderBuilder b = strict_builder();
    const int n = 3000;
    // Line k + 2 holds entry k (line 1 is "{\"resources\":[").
    auto doc_with = [&](int broken_entry, const std::string &bad) {
        std::string s = "{\"resources\":[\n";
        for (int i = 0; i < n; ++i) {
            s += (i > 0 ? ",\n" : "") + (i == broken_entry ? bad : entry(i));
        }
        return s + "\n]}";
    };
    for (const int k : {10, n / 2, n - 3}) {
        BOOST_TEST_CONTEXT("entry " << k) {
            const std::string doc = doc_with(k, R"({"vmid":1,,"x":2})");
            BOOST_TEST(!parse_json_in_two(doc, b).has_value());
            const std::string err = error_of(doc);
            BOOST_TEST(err.rfind("invalid JSON (Line " + std::to_string(k + 2) + ",", 0) == 0, err);
        }
    }
    // An unterminated array, garbage after the root, a duplicate root key: jsoncpp's messages.
    const std::string list = entries(n);
    BOOST_TEST(error_of("[" + list).rfind("invalid JSON (", 0) == 0);
    BOOST_TEST(error_of("[" + list + "] x").rfind("invalid JSON (", 0) == 0);
    const std::string dup = R"({"resources":[)" + list + R"(],"resources":[]})";
    BOOST_TEST(!parse_json_in_two(dup, b).has_value());
    BOOST_TEST(error_of(dup).find("Duplicate key") != std::string::npos, error_of(dup));
    // Nesting one level beyond jsoncpp's limit in the second part: too deep there as well.
    for (const bool keyed : {true, false}) {
        auto wrap = [&](const std::string &items) {
            return keyed ? R"({"resources":[)" + items + "]}" : "[" + items + "]";
        };
        auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
        int depth = 1;
        while (error_of(wrap(nested(depth))).empty()) {
            ++depth;
        }
        BOOST_TEST_CONTEXT((keyed ? "keyed, " : "root array, ") << "depth " << depth) {
            const std::string deep = wrap(entries(n) + "," + nested(depth));
            BOOST_TEST(!parse_json_in_two(deep, b).has_value());
            BOOST_TEST(error_of(deep).rfind("invalid JSON (", 0) == 0, error_of(deep));
            const std::string fits = wrap(entries(n) + "," + nested(depth - 1));
            BOOST_TEST(parse_json_in_two(fits, b).has_value() == two_threads());
        }
    }
    // Elements that are not separated: the scan gives up, jsoncpp names the place.
    const std::string glued = "[" + entries(n, " ") + "]";
    BOOST_TEST(!parse_json_in_two(glued, b).has_value());
    BOOST_TEST(error_of(glued).rfind("invalid JSON (Line 1,", 0) == 0, error_of(glued));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(object_fields_lookup)

// The flat list finds what jsoncpp's search finds, also past its capacity (then it searches).
BOOST_AUTO_TEST_CASE(finds_what_jsoncpp_finds) {
    for (const int members : {0, 1, 13, 32, 33, 60}) {
        BOOST_TEST_CONTEXT(members << " members") {
            Json::Value obj(Json::objectValue);
            for (int k = 0; k < members; ++k) {
                obj["key" + std::to_string(k)] = k;
            }
            const std::string nul("k\0y", 3), prefix("k");
            obj[nul] = "embedded"; // jsoncpp allows a NUL in a key
            const object_fields f(obj);
            for (int k = 0; k < members + 2; ++k) {
                const std::string key = "key" + std::to_string(k);
                const Json::Value *a = f.find(key.data(), key.data() + key.size());
                const Json::Value *b = obj.find(key.data(), key.data() + key.size());
                BOOST_TEST(a == b);
            }
            BOOST_TEST(f.find(nul.data(), nul.data() + 3) == obj.find(nul.data(), nul.data() + 3));
            BOOST_TEST(f.find(prefix.data(), prefix.data() + 1) == nullptr);
            BOOST_TEST(
                (opt_uint(f, "key0", "e", 100, "n") == opt_uint(obj, "key0", "e", 100, "n")));
            BOOST_TEST(!opt_string(f, "absent", "e").has_value());
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
