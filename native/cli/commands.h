// The pve-balancer command line: each command is one entry of a table, with its help text.
#ifndef PVEBAL_CLI_COMMANDS_H_
#define PVEBAL_CLI_COMMANDS_H_

#include "pvebal/io.h"
#include "pvebal/options.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace pvebal::cli {

// Exit codes.
inline constexpr int exit_ok = 0;
inline constexpr int exit_internal = 1; // a bug: please report
inline constexpr int exit_input = 2;    // bad input or usage: the message says what to fix

// Parsed command line: the common flags, engine options, and command-specific flags.
struct invocation {
    std::string command;
    std::string snapshot_path; // "-" for stdin
    output_format format = output_format::text;
    std::string config_path;
    std::vector<std::pair<std::string, std::string>> option_flags; // engine options, in order
    std::map<std::string, std::string> flags;                      // command-specific
};

struct command_flag {
    std::string name;  // without dashes
    std::string value; // placeholder, empty for a switch
    std::string help;
};

struct command {
    std::string name;
    std::string summary;
    std::string usage;
    std::string description;
    std::vector<command_flag> flags;
    std::string example;
    std::function<int(const invocation &)> run;
};

const std::vector<command> &commands();
const command *find_command(const std::string &name);

int usage_error(const std::string &message);

} // namespace pvebal::cli

#endif
