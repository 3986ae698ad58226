// pve-balancer: offline CLI of the engine. Reads a cluster snapshot, prints metrics or plans.
#include "commands.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>

namespace pvebal::cli {
namespace {

void print_general_help() {
    std::cout << "pve-balancer " PVEBAL_VERSION
                 " - balance, evacuate and fail over Proxmox VE guests\n\n"
                 "Usage: pve-balancer COMMAND [--snapshot FILE|-] [--output-format text|json]\n"
                 "                            [--config FILE] [--OPTION VALUE ...]\n\n"
                 "Commands:\n";
    for (const command &c : commands()) {
        std::printf("  %-10s %s\n", c.name.c_str(), c.summary.c_str());
    }
    std::cout
        << "  options    list every option: key, type, range, default, description\n"
           "  help       show help for a command, or 'help options' for engine options\n"
           "  version    print the version\n\n"
           "The snapshot is what 'pvesh get /cluster/resources --output-format json' prints,\n"
           "or the extended object of docs/snapshot.md. Exit codes: 0 ok, 2 bad input or\n"
           "usage (the message names the field), 1 internal error.\n\n"
           "Run 'pve-balancer help COMMAND' for details.\n";
}

void print_options_help() {
    std::cout << render_option_schema(output_format::text);
}

// `pve-balancer options [--output-format text|json]`: the option schema, no snapshot needed.
int run_options(int argc, char **argv) {
    output_format f = output_format::text;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        if (arg.rfind("--output-format=", 0) == 0) {
            value = arg.substr(16);
        } else if (arg == "--output-format" && i + 1 < argc) {
            value = argv[++i];
        } else {
            return usage_error("options: unexpected argument '" + arg +
                               "' (usage: pve-balancer options [--output-format text|json])");
        }
        if (value == "json") {
            f = output_format::json;
        } else if (value != "text") {
            return usage_error("--output-format: expected text or json, got '" + value + "'");
        }
    }
    std::cout << render_option_schema(f);
    return exit_ok;
}

void print_command_help(const command &c) {
    std::cout << "Usage: " << c.usage << "\n\n" << c.description << "\n";
    if (!c.flags.empty()) {
        std::cout << "\nFlags:\n";
        for (const command_flag &f : c.flags) {
            std::string left = "--" + f.name + (f.value.empty() ? "" : " " + f.value);
            std::printf("  %-28s %s\n", left.c_str(), f.help.c_str());
        }
    }
    std::cout << "\nCommon flags:\n"
                 "  --snapshot FILE|-            cluster snapshot (JSON); - reads stdin\n"
                 "  --output-format text|json    output format (default text)\n"
                 "  --config FILE                JSON object of engine options\n"
                 "  --OPTION VALUE               any engine option ('pve-balancer help options')\n";
    if (!c.example.empty()) {
        std::cout << "\nExample:\n  " << c.example << "\n";
    }
}

int run(int argc, char **argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        print_general_help();
        return argc < 2 ? exit_input : exit_ok;
    }
    const std::string name = argv[1];
    if (name == "version" || name == "--version") {
        std::cout << "pve-balancer " PVEBAL_VERSION "\n";
        return exit_ok;
    }
    if (name == "options") {
        return run_options(argc, argv);
    }
    if (name == "help") {
        if (argc < 3) {
            print_general_help();
            return exit_ok;
        }
        if (!std::strcmp(argv[2], "options")) {
            print_options_help();
            return exit_ok;
        }
        const command *c = find_command(argv[2]);
        if (c == nullptr) {
            return usage_error(std::string("unknown command '") + argv[2] + "'");
        }
        print_command_help(*c);
        return exit_ok;
    }
    const command *cmd = find_command(name);
    if (cmd == nullptr) {
        return usage_error("unknown command '" + name + "' (see 'pve-balancer --help')");
    }
    invocation inv;
    inv.command = name;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            print_command_help(*cmd);
            return exit_ok;
        }
        if (arg.rfind("--", 0) != 0 || arg.size() < 3) {
            return usage_error("unexpected argument '" + arg + "'");
        }
        std::string key = arg.substr(2);
        std::string value;
        bool has_value = false;
        if (auto eq = key.find('='); eq != std::string::npos) {
            value = key.substr(eq + 1);
            key = key.substr(0, eq);
            has_value = true;
        }
        const command_flag *cf = nullptr;
        for (const command_flag &f : cmd->flags) {
            if (f.name == key) {
                cf = &f;
            }
        }
        const bool is_switch = cf != nullptr && cf->value.empty();
        if (!has_value && !is_switch) {
            if (i + 1 >= argc) {
                return usage_error("--" + key + " needs a value");
            }
            value = argv[++i];
        }
        if (key == "snapshot") {
            inv.snapshot_path = value;
        } else if (key == "output-format") {
            if (value == "json") {
                inv.format = output_format::json;
            } else if (value == "text") {
                inv.format = output_format::text;
            } else {
                return usage_error("--output-format: expected text or json, got '" + value + "'");
            }
        } else if (key == "config") {
            inv.config_path = value;
        } else if (cf != nullptr) {
            inv.flags[key] = is_switch && !has_value ? "1" : value;
        } else {
            const auto &keys = option_keys();
            if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
                return usage_error("unknown flag --" + key + " (see 'pve-balancer help " + name +
                                   "')");
            }
            inv.option_flags.emplace_back(key, value);
        }
    }
    if (inv.snapshot_path.empty()) {
        return usage_error("--snapshot FILE is required (use - for stdin)");
    }
    return cmd->run(inv);
}

} // namespace
} // namespace pvebal::cli

int main(int argc, char **argv) {
    try {
        return pvebal::cli::run(argc, argv);
    } catch (const std::bad_alloc &) {
        std::cerr << "pve-balancer: out of memory\n";
    } catch (const std::exception &e) {
        std::cerr << "pve-balancer: internal error: " << e.what() << "\n";
    } catch (...) {
        std::cerr << "pve-balancer: internal error\n";
    }
    return pvebal::cli::exit_internal;
}
