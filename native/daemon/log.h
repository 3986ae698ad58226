// File: daemon/log.h
//
// Logging through libqb (qb_log): syslog (the journal on a Proxmox node), and stderr when the
// daemon runs in the foreground and stderr is not already the journal.
#ifndef PVEBAL_DAEMON_LOG_H_
#define PVEBAL_DAEMON_LOG_H_

#include "types.h"

#include <string>

namespace pvebal::balancerd {

struct log_options {
    bool to_stderr = false;
    bool to_syslog = true;
    bool debug = false;
};

// qb_log_init and the targets; call once, early.
void log_setup(const char *ident, const log_options &o);
void log_shutdown();

void log_message(log_level level, const std::string &message);

// Whether stderr is connected to the journal (systemd sets JOURNAL_STREAM to its dev:inode).
bool stderr_is_journal();

} // namespace pvebal::balancerd

#endif
